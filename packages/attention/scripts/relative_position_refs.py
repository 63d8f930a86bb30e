#!/usr/bin/env python3
"""Reference buckets and biases of T5's relative position bias, from transformers 5.18 itself.

Writes packages/attention/test/fixtures/relative-position.json: for several (num_buckets,
max_distance, bidirectional) settings, transformers' T5Attention._relative_position_bucket of every
relative position in -300..300, and one compute_bias() output (a seeded table, with a cache offset).

Run: /work/venv-ref/bin/python packages/attention/scripts/relative_position_refs.py
"""
import json
import os

import torch
import transformers
from transformers import T5Config
from transformers.models.t5.modeling_t5 import T5Attention

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "relative-position.json")
torch.set_grad_enabled(False)

rel = torch.arange(-300, 301)
cases = []
for nb, md in ((32, 128), (8, 16), (16, 64), (6, 20), (64, 256)):
    for bidir in (True, False):
        b = T5Attention._relative_position_bucket(rel, bidirectional=bidir, num_buckets=nb, max_distance=md)
        cases.append({"num_buckets": nb, "max_distance": md, "bidirectional": bidir, "buckets": b.tolist()})
biases = []
for is_decoder, lq, lk, past in ((False, 7, 7, 0), (True, 3, 12, 9)):
    cfg = T5Config(num_heads=3, d_model=12, d_kv=4, relative_attention_num_buckets=8, relative_attention_max_distance=16,
                   is_decoder=is_decoder)
    attn = T5Attention(cfg, has_relative_attention_bias=True, layer_idx=0)
    torch.manual_seed(7)
    attn.relative_attention_bias.weight.copy_(torch.randn(8, 3))
    out = attn.compute_bias(lq, lk, past_seen_tokens=past)
    biases.append({"bidirectional": not is_decoder, "num_buckets": 8, "max_distance": 16, "lq": lq, "lk": lk,
                   "past": past, "weight": attn.relative_attention_bias.weight.flatten().tolist(),
                   "shape": list(out.shape), "bias": out.flatten().tolist()})
with open(OUT, "w") as f:
    json.dump({"transformers": transformers.__version__, "relative_positions": [-300, 300], "buckets": cases,
               "biases": biases}, f)
print("wrote", os.path.abspath(OUT))
