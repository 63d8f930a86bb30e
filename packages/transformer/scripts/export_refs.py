#!/usr/bin/env python3
"""The way out to PyTorch, step 2 of 2: loads every folder scripts/export_models.mjs wrote with
attnkit's saveModel (test/fixtures/export-*/) in Hugging Face transformers with from_pretrained
(the class config.json's `architectures` names), runs the inputs stored beside it and records
transformers' outputs as hf_<output>.f32 arrays in its meta.json. test/export.test.ts then checks
attnkit's outputs against them (1e-4).

Run (after export_models.mjs):
  /work/venv-ref/bin/python packages/transformer/scripts/export_refs.py
(any Python with torch, transformers 5.x, safetensors and numpy: see hf_refs.py's header.)
from_pretrained is strict here: a missing, unexpected or mis-shaped tensor is an error.
"""
import json
import os

import numpy as np
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
torch.set_grad_enabled(False)


def read(d, entry, dtype):
    return torch.from_numpy(np.fromfile(os.path.join(d, entry["file"]), dtype=dtype).reshape(entry["shape"]).copy())


def save(d, meta, name, t):
    t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tofile(os.path.join(d, name + ".f32"))
    meta[name] = {"file": name + ".f32", "shape": list(t.shape)}


def main():
    for name in sorted(os.listdir(FIXTURES)):
        if not name.startswith("export-"):
            continue
        d = os.path.join(FIXTURES, name)
        meta = json.load(open(os.path.join(d, "meta.json")))
        cfg = json.load(open(os.path.join(d, "config.json")))
        cls = getattr(transformers, cfg["architectures"][0])
        model, info = cls.from_pretrained(d, output_loading_info=True)
        bad = {k: v for k, v in info.items() if v and k != "error_msgs"} or info.get("error_msgs")
        assert not bad, f"{name}: from_pretrained reported {bad}"
        model.eval()
        if "input_features" in meta:
            out = model(input_features=read(d, meta["input_features"], "<f4"),
                        decoder_input_ids=read(d, meta["decoder_input_ids"], "<i4").long())
            save(d, meta, "hf_encoder_last_hidden_state", out.encoder_last_hidden_state)
        elif "decoder_input_ids" in meta:
            out = model(input_ids=read(d, meta["input_ids"], "<i4").long(),
                        decoder_input_ids=read(d, meta["decoder_input_ids"], "<i4").long())
            save(d, meta, "hf_encoder_last_hidden_state", out.encoder_last_hidden_state)
        elif "input_ids" in meta:
            out = model(input_ids=read(d, meta["input_ids"], "<i4").long())
        else:
            out = model(pixel_values=read(d, meta["pixel_values"], "<f4"))
        for key in ("logits", "last_hidden_state", "pooler_output"):
            v = getattr(out, key, None)
            if v is not None:
                save(d, meta, "hf_" + key, v)
        meta["transformers"] = transformers.__version__
        with open(os.path.join(d, "meta.json"), "w") as f:
            f.write(json.dumps(meta, indent=1) + "\n")
        print(name, cls.__name__, [k for k in meta if k.startswith("hf_")])


if __name__ == "__main__":
    main()
