#!/usr/bin/python3
"""Reference cases for @attnkit/transformer's CLIP text encoder: the expected outputs are transformers 5.18's own
CLIPTextModel / CLIPTextModelWithProjection, loaded from each folder this script writes (float64), cross-checked
against a plain-torch reading of the same forward (below) on every real token.

Re-implements Hugging Face transformers' CLIPTextModel / CLIPTextModelWithProjection forward in plain torch, in
float64, from weights exactly representable in the stored dtype, and writes each case as a Hugging Face checkpoint
folder under packages/transformer/test/fixtures/clip-<case>/ (config.json + model.safetensors) with the inputs and
outputs as little-endian .f32/.i32 arrays described by meta.json (the schema of scripts/reference/README.md):

  input_ids [B, L] i32, attention_mask [B, L] i32 (when used), last_hidden_state [B, L, E], pooler_output [B, E],
  text_embeds [B, P] (with projection), pooled_index [B] i32 (the position the pooler read).

The forward follows transformers' modeling_clip.py (CLIPTextTransformer): token + position embeddings, pre-LN
layers with causal self-attention (q scaled by head_dim ** -0.5) plus the expanded attention mask, quick_gelu or
gelu MLP, final_layer_norm; pooler = last hidden state at argmax(input_ids) when eos_token_id == 2 (legacy
configs), else at the first position equal to eos_token_id.

Run: /work/venv-ref/bin/python packages/transformer/scripts/clip_gen_refs.py (torch 2.13 + transformers 5.18)
"""
import json, math, os, shutil, sys
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
from transformer_gen_refs import representable, rnd, save_arr, save_checkpoint  # noqa: E402


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b

torch.set_default_dtype(torch.float64)
OUT = os.path.join(ROOT, "packages", "transformer", "test", "fixtures")
F32_MIN = torch.finfo(torch.float32).min


def quick_gelu(x): return x * torch.sigmoid(1.702 * x)


def clip_weights(cfg, with_projection):
    E, I, L, V, P = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"], cfg["max_position_embeddings"]
    W = {"embeddings.token_embedding.weight": rnd(V, E, scale=0.5), "embeddings.position_embedding.weight": rnd(P, E, scale=0.1)}
    for i in range(L):
        p = f"encoder.layers.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            W[p + f"self_attn.{n}.weight"] = rnd(E, E); W[p + f"self_attn.{n}.bias"] = rnd(E, scale=0.05)
        W[p + "layer_norm1.weight"] = 1 + rnd(E, scale=0.1); W[p + "layer_norm1.bias"] = rnd(E, scale=0.1)
        W[p + "mlp.fc1.weight"] = rnd(I, E); W[p + "mlp.fc1.bias"] = rnd(I, scale=0.05)
        W[p + "mlp.fc2.weight"] = rnd(E, I); W[p + "mlp.fc2.bias"] = rnd(E, scale=0.05)
        W[p + "layer_norm2.weight"] = 1 + rnd(E, scale=0.1); W[p + "layer_norm2.bias"] = rnd(E, scale=0.1)
    W["final_layer_norm.weight"] = 1 + rnd(E, scale=0.1); W["final_layer_norm.bias"] = rnd(E, scale=0.1)
    W = {"text_model." + k: v for k, v in W.items()}
    if with_projection: W["text_projection.weight"] = rnd(cfg["projection_dim"], E)
    return W


def clip_forward(W, cfg, ids, am):
    """transformers' CLIPTextTransformer.forward (eager attention), float64."""
    E, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps, D = cfg["layer_norm_eps"], E // H
    act = quick_gelu if cfg["hidden_act"] == "quick_gelu" else F.gelu
    B, T = ids.shape
    t = lambda n: W["text_model." + n]
    lin = lambda x, n: x @ t(n + ".weight").T + t(n + ".bias")
    h = t("embeddings.token_embedding.weight")[ids] + t("embeddings.position_embedding.weight")[torch.arange(T)][None]
    causal = torch.triu(torch.full((T, T), F32_MIN), diagonal=1)[None, None]  # _create_4d_causal_attention_mask
    pad = 0.0 if am is None else (1.0 - am[:, None, None, :].to(torch.float64)) * F32_MIN  # _prepare_4d_attention_mask
    for i in range(L):
        p = f"encoder.layers.{i}."
        a = layer_norm(h, t(p + "layer_norm1.weight"), t(p + "layer_norm1.bias"), eps)
        sh = lambda x: x.view(B, T, H, D).transpose(1, 2)
        q = sh(lin(a, p + "self_attn.q_proj") * D ** -0.5)
        k, v = sh(lin(a, p + "self_attn.k_proj")), sh(lin(a, p + "self_attn.v_proj"))
        s = q @ k.transpose(-1, -2) + causal + pad
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, E)
        h = h + lin(o, p + "self_attn.out_proj")
        m = layer_norm(h, t(p + "layer_norm2.weight"), t(p + "layer_norm2.bias"), eps)
        h = h + lin(act(lin(m, p + "mlp.fc1")), p + "mlp.fc2")
    last = layer_norm(h, t("final_layer_norm.weight"), t("final_layer_norm.bias"), eps)
    eos = cfg["eos_token_id"]
    if eos == 2: idx = ids.to(torch.int).argmax(dim=-1)
    else: idx = (ids.to(torch.int) == eos).int().argmax(dim=-1)
    pooled = last[torch.arange(B), idx]
    return last, pooled, idx


def clip_case(name, cfg, ids, am=None, seed=0, arch="CLIPTextModel", dtype="F32", full_clip=False, prefixed=True):
    torch.manual_seed(seed)
    proj = arch == "CLIPTextModelWithProjection" or full_clip
    W = representable(clip_weights(cfg, proj), dtype)
    last, pooled, idx = clip_forward(W, cfg, ids, am)
    d = os.path.join(OUT, name); os.makedirs(d, exist_ok=True)
    text_cfg = dict(cfg, model_type="clip_text_model", attention_dropout=0.0, initializer_factor=1.0,
                    initializer_range=0.02, pad_token_id=1, bos_token_id=cfg["vocab_size"] - 2)
    stored = dict(W)
    if full_clip:
        # a whole CLIPModel checkpoint: the text tower, a (tiny, unused) vision tower and both projections
        vision_cfg = dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                          image_size=8, patch_size=4, num_channels=3, model_type="clip_vision_model")
        config = {"model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": cfg["projection_dim"],
                  "logit_scale_init_value": 2.6592, "text_config": dict(text_cfg, projection_dim=999),
                  "vision_config": vision_cfg}
        stored.update({"vision_model.embeddings.class_embedding": rnd(8), "vision_model.embeddings.patch_embedding.weight": rnd(8, 3, 4, 4),
                       "vision_model.post_layernorm.weight": rnd(8), "visual_projection.weight": rnd(cfg["projection_dim"], 8),
                       "logit_scale": torch.tensor(2.6592)})
    else:
        config = dict(text_cfg, architectures=[arch])
    if not prefixed: stored = {k[len("text_model."):] if k.startswith("text_model.") else k: v for k, v in stored.items()}
    json.dump(config, open(os.path.join(d, "config.json"), "w"), indent=2)
    save_checkpoint(d, stored, dtype)
    last, pooled, embeds = hf_outputs(d, "CLIPTextModelWithProjection" if proj else "CLIPTextModel", ids, am,
                                      (last, pooled, pooled @ W["text_projection.weight"].T if proj else None))
    meta = {"model": "clip", "architecture": "CLIPTextModelWithProjection" if full_clip else arch, "dtype": dtype,
            "input_ids": save_arr(d, "input_ids", ids, "i32"),
            "last_hidden_state": save_arr(d, "last_hidden_state", last, "f32"),
            "pooler_output": save_arr(d, "pooler_output", pooled, "f32"),
            "pooled_index": save_arr(d, "pooled_index", idx, "i32")}
    if am is not None: meta["attention_mask"] = save_arr(d, "attention_mask", am, "i32")
    # with left padding, a padding position sees no real token: transformers then averages masked scores
    # (attnkit gives zeros); only real tokens are meaningful there
    meta["compare_real_tokens_only"] = bool(am is not None and (am[:, 0] == 0).any())
    if proj: meta["text_embeds"] = save_arr(d, "text_embeds", embeds, "f32")
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=2)


def hf_outputs(d, cls_name, ids, am, mine):
    """The expected values: transformers 5.18's own class loaded from the folder just written (float64), after
    checking that the plain-torch forward above agrees with it on every real token (a second, independent
    reading of modeling_clip.py)."""
    import transformers
    config = json.load(open(os.path.join(d, "config.json")))
    kwargs = {}
    if config.get("model_type") == "clip":
        # a whole CLIPModel checkpoint: CLIPModel projects the text tower with its top-level projection_dim
        kwargs["config"] = transformers.CLIPTextConfig(**dict(config["text_config"], projection_dim=config["projection_dim"]))
    model = getattr(transformers, cls_name).from_pretrained(d, dtype=torch.float64, **kwargs).eval()
    with torch.no_grad():
        out = model(input_ids=ids.long(), attention_mask=None if am is None else am.long())
    last = out.last_hidden_state
    pooled = out.text_embeds if cls_name.endswith("Projection") else out.pooler_output
    if cls_name.endswith("Projection"):
        # CLIPTextModelWithProjection returns the projection, not the pooled state: pool like the text model does
        pooled_state = model.text_model(input_ids=ids.long(), attention_mask=None if am is None else am.long()).pooler_output
    else:
        pooled_state = pooled
    real = torch.ones(ids.shape, dtype=torch.bool) if am is None else am.bool()
    assert torch.allclose(last[real], mine[0][real], atol=1e-9, rtol=1e-9), f"{d}: last_hidden_state differs from transformers"
    assert torch.allclose(pooled_state, mine[1], atol=1e-9, rtol=1e-9), f"{d}: pooler_output differs from transformers"
    embeds = None
    if mine[2] is not None:
        embeds = out.text_embeds
        assert torch.allclose(embeds, mine[2], atol=1e-9, rtol=1e-9), f"{d}: text_embeds differ from transformers"
    return last, pooled_state, embeds


def sd_style_ids(texts_lengths, seq, bos, eos, vocab, gen):
    """<|startoftext|> tokens <|endoftext|>, then padded with <|endoftext|> to seq, as Stable Diffusion 1.x does."""
    rows = []
    for n in texts_lengths:
        row = [bos] + torch.randint(0, vocab - 2, (n,), generator=gen).tolist() + [eos]
        rows.append(row + [eos] * (seq - len(row)))
    return torch.tensor(rows)


if __name__ == "__main__":
    for n in os.listdir(OUT):
        if n.startswith("clip-") and n != "clip-tokenizer": shutil.rmtree(os.path.join(OUT, n))  # clip_tokenizer_refs.py
    g = torch.Generator().manual_seed(1234)
    C = dict(vocab_size=64, hidden_size=32, intermediate_size=64, projection_dim=16, num_hidden_layers=2,
             num_attention_heads=4, max_position_embeddings=16, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    # Stable Diffusion 1.x's text encoder: legacy eos_token_id 2 (pooler at the largest id), ids padded with
    # <|endoftext|> and no attention mask
    clip_case("clip-text-sd", dict(C, eos_token_id=2), sd_style_ids([3, 7, 10], 12, 62, 63, 64, g), seed=51)
    # eos_token_id named (first position holding it), right padding with pad id 0 and an attention mask, a row
    # with <|endoftext|> twice (the first is pooled) and a row without it (position 0 is pooled), gelu, projection
    ids = torch.tensor([[62, 5, 9, 63, 0, 0, 0, 0, 0, 0],
                        [62, 17, 40, 33, 8, 21, 63, 11, 63, 0],
                        [62, 3, 4, 5, 6, 7, 8, 9, 10, 11]])
    am = torch.tensor([[1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0], [1] * 10])
    clip_case("clip-text-projection-padded", dict(C, eos_token_id=63, hidden_act="gelu", num_hidden_layers=3),
              ids, am=am, seed=52, arch="CLIPTextModelWithProjection")
    # a whole CLIPModel checkpoint (model_type 'clip', text_config inside, vision tower to skip), float16 storage,
    # the top-level projection_dim wins over text_config's
    clip_case("clip-full-f16", dict(C, eos_token_id=63, hidden_size=24, num_attention_heads=2, projection_dim=12),
              sd_style_ids([2, 5], 9, 62, 63, 64, g), seed=53, dtype="F16", full_clip=True)
    # left padding: the attention mask hides padding keys from real queries (causal alone would not)
    ids = torch.tensor([[0, 0, 0, 62, 7, 19, 23, 63], [62, 30, 31, 32, 33, 34, 35, 63]])
    am = (torch.arange(8)[None] >= torch.tensor([[3], [0]])).long()
    clip_case("clip-text-leftpad", dict(C, eos_token_id=63), ids, am=am, seed=55)
    # names without the text_model. prefix (a bare CLIPTextTransformer state dict)
    clip_case("clip-text-noprefix", dict(C, eos_token_id=63, num_hidden_layers=1),
              sd_style_ids([4], 7, 62, 63, 64, g), seed=54, prefixed=False)
    print("written to", os.path.abspath(OUT))
