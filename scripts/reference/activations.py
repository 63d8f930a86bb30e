"""Expected outputs of every Hugging Face activation name that @attnkit/hub maps (transformers'
ACT2FN in float64), for packages/tensor-core/test/nn-activations.test.ts.

Run: /work/venv-ref/bin/python scripts/reference/activations.py
(a venv with torch + transformers: python3 -m venv .venv-ref && .venv-ref/bin/pip install torch transformers)
Writes packages/tensor-core/test/fixtures/activations.json.
"""
import json
import os

import torch
from transformers.activations import ACT2FN

torch.set_default_dtype(torch.float64)
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NAMES = [
    "relu", "relu6", "relu2", "leaky_relu", "gelu", "gelu_python", "gelu_new", "gelu_fast",
    "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_accurate", "gelu_10", "quick_gelu", "silu",
    "swish", "mish", "tanh", "sigmoid", "linear",
]
x = torch.tensor([-12.0, -6.5, -3.0, -1.25, -0.5, -0.01, 0.0, 0.03, 0.7, 1.5, 2.75, 5.0, 7.5, 11.0])
out = {"x": x.tolist(), "y": {}}
for name in NAMES:
    out["y"][name] = ACT2FN[name](x.clone()).tolist()
path = os.path.join(REPO, "packages", "tensor-core", "test", "fixtures", "activations.json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", path)
