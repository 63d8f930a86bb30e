#!/usr/bin/python3
"""Float64 reference for @attnkit/attention's block-sparse layouts: dense attention under the boolean
mask each layout stands for, forward and gradients (torch float64 autograd). The layouts are written
here again from their papers, independently of the TypeScript constructors (Child et al. 2019,
"Generating Long Sequences with Sparse Transformers", strided and fixed patterns, in units of blocks;
Beltagy et al. 2020, Longformer, sliding window + global tokens). No library ships these layouts.

Run:  /work/venv-ref/bin/python packages/attention/scripts/reference_block_sparse.py
Writes packages/attention/test/fixtures/block-sparse/<case>/ and index.json.
"""
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts", "reference"))
from _fixture import Case, randn, reset_dir, seed_for, write_index  # noqa: E402

OUT = os.path.join(HERE, "..", "test", "fixtures", "block-sparse")
INDEX = []


def strided(n, stride, causal):
    return [[j for j in range(n) if (not causal or j <= i) and (abs(i - j) < stride or (i - j) % stride == 0)]
            for i in range(n)]


def fixed(n, stride, c, causal):
    return [[j for j in range(n) if (not causal or j <= i) and (j // stride == i // stride or j % stride >= stride - c)]
            for i in range(n)]


def longformer(n, window, glob):
    return [[j for j in range(n) if abs(i - j) <= window or i in glob or j in glob] for i in range(n)]


def random_layout(n, per_row, seed):
    """Each block sees itself plus `per_row` other blocks drawn at random (scattered, not a band)."""
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        others = [j for j in torch.randperm(n, generator=gen).tolist() if j != i][:per_row]
        rows.append(sorted([i] + others))
    return rows


def case(name, layout, params, block, nb, b=1, h=2, d=4, kvh=None, causal=False, store_mask=True):
    """Dense float64 attention under the layout's mask (and `causal`); k, v have `kvh` heads shared
    by groups of query heads (HF's repeat_kv)."""
    torch.manual_seed(seed_for(name))
    kvh = kvh or h
    L = block * nb
    q, k, v, g = randn(b, h, L, d), randn(b, kvh, L, d), randn(b, kvh, L, d), randn(b, h, L, d)
    mask = torch.zeros(L, L, dtype=torch.bool)
    for i, row in enumerate(layout):
        for j in row:
            mask[i * block:(i + 1) * block, j * block:(j + 1) * block] = True
    if causal:
        mask = mask & torch.ones(L, L, dtype=torch.bool).tril()
    qg, kg, vg = (t.clone().requires_grad_(True) for t in (q, k, v))
    kr = kg.repeat_interleave(h // kvh, dim=1)
    vr = vg.repeat_interleave(h // kvh, dim=1)
    s = (qg @ kr.transpose(-1, -2)) / math.sqrt(d)
    s = s.masked_fill(~mask, float("-inf"))
    out = torch.softmax(s, -1) @ vr
    (out * g).sum().backward()
    c = Case(OUT, name)
    c.param("kind", "block_sparse")
    c.param("reference", "float64 dense attention under the layout's boolean mask (layouts written from the papers)")
    for key, val in params.items():
        c.param(key, val)
    c.param("block_size", block)
    c.param("num_blocks", nb)
    c.param("layout", layout)
    c.param("causal_flag", causal)
    if store_mask:
        c.arr("mask", mask)
    for key, t in (("q", q), ("k", k), ("v", v), ("grad_output", g), ("output", out),
                   ("grad_q", qg.grad), ("grad_k", kg.grad), ("grad_v", vg.grad)):
        c.arr(key, t)
    c.write()
    INDEX.append({"name": name, "kind": "block_sparse"})


def main():
    torch.set_default_dtype(torch.float64)
    reset_dir(OUT)
    case("strided_causal", strided(6, 2, True), {"pattern": "strided", "stride": 2, "causal": True}, 2, 6)
    case("fixed_causal", fixed(6, 3, 1, True), {"pattern": "fixed", "stride": 3, "c": 1, "causal": True}, 2, 6)
    case("fixed_bidirectional", fixed(4, 2, 1, False), {"pattern": "fixed", "stride": 2, "c": 1, "causal": False}, 3, 4)
    case("longformer", longformer(6, 1, [0]), {"pattern": "longformer", "window": 1, "global_blocks": [0]}, 2, 6)
    # Larger cases for the fused kernels: query tiles and key tiles (cpu 64 x 128, webgpu 64 x 32)
    # that cross layout blocks, blocks larger than a tile and not a multiple of it, scattered blocks,
    # grouped heads and causal masking on top of the layout.
    case("tiles_longformer_b16", longformer(20, 1, [0]),
         {"pattern": "longformer", "window": 1, "global_blocks": [0]}, 16, 20, d=8, store_mask=False)
    case("tiles_strided_b96", strided(4, 2, True), {"pattern": "strided", "stride": 2, "causal": True},
         96, 4, d=8, store_mask=False)
    case("tiles_random_gqa_causal", random_layout(12, 3, 12345), {"pattern": "listed"}, 8, 12, h=4, kvh=2,
         d=8, causal=True, store_mask=False)
    write_index(OUT, INDEX)


if __name__ == "__main__":
    main()
