#!/usr/bin/python3
"""Reference cases for @attnkit/transformer, computed with Hugging Face transformers (5.18).

Grown from the sample generator ../shared/reference/gen_refs.py. Each case is a folder under
packages/transformer/test/fixtures/<case>/ holding a Hugging Face layout checkpoint (config.json +
model.safetensors, or shards + model.safetensors.index.json) and the model's inputs and outputs as
little-endian .f32/.i32 arrays described by meta.json (same schema as scripts/reference/README.md).

The checkpoints hold seeded weights exactly representable in the stored dtype (F32, F16 or BF16),
written in the layouts found on the Hub (with and without the class prefix, tied or untied heads,
shards); the tiny base cases (gpt2-tiny, llama-tiny, bert-tiny, vit-tiny) are then rewritten by
transformers' own save_pretrained. The expected outputs are those of the real transformers classes
(GPT2LMHeadModel, LlamaForCausalLM, BertModel/BertForMaskedLM, ViTForImageClassification), loaded
from the folder with from_pretrained (strict: nothing missing or unexpected) in float64 with SDPA
attention, so a float32 implementation differs from the reference only by its own rounding. The 2017
blocks are checked against torch's own nn.TransformerEncoderLayer / nn.TransformerDecoderLayer.

Run: /work/venv-ref/bin/python scripts/reference/transformer_gen_refs.py
(any Python with torch 2.x, transformers 5.x, safetensors: see packages/transformer/scripts/hf_refs.py.)
"""
import json, math, os, shutil, struct, sys
import torch
import torch.nn.functional as F
import transformers

torch.set_default_dtype(torch.float64)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "packages", "transformer", "test", "fixtures")

ST_DTYPE = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def st_bytes(tensors, dtype="F32", meta=None):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(ST_DTYPE[dtype]).contiguous()
        b = t.view(torch.int16).numpy().tobytes() if dtype == "BF16" else t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    if meta: header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def save_checkpoint(d, W, dtype="F32", shards=1):
    """model.safetensors, or `shards` files + model.safetensors.index.json (as HF's save_pretrained)."""
    if shards <= 1:
        with open(os.path.join(d, "model.safetensors"), "wb") as f: f.write(st_bytes(W, dtype, {"format": "pt"}))
        return
    names = list(W.keys()); per = math.ceil(len(names) / shards); weight_map = {}; total = 0
    for s in range(shards):
        part = {n: W[n] for n in names[s * per:(s + 1) * per]}
        fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        with open(os.path.join(d, fn), "wb") as f: f.write(st_bytes(part, dtype, {"format": "pt"}))
        for n, t in part.items():
            weight_map[n] = fn; total += t.numel() * (4 if dtype == "F32" else 2)
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
              open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2)


def save_arr(d, name, t, dtype):
    t = t.detach()
    if dtype == "f32": t.to(torch.float32).contiguous().numpy().tofile(os.path.join(d, name + ".f32"))
    else: t.to(torch.int32).contiguous().numpy().tofile(os.path.join(d, name + ".i32"))
    return {"file": name + "." + dtype, "shape": list(t.shape)}


def rnd(*s, scale=0.2): return torch.randn(*s) * scale


def representable(W, dtype):
    """Round every weight to the stored dtype, then compute in float64 (what the file holds)."""
    return {k: v.to(ST_DTYPE[dtype]).to(torch.float64) for k, v in W.items()}


def hf_model(d, arch):
    """The transformers class `arch` loaded from folder d in float64 (strict), torch SDPA (eager attention gives NaN rows for left padding in float64)."""
    m, info = getattr(transformers, arch).from_pretrained(d, dtype=torch.float64, attn_implementation="sdpa",
                                                           output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k != "error_msgs"}
    assert not bad, f"{d}: from_pretrained reported {bad}"
    return m.eval()


def resave(d, arch):
    """Rewrites folder d as transformers' save_pretrained writes it (float32, its names and config keys)."""
    m = getattr(transformers, arch).from_pretrained(d, dtype=torch.float32)
    for f in os.listdir(d):
        if f.endswith(".safetensors") or f in ("config.json", "generation_config.json", "model.safetensors.index.json"):
            os.remove(os.path.join(d, f))
    m.save_pretrained(d)


def case_dir(name):
    d = os.path.join(OUT, name)
    if os.path.isdir(d): shutil.rmtree(d)  # this script owns the folders it writes, and only those
    os.makedirs(d); return d


def left_padding(batch, seq, pads):
    """attention_mask with `pads[b]` leading zeros per row, and HF generate's position_ids (cumsum - 1, pads at 1)."""
    am = torch.ones(batch, seq, dtype=torch.long)
    for b, p in enumerate(pads): am[b, :p] = 0
    pos = am.cumsum(-1) - 1
    pos = pos.masked_fill(am == 0, 1)
    return am, pos


# ---------------- GPT-2 ----------------
def gpt2_case(name, cfg, batch, seq, prefix="", seed=0, dtype="F32", pads=None, tied=True, shards=1):
    torch.manual_seed(seed)
    E, H, L, V, P = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    eps = cfg["layer_norm_epsilon"]; inner = cfg.get("n_inner") or 4 * E
    W = {"wte.weight": rnd(V, E), "wpe.weight": rnd(P, E, scale=0.05)}
    for i in range(L):
        p = f"h.{i}."
        W[p + "ln_1.weight"] = 1 + rnd(E, scale=0.1); W[p + "ln_1.bias"] = rnd(E, scale=0.1)
        W[p + "attn.c_attn.weight"] = rnd(E, 3 * E); W[p + "attn.c_attn.bias"] = rnd(3 * E, scale=0.05)
        W[p + "attn.c_proj.weight"] = rnd(E, E); W[p + "attn.c_proj.bias"] = rnd(E, scale=0.05)
        W[p + "ln_2.weight"] = 1 + rnd(E, scale=0.1); W[p + "ln_2.bias"] = rnd(E, scale=0.1)
        W[p + "mlp.c_fc.weight"] = rnd(E, inner); W[p + "mlp.c_fc.bias"] = rnd(inner, scale=0.05)
        W[p + "mlp.c_proj.weight"] = rnd(inner, E); W[p + "mlp.c_proj.bias"] = rnd(E, scale=0.05)
    W["ln_f.weight"] = 1 + rnd(E, scale=0.1); W["ln_f.bias"] = rnd(E, scale=0.1)
    head = None if tied else rnd(V, E)
    W = representable(W, dtype)
    if head is not None: head = head.to(ST_DTYPE[dtype]).to(torch.float64)
    ids = torch.randint(0, V, (batch, seq))
    am, pos = left_padding(batch, seq, pads or [0] * batch)
    d = case_dir(name)
    full = dict(cfg, model_type="gpt2", architectures=["GPT2LMHeadModel"], activation_function="gelu_new",
                n_ctx=P, tie_word_embeddings=tied)
    json.dump(full, open(os.path.join(d, "config.json"), "w"), indent=2)
    stored = {prefix + k: v for k, v in W.items()}
    if not tied: stored["lm_head.weight"] = head
    save_checkpoint(d, stored, dtype, shards)
    with torch.no_grad():
        kw = dict(attention_mask=am, position_ids=pos) if pads else {}
        out = hf_model(d, "GPT2LMHeadModel")(input_ids=ids, output_hidden_states=True, **kw)
    logits, h = out.logits, out.hidden_states[-1]
    meta = {"model": "gpt2", "dtype": dtype, "prefix": prefix, "tied": tied,
            "input_ids": save_arr(d, "input_ids", ids, "i32"), "logits": save_arr(d, "logits", logits, "f32"),
            "last_hidden_state": save_arr(d, "last_hidden_state", h, "f32")}
    if pads:
        meta["attention_mask"] = save_arr(d, "attention_mask", am, "i32")
        meta["position_ids"] = save_arr(d, "position_ids", pos, "i32")
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=2)


# ---------------- BERT ----------------
def bert_case(name, cfg, batch, seq, prefix="", seed=0, dtype="F32", mlm=False, pads_right=5, act="gelu"):
    torch.manual_seed(seed)
    E, H, L, V = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"], cfg["vocab_size"]
    I, P, T, eps = cfg["intermediate_size"], cfg["max_position_embeddings"], cfg["type_vocab_size"], cfg["layer_norm_eps"]
    W = {"embeddings.word_embeddings.weight": rnd(V, E), "embeddings.position_embeddings.weight": rnd(P, E, scale=0.05),
         "embeddings.token_type_embeddings.weight": rnd(T, E, scale=0.05),
         "embeddings.LayerNorm.weight": 1 + rnd(E, scale=0.1), "embeddings.LayerNorm.bias": rnd(E, scale=0.1)}
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            W[p + f"attention.self.{n}.weight"] = rnd(E, E); W[p + f"attention.self.{n}.bias"] = rnd(E, scale=0.05)
        W[p + "attention.output.dense.weight"] = rnd(E, E); W[p + "attention.output.dense.bias"] = rnd(E, scale=0.05)
        W[p + "attention.output.LayerNorm.weight"] = 1 + rnd(E, scale=0.1); W[p + "attention.output.LayerNorm.bias"] = rnd(E, scale=0.1)
        W[p + "intermediate.dense.weight"] = rnd(I, E); W[p + "intermediate.dense.bias"] = rnd(I, scale=0.05)
        W[p + "output.dense.weight"] = rnd(E, I); W[p + "output.dense.bias"] = rnd(E, scale=0.05)
        W[p + "output.LayerNorm.weight"] = 1 + rnd(E, scale=0.1); W[p + "output.LayerNorm.bias"] = rnd(E, scale=0.1)
    if not mlm:
        W["pooler.dense.weight"] = rnd(E, E); W["pooler.dense.bias"] = rnd(E, scale=0.05)
    Hd = {}
    if mlm:
        Hd = {"cls.predictions.transform.dense.weight": rnd(E, E), "cls.predictions.transform.dense.bias": rnd(E, scale=0.05),
              "cls.predictions.transform.LayerNorm.weight": 1 + rnd(E, scale=0.1),
              "cls.predictions.transform.LayerNorm.bias": rnd(E, scale=0.1), "cls.predictions.bias": rnd(V, scale=0.1)}
    W = representable(W, dtype); Hd = representable(Hd, dtype)
    ids = torch.randint(0, V, (batch, seq)); tt = torch.zeros(batch, seq, dtype=torch.long)
    tt[:, seq // 2:] = 1
    am = torch.ones(batch, seq, dtype=torch.long)
    if pads_right: am[-1, seq - pads_right:] = 0  # last example is padded
    d = case_dir(name)
    arch = "BertForMaskedLM" if mlm else "BertModel"
    full = dict(cfg, model_type="bert", architectures=[arch], hidden_act=act, position_embedding_type="absolute",
                pad_token_id=0)
    json.dump(full, open(os.path.join(d, "config.json"), "w"), indent=2)
    stored = {prefix + k: v for k, v in W.items()}
    stored.update(Hd)
    save_checkpoint(d, stored, dtype)
    with torch.no_grad():
        out = hf_model(d, arch)(input_ids=ids, token_type_ids=tt, attention_mask=am, output_hidden_states=True)
    h = out.hidden_states[-1]
    meta = {"model": "bert", "dtype": dtype, "prefix": prefix, "mlm": mlm,
            "input_ids": save_arr(d, "input_ids", ids, "i32"), "token_type_ids": save_arr(d, "token_type_ids", tt, "i32"),
            "attention_mask": save_arr(d, "attention_mask", am, "i32"),
            "last_hidden_state": save_arr(d, "last_hidden_state", h, "f32")}
    if mlm:
        meta["logits"] = save_arr(d, "logits", out.logits, "f32")
    else:
        meta["pooler_output"] = save_arr(d, "pooler_output", out.pooler_output, "f32")
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=2)


# ---------------- Llama ----------------
def llama_case(name, cfg, batch, seq, seed=0, dtype="F32", tied=False, prefix="model.", pads=None, head_dim=None):
    torch.manual_seed(seed)
    E, H, KV, L, V = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"], cfg["vocab_size"]
    I, eps, theta = cfg["intermediate_size"], cfg["rms_norm_eps"], cfg["rope_theta"]
    D = head_dim or E // H
    W = {"embed_tokens.weight": rnd(V, E, scale=0.5)}
    for i in range(L):
        p = f"layers.{i}."
        W[p + "input_layernorm.weight"] = 1 + rnd(E, scale=0.1)
        W[p + "self_attn.q_proj.weight"] = rnd(H * D, E); W[p + "self_attn.k_proj.weight"] = rnd(KV * D, E)
        W[p + "self_attn.v_proj.weight"] = rnd(KV * D, E); W[p + "self_attn.o_proj.weight"] = rnd(E, H * D)
        W[p + "post_attention_layernorm.weight"] = 1 + rnd(E, scale=0.1)
        W[p + "mlp.gate_proj.weight"] = rnd(I, E); W[p + "mlp.up_proj.weight"] = rnd(I, E); W[p + "mlp.down_proj.weight"] = rnd(E, I)
    W["norm.weight"] = 1 + rnd(E, scale=0.1)
    head = None if tied else rnd(V, E)
    W = representable(W, dtype)
    if head is not None: head = head.to(ST_DTYPE[dtype]).to(torch.float64)
    ids = torch.randint(0, V, (batch, seq))
    am, pos = left_padding(batch, seq, pads or [0] * batch)
    d = case_dir(name)
    full = dict(cfg, model_type="llama", architectures=["LlamaForCausalLM"], hidden_act="silu", tie_word_embeddings=tied,
                max_position_embeddings=128, attention_bias=False)
    if head_dim: full["head_dim"] = head_dim
    json.dump(full, open(os.path.join(d, "config.json"), "w"), indent=2)
    stored = {prefix + k: v for k, v in W.items()}
    if not tied: stored["lm_head.weight"] = head
    save_checkpoint(d, stored, dtype)
    with torch.no_grad():
        kw = dict(attention_mask=am, position_ids=pos) if pads else {}
        logits = hf_model(d, "LlamaForCausalLM")(input_ids=ids, **kw).logits
    meta = {"model": "llama", "dtype": dtype, "prefix": prefix, "tied": tied,
            "input_ids": save_arr(d, "input_ids", ids, "i32"), "logits": save_arr(d, "logits", logits, "f32")}
    if pads:
        meta["attention_mask"] = save_arr(d, "attention_mask", am, "i32")
        meta["position_ids"] = save_arr(d, "position_ids", pos, "i32")
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=2)


# ---------------- 2017 blocks: torch's own nn.TransformerEncoderLayer / nn.TransformerDecoderLayer ----------------
def block_case(name, kind, E, H, FF, B, Lt, Ls, seed, activation="relu", norm_first=False, eps=1e-5):
    torch.manual_seed(seed)
    cls = torch.nn.TransformerEncoderLayer if kind == "encoder" else torch.nn.TransformerDecoderLayer
    layer = cls(E, H, FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first, layer_norm_eps=eps)
    with torch.no_grad():
        for p_ in layer.parameters(): p_.copy_(torch.randn_like(p_) * 0.3 + (1.0 if p_.dim() == 1 and "norm" in "" else 0.0))
        for n_, p_ in layer.named_parameters():
            if n_.startswith("norm") and n_.endswith("weight"): p_.copy_(1 + torch.randn_like(p_) * 0.1)
            p_.copy_(p_.to(torch.float32).to(torch.float64))
    layer.eval()
    x = rnd(B, Lt, E, scale=1.0).to(torch.float32).to(torch.float64)
    d = case_dir(name)
    meta = {"model": "block", "kind": kind, "d_model": E, "nhead": H, "dim_feedforward": FF, "activation": activation,
            "norm_first": norm_first, "layer_norm_eps": eps, "x": save_arr(d, "x", x, "f32")}
    if kind == "encoder":
        kpm = torch.zeros(B, Lt, dtype=torch.bool); kpm[-1, Lt - 2:] = True  # True = padding
        with torch.no_grad(): y = layer(x, src_key_padding_mask=kpm)
        meta["src_key_padding_mask"] = save_arr(d, "src_key_padding_mask", kpm, "i32")
    else:
        mem = rnd(B, Ls, E, scale=1.0).to(torch.float32).to(torch.float64)
        mkpm = torch.zeros(B, Ls, dtype=torch.bool); mkpm[0, Ls - 3:] = True
        causal = torch.triu(torch.ones(Lt, Lt, dtype=torch.bool), diagonal=1)  # True = masked
        with torch.no_grad(): y = layer(x, mem, tgt_mask=causal, memory_key_padding_mask=mkpm)
        meta["memory"] = save_arr(d, "memory", mem, "f32")
        meta["memory_key_padding_mask"] = save_arr(d, "memory_key_padding_mask", mkpm, "i32")
    meta["output"] = save_arr(d, "output", y, "f32")
    with open(os.path.join(d, "state_dict.safetensors"), "wb") as f: f.write(st_bytes(dict(layer.state_dict())))
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=2)


# ---------------- ViT ----------------
def vit_case(name, cfg, batch, seed, prefix="vit.", num_labels=5):
    torch.manual_seed(seed)
    E, H, L, I = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    C, S, P, eps = cfg["num_channels"], cfg["image_size"], cfg["patch_size"], cfg["layer_norm_eps"]
    N = (S // P) ** 2
    W = {"embeddings.cls_token": rnd(1, 1, E, scale=0.5), "embeddings.position_embeddings": rnd(1, N + 1, E, scale=0.1),
         "embeddings.patch_embeddings.projection.weight": rnd(E, C, P, P), "embeddings.patch_embeddings.projection.bias": rnd(E, scale=0.05)}
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            W[p + f"attention.attention.{n}.weight"] = rnd(E, E); W[p + f"attention.attention.{n}.bias"] = rnd(E, scale=0.05)
        W[p + "attention.output.dense.weight"] = rnd(E, E); W[p + "attention.output.dense.bias"] = rnd(E, scale=0.05)
        W[p + "intermediate.dense.weight"] = rnd(I, E); W[p + "intermediate.dense.bias"] = rnd(I, scale=0.05)
        W[p + "output.dense.weight"] = rnd(E, I); W[p + "output.dense.bias"] = rnd(E, scale=0.05)
        W[p + "layernorm_before.weight"] = 1 + rnd(E, scale=0.1); W[p + "layernorm_before.bias"] = rnd(E, scale=0.1)
        W[p + "layernorm_after.weight"] = 1 + rnd(E, scale=0.1); W[p + "layernorm_after.bias"] = rnd(E, scale=0.1)
    W["layernorm.weight"] = 1 + rnd(E, scale=0.1); W["layernorm.bias"] = rnd(E, scale=0.1)
    Hd = {"classifier.weight": rnd(num_labels, E), "classifier.bias": rnd(num_labels, scale=0.1)}
    W = representable(W, "F32"); Hd = representable(Hd, "F32")
    px = rnd(batch, C, S, S, scale=1.0).to(torch.float32).to(torch.float64)
    d = case_dir(name)
    full = dict(cfg, model_type="vit", architectures=["ViTForImageClassification"], hidden_act="gelu", qkv_bias=True,
                id2label={str(i): f"class_{i}" for i in range(num_labels)}, label2id={f"class_{i}": i for i in range(num_labels)})
    json.dump(full, open(os.path.join(d, "config.json"), "w"), indent=2)
    stored = {prefix + k: v for k, v in W.items()}; stored.update(Hd)
    save_checkpoint(d, stored)
    with torch.no_grad():
        m = hf_model(d, "ViTForImageClassification")
        logits = m(pixel_values=px).logits
        h = m.vit(pixel_values=px).last_hidden_state  # after the final layernorm
    meta = {"model": "vit", "pixel_values": save_arr(d, "pixel_values", px, "f32"),
            "last_hidden_state": save_arr(d, "last_hidden_state", h, "f32"), "logits": save_arr(d, "logits", logits, "f32")}
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"), indent=2)


if __name__ == "__main__":
    G = dict(vocab_size=64, n_positions=32, n_embd=32, n_head=4, n_layer=2, layer_norm_epsilon=1e-5)
    # the three samples of ../shared/fixtures (same seeds, same values)
    gpt2_case("gpt2-tiny", G, batch=1, seq=12, seed=1)
    B = dict(vocab_size=60, hidden_size=32, num_attention_heads=4, num_hidden_layers=2,
             intermediate_size=64, max_position_embeddings=32, type_vocab_size=2, layer_norm_eps=1e-12)
    bert_case("bert-tiny", B, batch=2, seq=10, seed=2)
    LL = dict(vocab_size=64, hidden_size=32, num_attention_heads=4, num_key_value_heads=2,
              num_hidden_layers=2, intermediate_size=64, rms_norm_eps=1e-6, rope_theta=10000.0)
    llama_case("llama-tiny", LL, batch=1, seq=12, seed=3)
    # GPT-2: prefixed names, a left-padded batch, an untied head, float16, bfloat16, shards
    gpt2_case("gpt2-prefixed-padded", dict(G, n_layer=3, n_inner=48), batch=3, seq=9, prefix="transformer.", seed=11,
              pads=[0, 3, 1])
    gpt2_case("gpt2-untied-f16", G, batch=2, seq=7, prefix="transformer.", seed=12, dtype="F16", tied=False)
    gpt2_case("gpt2-bf16-sharded", G, batch=1, seq=10, seed=13, dtype="BF16", shards=3)
    # Llama: GQA 8:2 in a batch, tied embeddings without the `model.` prefix, bfloat16, padding, head_dim
    llama_case("llama-gqa-batch", dict(LL, hidden_size=64, num_attention_heads=8, num_key_value_heads=2, num_hidden_layers=3,
                                       intermediate_size=96, rope_theta=500000.0, rms_norm_eps=1e-5), batch=2, seq=11, seed=14)
    llama_case("llama-tied-noprefix", dict(LL, num_key_value_heads=4), batch=1, seq=8, seed=15, tied=True, prefix="")
    llama_case("llama-bf16-padded", dict(LL, num_key_value_heads=1), batch=2, seq=9, seed=16, dtype="BF16", pads=[0, 4])
    llama_case("llama-f16-headdim", dict(LL, head_dim=16), batch=1, seq=6, seed=17, dtype="F16", head_dim=16)
    llama_case("llama-rope-llama3", dict(LL, rope_theta=500000.0, rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
               high_freq_factor=4.0, original_max_position_embeddings=16)), batch=1, seq=12, seed=18)
    llama_case("llama-rope-linear", dict(LL, rope_scaling=dict(rope_type="linear", factor=4.0)), batch=1, seq=10, seed=19)
    # BERT: prefixed BertModel, BertForMaskedLM (tied decoder), float16
    bert_case("bert-prefixed", dict(B, num_hidden_layers=3), batch=3, seq=8, prefix="bert.", seed=21, pads_right=3)
    bert_case("bert-mlm", B, batch=2, seq=9, prefix="bert.", seed=22, mlm=True, pads_right=2)
    bert_case("bert-f16", B, batch=2, seq=6, seed=23, dtype="F16", pads_right=2)
    # the 2017 blocks against torch's nn.TransformerEncoderLayer / nn.TransformerDecoderLayer
    block_case("block-encoder-postln", "encoder", E=16, H=4, FF=40, B=2, Lt=7, Ls=0, seed=31)
    block_case("block-encoder-preln-gelu", "encoder", E=16, H=2, FF=24, B=2, Lt=5, Ls=0, seed=32, activation="gelu", norm_first=True)
    block_case("block-decoder-postln", "decoder", E=16, H=4, FF=40, B=2, Lt=6, Ls=8, seed=33)
    block_case("block-decoder-preln", "decoder", E=16, H=2, FF=32, B=2, Lt=4, Ls=5, seed=34, norm_first=True)
    # ViT: patch embedding, [CLS], pre-LN encoder, classification head
    vit_case("vit-tiny", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, num_channels=3,
                              image_size=16, patch_size=4, layer_norm_eps=1e-12), batch=2, seed=41)
    vit_case("vit-noprefix", dict(hidden_size=24, num_hidden_layers=1, num_attention_heads=3, intermediate_size=32, num_channels=1,
                                  image_size=12, patch_size=6, layer_norm_eps=1e-6), batch=1, seed=42, prefix="", num_labels=3)
    # the base cases as transformers' save_pretrained writes them (same weights, so the same outputs)
    for name, arch in (("gpt2-tiny", "GPT2LMHeadModel"), ("llama-tiny", "LlamaForCausalLM"), ("bert-tiny", "BertModel"),
                       ("vit-tiny", "ViTForImageClassification")):
        resave(os.path.join(OUT, name), arch)
    print("written to", os.path.abspath(OUT), "with transformers", transformers.__version__)
