"""Checks that transformers loads the 16-bit checkpoints attnkit's saveModel writes.

For each folder written by `saveModel(await loadPretrained(fixture, { dtype: 'auto' }), out)`
(test/loading-half-save.test.ts checks the tensors bit for bit without Python; this checks
transformers' side): `from_pretrained(out, dtype="auto")` gives a model in the fixture's 16-bit
dtype whose state dict equals, bit for bit, that of `from_pretrained(fixture, dtype="auto")`.

Run: /work/venv-ref/bin/python packages/transformer/scripts/check_half_save.py OUT_ROOT
  (OUT_ROOT holds one folder per fixture name, e.g. OUT_ROOT/half-gpt2-bf16)
"""
import os
import sys

import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
NAMES = {
    "half-gpt2-bf16": torch.bfloat16,
    "half-gpt2-f16": torch.float16,
    "gpt2-untied-f16": torch.float16,
    "llama-bf16-padded": torch.bfloat16,
    "bert-f16": torch.float16,
}


def load(d):
    cfg = AutoConfig.from_pretrained(d)
    cls = AutoModel if cfg.model_type == "bert" else AutoModelForCausalLM
    return cls.from_pretrained(d, dtype="auto").eval()


def main(root):
    for name, dtype in NAMES.items():
        ours = load(os.path.join(root, name))
        theirs = load(os.path.join(FIXTURES, name))
        assert ours.dtype == dtype, f"{name}: transformers loaded {ours.dtype}, expected {dtype}"
        a, b = ours.state_dict(), theirs.state_dict()
        assert a.keys() == b.keys(), f"{name}: keys differ: {set(a) ^ set(b)}"
        for k in a:
            assert a[k].dtype == b[k].dtype, f"{name} {k}: {a[k].dtype} vs {b[k].dtype}"
            assert torch.equal(a[k].view(torch.int16) if a[k].dtype in (torch.float16, torch.bfloat16) else a[k],
                               b[k].view(torch.int16) if b[k].dtype in (torch.float16, torch.bfloat16) else b[k]), \
                f"{name} {k}: values differ"
        print(f"{name}: transformers loads it as {dtype}, {len(a)} tensors equal bit for bit")


if __name__ == "__main__":
    main(sys.argv[1])
