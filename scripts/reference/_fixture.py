"""Shared helpers for the reference scripts in this folder (see README.md).

Every fixture case is a folder holding meta.json and little-endian raw arrays:
  .f32  float32, row-major (C order)
  .i32  int32, row-major
meta.json maps names to either an array entry {"file": "x.f32", "shape": [...]} or a plain JSON
value (a scalar parameter, a list, a string). A loader tells them apart by the presence of "file".
A shape of [] means a scalar stored as one element.
"""
import json
import os
import shutil
import struct
import zlib

import torch

torch.set_default_dtype(torch.float64)

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def seed_for(name):
    """A stable per-case seed (independent of case order), from the case name."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def f32(t):
    """Round a float64 tensor to float32 precision and back, so the stored file is exactly what was used."""
    return t.detach().to(torch.float32).to(torch.float64)


def randn(*shape, scale=1.0, gen=None):
    return f32(torch.randn(tuple(shape), generator=gen) * scale)


def uniform(*shape, lo=-1.0, hi=1.0, gen=None):
    return f32(torch.rand(tuple(shape), generator=gen) * (hi - lo) + lo)


def reset_dir(path):
    """Remove and recreate an output folder so re-runs leave no stale cases behind."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


class Case:
    """Collects arrays and parameters for one fixture folder; write() saves meta.json."""

    def __init__(self, root, name):
        self.name = name
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.meta = {}

    def param(self, key, value):
        self.meta[key] = value
        return value

    def arr(self, key, t, dtype=None):
        if isinstance(t, torch.Tensor):
            t = t.detach()
        else:
            t = torch.as_tensor(t)
        if dtype is None:
            dtype = "i32" if (t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)) else "f32"
        path = os.path.join(self.dir, key + "." + dtype)
        if dtype == "f32":
            data = t.to(torch.float32).contiguous().numpy()
        else:
            data = t.to(torch.int32).contiguous().numpy()
        with open(path, "wb") as f:
            f.write(data.astype(data.dtype.newbyteorder("<")).tobytes())
        self.meta[key] = {"file": key + "." + dtype, "shape": list(t.shape)}
        return t

    def write(self):
        with open(os.path.join(self.dir, "meta.json"), "w") as f:
            f.write(dumps_compact(self.meta))


def dumps_compact(obj):
    """JSON with one top-level key per line and each value on one line (stable, diff-friendly)."""
    if isinstance(obj, dict):
        items = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n}\n"
    if isinstance(obj, list):
        return "[\n" + ",\n".join(" " + json.dumps(v) for v in obj) + "\n]\n"
    return json.dumps(obj) + "\n"


def write_index(root, entries):
    """index.json beside the case folders: [{"name": case, "op": op}, ...] in generation order."""
    with open(os.path.join(root, "index.json"), "w") as f:
        f.write(dumps_compact(entries))


def save_safetensors(path, tensors, meta=None):
    """Write float32 safetensors (name -> tensor), names in the given order."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
