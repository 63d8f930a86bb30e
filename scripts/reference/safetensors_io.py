"""Writes safetensors files from PyTorch tensors for the tensor-core io tests.

Output: packages/tensor-core/test/fixtures/safetensors/
  dtypes.safetensors      one tensor per dtype (F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL), a scalar and an
                          empty tensor, the header padded to 8 bytes as the reference writer does
  unaligned.safetensors   the same tensors with an unpadded header of odd length, so tensor data sits at
                          addresses that are not multiples of the element size
  i64_overflow.safetensors  an I64 tensor holding 2**31 (does not fit int32)
  expected.json           per tensor: stored dtype, shape, and the values as torch reads them converted
                          to float64 (floats via .double(), so F16/BF16/F64 show exactly what the file
                          holds), plus the metadata

The safetensors writer is hand-written (the `safetensors` package is not installed): an 8-byte
little-endian header length, the JSON header, then the tensors' bytes in order.
Run with Debian's python: /usr/bin/python3 scripts/reference/safetensors_io.py
"""
import json
import os
import shutil
import struct

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "packages", "tensor-core", "test", "fixtures", "safetensors")

ST_DTYPE = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
# Reinterpret as a same-sized numpy-friendly dtype to get the raw little-endian bytes.
RAW_VIEW = {torch.bfloat16: torch.int16}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype in RAW_VIEW:
        t = t.view(RAW_VIEW[t.dtype])
    return t.numpy().tobytes()


def save_st(path, tensors, meta=None, pad=True):
    """Writes tensors in dict order; pad=False leaves the header unpadded (tensors may be misaligned)."""
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    elif len(h) % 2 == 0:
        h += b" "  # odd length: data starts at an odd address
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    g = torch.Generator().manual_seed(1234)
    base = torch.randn(3, 4, generator=g, dtype=torch.float64) * 3
    tensors = {
        "float32.weight": base.to(torch.float32),
        "float16.weight": base.to(torch.float16),
        "bfloat16.weight": base.to(torch.bfloat16),
        "float64.weight": base.clone(),
        "int64.ids": torch.tensor([[0, 1, -2], [2147483647, -2147483648, 7]], dtype=torch.int64),
        "int32.ids": torch.tensor([5, -6, 123456789], dtype=torch.int32),
        "int16.vals": torch.tensor([-32768, 0, 32767], dtype=torch.int16),
        "int8.vals": torch.tensor([-128, 1, 127, 0], dtype=torch.int8),
        "uint8.pixels": torch.tensor([[0, 128], [200, 255]], dtype=torch.uint8),
        "bool.mask": torch.tensor([True, False, False, True, True], dtype=torch.bool),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "float16.special": torch.tensor([float("inf"), -float("inf"), 6.1e-5, 65504.0, -0.0, 1e-7],
                                        dtype=torch.float16),
    }
    meta = {"format": "pt", "note": "written by scripts/reference/safetensors_io.py"}
    save_st(os.path.join(OUT, "dtypes.safetensors"), tensors, meta, pad=True)
    save_st(os.path.join(OUT, "unaligned.safetensors"), tensors, meta, pad=False)
    save_st(os.path.join(OUT, "i64_overflow.safetensors"),
            {"big": torch.tensor([1, 2 ** 31, 3], dtype=torch.int64)})
    expected = {"metadata": meta, "tensors": {}}
    for name, t in tensors.items():
        vals = t.double() if t.is_floating_point() else t.to(torch.int64)
        flat = vals.reshape(-1).tolist()
        flat = [v if v == v and abs(v) != float("inf") else str(v) for v in flat]
        expected["tensors"][name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "values": flat}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
