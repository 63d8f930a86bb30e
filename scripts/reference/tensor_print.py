"""Records how PyTorch prints small tensors, for the tensor-core printing tests.

Output: packages/tensor-core/test/fixtures/print/cases.json, a list of
  {"name", "dtype" (attnkit dtype), "shape", "values" (flat, row-major; "nan"/"inf"/"-inf" as strings),
   "torch": str(tensor)}
The TypeScript test prints the same values and compares the part between "tensor(" and the suffix
(torch writes ", dtype=..." / ", size=..."; attnkit writes ", shape=[...], dtype=...").
Default print options (precision 4, threshold 1000, edgeitems 3, linewidth 80).
Run with Debian's python: /usr/bin/python3 scripts/reference/tensor_print.py
"""
import json
import math
import os

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "packages", "tensor-core", "test", "fixtures", "print")

TORCH_DTYPE = {"float32": torch.float32, "int32": torch.int32, "bool": torch.bool}


def jsonable(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    return v


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    nan, inf = float("nan"), float("inf")
    cases = [
        ("floats", [1.5, -2.25, 3.0, 0.125], [4], "float32"),
        ("integer-valued floats", [1.0, 2.0, -3.0, 0.0], [4], "float32"),
        ("integer-valued with a big ratio -> sci", [1.0, 2000.0], [2], "float32"),
        ("small values -> sci", [1e-5, 0.5, -3.0], [3], "float32"),
        ("large values -> sci", [1e9, 2.5], [2], "float32"),
        ("ratio above 1000 -> sci", [0.001, 2.0], [2], "float32"),
        ("nan and inf", [nan, inf, -inf, 1.5], [4], "float32"),
        ("nan and inf with integers", [nan, 1.0, -inf, 2.0], [4], "float32"),
        ("all zeros", [0.0, 0.0, 0.0], [3], "float32"),
        ("negative zero", [-0.0, 1.0], [2], "float32"),
        ("matrix", torch.randn(3, 4, generator=g).tolist(), [3, 4], "float32"),
        ("rank 3", torch.randn(2, 2, 3, generator=g).tolist(), [2, 2, 3], "float32"),
        ("scalar", [3.25], [], "float32"),
        ("integer scalar", [7.0], [], "float32"),
        ("int32", [1, -20, 300], [3], "int32"),
        ("int32 matrix", [[1, 2], [-3, 40]], [2, 2], "int32"),
        ("bool", [True, False, True], [3], "bool"),
        ("wrapped long row", (torch.arange(30, dtype=torch.float32) * 1.5).tolist(), [30], "float32"),
        ("wrapped long int row", list(range(0, 4000, 97)), [42], "int32"),
        ("summarized vector", torch.arange(2000, dtype=torch.float32).tolist(), [2000], "float32"),
        ("summarized matrix", (torch.arange(40 * 50, dtype=torch.float32) / 7).reshape(40, 50).tolist(),
         [40, 50], "float32"),
        ("summarized rank 3", torch.arange(12 * 10 * 10, dtype=torch.int32).reshape(12, 10, 10).tolist(),
         [12, 10, 10], "int32"),
        ("summarized bool", [bool(i % 3) for i in range(1200)], [1200], "bool"),
        ("tie at the 4th decimal", [1.03125, 2.5], [2], "float32"),
        ("empty", [], [0], "float32"),
    ]
    out = []
    for name, values, shape, dtype in cases:
        t = torch.tensor(values, dtype=TORCH_DTYPE[dtype]).reshape(shape)
        flat = t.reshape(-1).tolist()
        out.append({"name": name, "dtype": dtype, "shape": shape, "values": [jsonable(v) for v in flat],
                    "torch": str(t)})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
