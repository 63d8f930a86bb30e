#!/usr/bin/env python3
"""Reference fixtures for @attnkit/transformer written by the real Hugging Face transformers (5.18).

Every case is a folder under packages/transformer/test/fixtures/<case>/ that save_pretrained wrote
(config.json, generation_config.json, model.safetensors) for a tiny model with seeded random
weights, plus the model's inputs and transformers' outputs as little-endian .f32/.i32 arrays listed
in meta.json (the schema of scripts/reference/README.md: an entry {"file", "shape"} is an array).

Cases:
  - Llama with each rope type transformers implements for it (default, linear, dynamic, yarn with
    and without mscale, longrope short and long, llama3), MistralForCausalLM with a sliding window
    shorter than the sequences, MixtralForCausalLM (sparse MoE; router logits recorded),
    Qwen2ForCausalLM (q/k/v biases; tied and untied head; per-layer sliding windows), ViTModel
    (with its pooler).
  - For the causal LMs: logits of a left-padded batch (with the position ids generate() uses), and
    transformers' generate() sequences: greedy and beam search (3 beams), for one prompt and for
    a left-padded batch of two.
  - 'hf-mixtral-fused': Mixtral's weights in transformers 5's in-memory names (mlp.gate,
    mlp.experts.gate_up_proj, mlp.experts.down_proj) rather than the per-expert names it writes.
  - '<case>-v4' folders: the same weights with the config.json keys transformers 4 wrote
    (rope_theta + rope_scaling instead of rope_parameters, torch_dtype instead of dtype; Mixtral's
    experts as block_sparse_moe.experts.N.w1/w2/w3). The script checks that transformers itself
    loads them to the same logits.

Run (from the repository root):
  python3 -m venv .venv-ref && .venv-ref/bin/pip install --no-index --find-links <wheel dirs> \
      torch transformers safetensors numpy
  .venv-ref/bin/python packages/transformer/scripts/hf_refs.py
(On the project machine: /work/venv-ref/bin/python packages/transformer/scripts/hf_refs.py.)
Re-running rewrites the folders it owns (names listed in CASES) and nothing else.
"""
import json
import os
import shutil
import sys
import zlib

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    MixtralConfig,
    MixtralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    ViTConfig,
    ViTModel,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
torch.set_grad_enabled(False)


def seed_for(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def save_arr(d, name, t):
    t = torch.as_tensor(t).detach()
    if t.dtype.is_floating_point:
        t.to(torch.float32).contiguous().numpy().astype("<f4").tofile(os.path.join(d, name + ".f32"))
        return {"file": name + ".f32", "shape": list(t.shape)}
    t.to(torch.int32).contiguous().numpy().astype("<i4").tofile(os.path.join(d, name + ".i32"))
    return {"file": name + ".i32", "shape": list(t.shape)}


def write_meta(d, meta):
    with open(os.path.join(d, "meta.json"), "w") as f:
        f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in meta.items()) + "\n}\n")


def randomize(model, gen, scale=0.2, router_scale=0.6):
    """Seeded weights large enough that logits (and the MoE router's choices) are well separated."""
    for name, p in model.named_parameters():
        if name.endswith("norm.weight") or "layernorm" in name.split(".")[-2]:
            p.copy_(1 + torch.randn(p.shape, generator=gen) * 0.1)
        elif name.endswith(".bias"):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
        elif name.endswith("gate.weight"):
            p.copy_(torch.randn(p.shape, generator=gen) * router_scale)
        elif "embed_tokens" in name:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        else:
            p.copy_(torch.randn(p.shape, generator=gen) * scale)


def left_padded(ids, pads):
    """attention_mask with pads[b] leading zeros, and generate()'s position ids (cumsum - 1, 1 on padding)."""
    b, l = ids.shape
    am = torch.ones(b, l, dtype=torch.long)
    for i, p in enumerate(pads):
        am[i, :p] = 0
    pos = (am.cumsum(-1) - 1).masked_fill(am == 0, 1)
    return am, pos


def min_margin(scores):
    """Smallest gap between the best and second-best score over generate()'s steps (near-ties flip)."""
    m = float("inf")
    for s in scores:
        top = torch.topk(s.float(), 2, dim=-1).values
        fin = torch.isfinite(top).all(-1)
        if fin.any():
            m = min(m, float((top[fin, 0] - top[fin, 1]).min()))
    return m


def router_margin(router_logits, k):
    """Smallest gap between the k-th and (k+1)-th router probability (a near-tie flips the experts)."""
    m = float("inf")
    for rl in router_logits:
        p = torch.softmax(rl.float(), -1)
        top = torch.topk(p, k + 1, -1).values if k < p.shape[-1] else None
        if top is not None:
            m = min(m, float((top[:, k - 1] - top[:, k]).min()))
    return m


def reset(d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)


def v4_config(cfg_json, kind):
    """The config.json keys transformers 4 wrote for the same model."""
    out = dict(cfg_json)
    rp = out.pop("rope_parameters", None)
    if rp is not None:
        rp = dict(rp)
        out["rope_theta"] = rp.pop("rope_theta")
        rtype = rp.pop("rope_type", "default")
        if rtype != "default":
            out["rope_scaling"] = dict(rp, rope_type=rtype, type=rtype)
        else:
            out["rope_scaling"] = None
    if "dtype" in out:
        out["torch_dtype"] = out.pop("dtype")
    out["transformers_version"] = "4.46.0"
    if kind == "qwen2":
        out.pop("layer_types", None)
    return out


def v4_weights(state, kind, cfg):
    """Mixtral's experts as transformers 4 named them (block_sparse_moe.experts.N.w1/w2/w3)."""
    if kind != "mixtral":
        return state
    out = {}
    inter = cfg.intermediate_size
    for k, v in state.items():
        if ".mlp.experts.gate_up_proj" in k:
            base = k.replace(".mlp.experts.gate_up_proj", ".block_sparse_moe.experts")
            for e in range(v.shape[0]):
                out[f"{base}.{e}.w1.weight"] = v[e, :inter].clone()
                out[f"{base}.{e}.w3.weight"] = v[e, inter:].clone()
        elif ".mlp.experts.down_proj" in k:
            base = k.replace(".mlp.experts.down_proj", ".block_sparse_moe.experts")
            for e in range(v.shape[0]):
                out[f"{base}.{e}.w2.weight"] = v[e].clone()
        elif ".mlp.gate.weight" in k:
            out[k.replace(".mlp.gate.", ".block_sparse_moe.gate.")] = v
        else:
            out[k] = v
    return out


# The padding id. Not 0: transformers' beam search fills finished rows with `pad_token_id or
# eos_token_id[0]`, so a pad id of 0 would be replaced by the eos id there (and nowhere else).
PAD = 3

LM_CLASSES = {
    "llama": (LlamaConfig, LlamaForCausalLM),
    "mistral": (MistralConfig, MistralForCausalLM),
    "mixtral": (MixtralConfig, MixtralForCausalLM),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM),
}


def lm_case(name, kind, cfg_kwargs, seq=10, pads=(0, 3), new_tokens=8, generation=True, v4=True, batch_seq=None):
    """A causal LM: forward logits on a left-padded batch, generate() sequences, a v4-keys twin folder."""
    cfg_cls, model_cls = LM_CLASSES[kind]
    for attempt in range(20):
        seed = seed_for(name) + attempt
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        config = cfg_cls(pad_token_id=PAD, bos_token_id=1, eos_token_id=2, **cfg_kwargs)
        model = model_cls(config).eval()
        randomize(model, gen)
        V = config.vocab_size
        ids = torch.randint(4, V, (len(pads), seq), generator=gen)
        am, pos = left_padded(ids, pads)
        ids = ids.masked_fill(am == 0, PAD)
        kw = {"output_router_logits": True} if kind == "mixtral" else {}
        out = model(input_ids=ids, attention_mask=am, position_ids=pos, **kw)
        ok = True
        if kind == "mixtral":
            k = config.num_experts_per_tok
            # only real tokens matter (padded rows' routing is compared nowhere)
            real = am.reshape(-1).bool()
            ok = router_margin([r[real] for r in out.router_logits], k) > 2e-4
        runs = {}
        if ok and generation:
            prompt = ids[1:2, pads[1]:]
            for tag, beams in (("greedy", 1), ("beam", 3)):
                for which, (p_ids, p_am) in {"single": (prompt, None), "batch": (ids, am)}.items():
                    g = model.generate(
                        input_ids=p_ids,
                        attention_mask=p_am if p_am is not None else torch.ones_like(p_ids),
                        max_new_tokens=new_tokens,
                        do_sample=False,
                        num_beams=beams,
                        pad_token_id=PAD,
                        eos_token_id=2,
                        output_scores=True,
                        return_dict_in_generate=True,
                    )
                    if beams == 1 and min_margin(g.scores) < 2e-3:
                        ok = False
                    runs[f"{tag}_{which}"] = g.sequences
        if ok:
            break
    else:
        raise SystemExit(f"{name}: no seed without near-ties")
    d = os.path.join(OUT, name)
    reset(d)
    model.generation_config = GenerationConfig(
        bos_token_id=1, eos_token_id=2, pad_token_id=PAD, max_new_tokens=new_tokens, do_sample=False
    )
    model.save_pretrained(d)
    meta = {"model": kind, "architecture": model_cls.__name__, "transformers": transformers.__version__,
            "seed": seed, "input_ids": save_arr(d, "input_ids", ids),
            "attention_mask": save_arr(d, "attention_mask", am), "position_ids": save_arr(d, "position_ids", pos),
            "logits": save_arr(d, "logits", out.logits)}
    if kind == "mixtral":
        meta["router_logits"] = save_arr(d, "router_logits", torch.stack(list(out.router_logits)))
        meta["aux_loss"] = save_arr(d, "aux_loss", out.aux_loss.reshape(1))
    if generation:
        meta["prompt_single"] = save_arr(d, "prompt_single", ids[1:2, pads[1]:])
        meta["max_new_tokens"] = new_tokens
        meta["num_beams"] = 3
        for key, seqs in runs.items():
            meta[key] = save_arr(d, key, seqs)
    write_meta(d, meta)
    # the same model with transformers 4's config keys (and expert names)
    if v4:
        d4 = os.path.join(OUT, name + "-v4")
        reset(d4)
        cfg_json = json.load(open(os.path.join(d, "config.json")))
        old = v4_config(cfg_json, kind)
        with open(os.path.join(d4, "config.json"), "w") as f:
            json.dump(old, f, indent=2, sort_keys=True)
        state = load_file(os.path.join(d, "model.safetensors"))
        save_file(v4_weights(state, kind, config), os.path.join(d4, "model.safetensors"), metadata={"format": "pt"})
        again = model_cls.from_pretrained(d4).eval()
        out4 = again(input_ids=ids, attention_mask=am, position_ids=pos)
        assert torch.equal(out4.logits, out.logits), f"{name}-v4: transformers reads the v4 folder differently"
        write_meta(d4, {"model": kind, "architecture": model_cls.__name__, "twin_of": name, "config_keys": "v4",
                        "input_ids": meta["input_ids"], "attention_mask": meta["attention_mask"],
                        "position_ids": meta["position_ids"], "logits": meta["logits"]})
        for f in ("input_ids.i32", "attention_mask.i32", "position_ids.i32", "logits.f32"):
            shutil.copy(os.path.join(d, f), os.path.join(d4, f))
    if kind == "mixtral":
        # transformers 5's in-memory layout (mlp.gate, fused mlp.experts.gate_up_proj / down_proj), which
        # some converted checkpoints carry; transformers loads it as well
        df = os.path.join(OUT, name + "-fused")
        reset(df)
        shutil.copy(os.path.join(d, "config.json"), os.path.join(df, "config.json"))
        fused = {k: v.contiguous() for k, v in model.state_dict().items()}
        assert any(".mlp.experts.gate_up_proj" in k for k in fused)
        save_file(fused, os.path.join(df, "model.safetensors"), metadata={"format": "pt"})
        again = model_cls.from_pretrained(df).eval()
        assert torch.equal(again(input_ids=ids, attention_mask=am, position_ids=pos).logits, out.logits)
        write_meta(df, {"model": kind, "architecture": model_cls.__name__, "twin_of": name, "layout": "fused",
                        "input_ids": meta["input_ids"], "attention_mask": meta["attention_mask"],
                        "position_ids": meta["position_ids"], "logits": meta["logits"]})
        for f in ("input_ids.i32", "attention_mask.i32", "position_ids.i32", "logits.f32"):
            shutil.copy(os.path.join(d, f), os.path.join(df, f))
    print(name, "seed", seed)


def vit_model_case(name, cfg_kwargs, batch=2):
    seed = seed_for(name)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    config = ViTConfig(**cfg_kwargs)
    model = ViTModel(config).eval()
    randomize(model, gen)
    px = torch.randn(batch, config.num_channels, config.image_size, config.image_size, generator=gen)
    out = model(pixel_values=px)
    d = os.path.join(OUT, name)
    reset(d)
    model.save_pretrained(d)
    write_meta(d, {"model": "vit-model", "architecture": "ViTModel", "transformers": transformers.__version__,
                   "pixel_values": save_arr(d, "pixel_values", px),
                   "last_hidden_state": save_arr(d, "last_hidden_state", out.last_hidden_state),
                   "pooler_output": save_arr(d, "pooler_output", out.pooler_output)})
    print(name, "seed", seed)


TINY = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6)


def rope(rtype, **kw):
    return {"rope_parameters": dict(rope_type=rtype, rope_theta=kw.pop("rope_theta", 10000.0), **kw)}


CASES = []


def main():
    # Llama, one folder per rope type transformers computes (modeling_rope_utils.py)
    lm_case("hf-llama-rope-default", "llama", dict(TINY, **rope("default", rope_theta=500000.0)))
    lm_case("hf-llama-rope-linear", "llama", dict(TINY, **rope("linear", factor=4.0)), generation=False)
    # dynamic NTK: max_position_embeddings 8 < sequence 12, so the base is rescaled for the forward
    lm_case("hf-llama-rope-dynamic", "llama", dict(TINY, max_position_embeddings=8, **rope("dynamic", factor=2.0)),
            seq=12, generation=False)
    lm_case("hf-llama-rope-yarn", "llama",
            dict(TINY, **rope("yarn", factor=4.0, original_max_position_embeddings=16, beta_fast=8.0, beta_slow=1.0)),
            generation=False)
    lm_case("hf-llama-rope-yarn-mscale", "llama",
            dict(TINY, **rope("yarn", factor=8.0, original_max_position_embeddings=16, mscale=0.7, mscale_all_dim=1.0)),
            generation=False)
    lm_case("hf-llama-rope-yarn-attnfactor", "llama",
            dict(TINY, **rope("yarn", factor=2.0, original_max_position_embeddings=32, attention_factor=1.3,
                              truncate=False)), generation=False)
    half = TINY["hidden_size"] // TINY["num_attention_heads"] // 2
    lf = [1.0 + 0.5 * i for i in range(half)]
    sf = [1.0 + 0.1 * i for i in range(half)]
    # longrope: short factors while the sequence fits original_max_position_embeddings, long ones beyond
    lm_case("hf-llama-rope-longrope-short", "llama",
            dict(TINY, max_position_embeddings=64, **rope("longrope", long_factor=lf, short_factor=sf,
                                                           original_max_position_embeddings=16)), generation=False)
    lm_case("hf-llama-rope-longrope-long", "llama",
            dict(TINY, max_position_embeddings=64, **rope("longrope", long_factor=lf, short_factor=sf,
                                                           original_max_position_embeddings=8, factor=3.0)),
            seq=12, generation=False)
    lm_case("hf-llama-rope-llama3", "llama",
            dict(TINY, **rope("llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                              original_max_position_embeddings=16)))
    # Mistral: a sliding window (5) shorter than the prompts (12) and the generated sequences (20)
    lm_case("hf-mistral-sliding", "mistral", dict(TINY, sliding_window=5, **rope("default")), seq=12)
    # Mixtral: 4 experts, top-2 (and a window-free MoE)
    lm_case("hf-mixtral", "mixtral", dict(TINY, num_local_experts=4, num_experts_per_tok=2, intermediate_size=24,
                                          **rope("default", rope_theta=1000000.0)))
    # Qwen2: q/k/v biases; untied and tied heads; sliding windows on the layers >= max_window_layers
    lm_case("hf-qwen2", "qwen2", dict(TINY, **rope("default", rope_theta=1000000.0)))
    lm_case("hf-qwen2-tied", "qwen2", dict(TINY, tie_word_embeddings=True, **rope("default")), generation=False)
    lm_case("hf-qwen2-sliding", "qwen2", dict(TINY, num_hidden_layers=3, use_sliding_window=True, sliding_window=4,
                                              max_window_layers=1, **rope("default")), seq=11)
    # ViTModel: the base model with its pooler (as google/vit-base-patch16-224-in21k ships)
    vit_model_case("hf-vit-model", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                                        image_size=16, patch_size=4, num_channels=3, layer_norm_eps=1e-12))
    print("transformers", transformers.__version__, "torch", torch.__version__, "->", os.path.abspath(OUT))


if __name__ == "__main__":
    main()
