"""Tiny random GPT-2 checkpoints that transformers saves in 16 bits, for loadPretrained's `dtype`.

For each of bfloat16 and float16: a seeded GPT2LMHeadModel (weights large enough that the logits
are well separated), cast with `.to(dtype)` and written by `save_pretrained` (config.json with its
`dtype`, model.safetensors of BF16 / F16 tensors, generation_config.json). The expected logits are
transformers' forward of the same 16-bit weights widened to float32 (`model.float()`, exact), in
float32 on CPU: the computation attnkit's 16-bit kernels do (widen in the kernel, float32
accumulation).

Writes packages/transformer/test/fixtures/half-gpt2-{bf16,f16}/ (folder name prefixed so the
parity suites that glob fixture names leave them alone).

Run: /work/venv-ref/bin/python packages/transformer/scripts/half_refs.py
"""
import json
import os
import shutil

import torch
from transformers import GPT2Config, GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")


def save_arr(d, name, t):
    t = t.detach()
    if t.dtype.is_floating_point:
        t.to(torch.float32).contiguous().numpy().astype("<f4").tofile(os.path.join(d, name + ".f32"))
        return {"file": name + ".f32", "shape": list(t.shape)}
    t.to(torch.int32).contiguous().numpy().astype("<i4").tofile(os.path.join(d, name + ".i32"))
    return {"file": name + ".i32", "shape": list(t.shape)}


def case(name, dtype, seed):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(seed)
    cfg = GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=64, n_positions=32, n_inner=None,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(cfg).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("ln_1.weight") or n.endswith("ln_2.weight") or n.endswith("ln_f.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
    model = model.to(dtype)
    model.save_pretrained(d, safe_serialization=True)
    ids = torch.randint(0, cfg.vocab_size, (2, 9), generator=gen)
    wide = model.float()  # exact widening of the stored 16-bit weights
    with torch.no_grad():
        logits = wide(input_ids=ids).logits
    meta = {"model": "gpt2-half", "dtype": str(dtype).replace("torch.", ""),
            "input_ids": save_arr(d, "input_ids", ids), "logits": save_arr(d, "logits", logits)}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def main():
    case("half-gpt2-bf16", torch.bfloat16, 21)
    case("half-gpt2-f16", torch.float16, 22)


if __name__ == "__main__":
    main()
