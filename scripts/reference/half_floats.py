"""float16 and bfloat16 conversions as PyTorch does them, for backend-cpu's 16-bit weight kernels.

Output: packages/backend-cpu/test/fixtures/half-floats.json
  f32:        float32 inputs (bit patterns, uint32): ties, values near the rounding boundaries,
              float16 subnormals and overflow, float32 subnormals, +-0, +-inf, NaN
  bf16, f16:  torch's x.to(torch.bfloat16) / x.half() of each input (bit patterns, uint16)
  bf16_f32, f16_f32: torch's .float() of those 16-bit values (bit patterns, uint32), i.e. the
              widening the kernels must reproduce
  f16_all_fnv: FNV-1a (32-bit) over the little-endian bytes of torch's float32 value of every
              float16 bit pattern 0..65535 in order, so the float16 decoder is checked on every
              subnormal, inf and NaN payload without storing 256 KiB

Run: /work/venv-ref/bin/python scripts/reference/half_floats.py (any torch >= 2)
"""
import json
import os

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "packages", "backend-cpu", "test", "fixtures", "half-floats.json")


def bits32(t):
    return [int(v) & 0xFFFFFFFF for v in t.contiguous().view(torch.int32).tolist()]


def bits16(t):
    return [int(v) & 0xFFFF for v in t.contiguous().view(torch.int16).tolist()]


def fnv1a(words):
    h = 0x811C9DC5
    for w in words:
        for k in range(4):
            h ^= (w >> (8 * k)) & 0xFF
            h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def main():
    gen = torch.Generator().manual_seed(0)
    vals = [0.0, -0.0, 1.0, -1.0, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, 1 + 2**-11, 1 + 3 * 2**-11,
            3.14159265, -2.718281828, 65504.0, 65519.0, 65520.0, 1e5, -1e5, 6.1e-5, 2**-14, 2**-24, 2**-25,
            3 * 2**-26, 2**-26, 1e-7, -1e-7, 5.96e-8, 3.4e38, -3.39e38, 1e-39, -2.5e-39, 1e-45,
            float("inf"), float("-inf"), float("nan")]
    x = torch.tensor(vals, dtype=torch.float32)
    rnd = torch.cat([
        torch.randn(200, generator=gen),
        torch.randn(100, generator=gen) * 1e-5,
        torch.randn(100, generator=gen) * 1e4,
        torch.randn(100, generator=gen) * 1e-30,
    ]).to(torch.float32)
    x = torch.cat([x, rnd])
    bf = x.to(torch.bfloat16)
    hf = x.half()
    every = torch.arange(65536, dtype=torch.int32).to(torch.int16).view(torch.float16).float()
    out = {
        "f32": bits32(x),
        "bf16": bits16(bf),
        "f16": bits16(hf),
        "bf16_f32": bits32(bf.float()),
        "f16_f32": bits32(hf.float()),
        "f16_all_fnv": fnv1a(bits32(every)),
        "torch": torch.__version__,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
