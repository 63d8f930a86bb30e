#!/usr/bin/python3
"""Float64 reference for @attnkit/attention's DiffAttention and DiffTransformerBlock, written from the
equations of Ye et al. 2024, "Differential Transformer" (arXiv:2410.05258), section 2.1, and the layout
of the authors' code (microsoft/unilm, Diff-Transformer/multihead_diffattn.py). No library (torch,
transformers) ships differential attention, so this script writes the maths out in plain torch float64
ops and uses torch autograd only for the gradients.

  [Q1; Q2] = X W_Q, [K1; K2] = X W_K, V = X W_V      (per head: q/k heads 2h, 2h+1; v head h of width 2d)
  A_i = softmax(Q_i K_iᵀ / sqrt(d) + causal mask)
  lambda = exp(lq1 · lk1) − exp(lq2 · lk2) + lambda_init,  lambda_init = 0.8 − 0.6 exp(−0.3 (l − 1))
           (l the 1-based layer index of the paper = `depth`, 0-based, of the authors' code)
  head_h = (1 − lambda_init) · RMSNorm_2d((A1 − lambda A2) V)   (RMSNorm weight shared by the heads, eps 1e-5)
  out = concat(heads) W_O
Block (paper eq. 4): Y = DiffAttn(RMSNorm(X)) + X;  out = SwiGLU(RMSNorm(Y)) + Y,
  SwiGLU(x) = W_down (silu(W_gate x) ⊙ W_up x).

Run:  /work/venv-ref/bin/python packages/attention/scripts/reference_diff_attention.py
Writes packages/attention/test/fixtures/diff-attention/<case>/ (meta.json, .f32 arrays,
state_dict.safetensors) and index.json in the format of scripts/reference/_fixture.py.
"""
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts", "reference"))
from _fixture import Case, f32, randn, reset_dir, save_safetensors, seed_for, write_index  # noqa: E402

OUT = os.path.join(HERE, "..", "test", "fixtures", "diff-attention")
INDEX = []
EPS = 1e-5


def rms_norm(x, w, eps=EPS):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def softmax(s):
    m = s.max(-1, keepdim=True).values
    e = torch.exp(s - m)
    return e / e.sum(-1, keepdim=True)


def diff_attn(x, p, prefix, heads, depth, causal):
    b, l, e = x.shape
    d = e // heads // 2
    lam_init = 0.8 - 0.6 * math.exp(-0.3 * depth)
    q = (x @ p[prefix + "q_proj.weight"].T).view(b, l, 2 * heads, d).transpose(1, 2)
    k = (x @ p[prefix + "k_proj.weight"].T).view(b, l, 2 * heads, d).transpose(1, 2)
    v = (x @ p[prefix + "v_proj.weight"].T).view(b, l, heads, 2 * d).transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    if causal:
        s = s.masked_fill(torch.ones(l, l, dtype=torch.bool).triu(1), float("-inf"))
    a = softmax(s).view(b, heads, 2, l, l)
    lam = (torch.exp((p[prefix + "lambda_q1"] * p[prefix + "lambda_k1"]).sum())
           - torch.exp((p[prefix + "lambda_q2"] * p[prefix + "lambda_k2"]).sum()) + lam_init)
    o = (a[:, :, 0] - lam * a[:, :, 1]) @ v
    o = rms_norm(o, p[prefix + "subln.weight"]) * (1 - lam_init)
    o = o.transpose(1, 2).reshape(b, l, e)
    return o @ p[prefix + "out_proj.weight"].T, lam


def attn_params(e, heads, prefix=""):
    d = e // heads // 2
    s = 1 / math.sqrt(e)
    return {
        prefix + "q_proj.weight": randn(e, e, scale=s),
        prefix + "k_proj.weight": randn(e, e, scale=s),
        prefix + "v_proj.weight": randn(e, e, scale=s),
        prefix + "out_proj.weight": randn(e, e, scale=s),
        prefix + "lambda_q1": randn(d, scale=0.3),
        prefix + "lambda_k1": randn(d, scale=0.3),
        prefix + "lambda_q2": randn(d, scale=0.3),
        prefix + "lambda_k2": randn(d, scale=0.3),
        prefix + "subln.weight": f32(1 + 0.2 * torch.randn(2 * d)),
    }


def case(name, kind, e, heads, depth, causal, b, l, ffn=None):
    torch.manual_seed(seed_for(name))
    if kind == "attention":
        p = attn_params(e, heads)
    else:
        p = {"attn_norm.weight": f32(1 + 0.2 * torch.randn(e))}
        p.update(attn_params(e, heads, "attn."))
        p["ffn_norm.weight"] = f32(1 + 0.2 * torch.randn(e))
        p["ffn.gate_proj.weight"] = randn(ffn, e, scale=1 / math.sqrt(e))
        p["ffn.up_proj.weight"] = randn(ffn, e, scale=1 / math.sqrt(e))
        p["ffn.down_proj.weight"] = randn(e, ffn, scale=1 / math.sqrt(ffn))
    x = randn(b, l, e)
    gout = randn(b, l, e)
    leaves = {k_: v_.clone().requires_grad_(True) for k_, v_ in p.items()}
    xg = x.clone().requires_grad_(True)
    if kind == "attention":
        out, lam = diff_attn(xg, leaves, "", heads, depth, causal)
    else:
        h, lam = diff_attn(rms_norm(xg, leaves["attn_norm.weight"]), leaves, "attn.", heads, depth, causal)
        h = h + xg
        n = rms_norm(h, leaves["ffn_norm.weight"])
        g = n @ leaves["ffn.gate_proj.weight"].T
        out = h + (torch.nn.functional.silu(g) * (n @ leaves["ffn.up_proj.weight"].T)) @ leaves["ffn.down_proj.weight"].T
    (out * gout).sum().backward()
    c = Case(OUT, name)
    c.param("kind", kind)
    c.param("reference", "float64 torch ops written from the Differential Transformer equations (no library has it)")
    for key, val in (("hidden_size", e), ("num_heads", heads), ("layer_index", depth), ("causal", causal),
                     ("intermediate_size", ffn), ("eps", EPS)):
        c.param(key, val)
    c.param("lambda", float(lam.detach()))
    save_safetensors(os.path.join(c.dir, "state_dict.safetensors"), p, {"format": "pt"})
    c.param("state_dict", "state_dict.safetensors")
    c.arr("x", x)
    c.arr("grad_output", gout)
    c.arr("output", out)
    c.arr("grad_x", xg.grad)
    for k_, v_ in leaves.items():
        c.arr("grad." + k_, v_.grad)
    c.write()
    INDEX.append({"name": name, "kind": kind})


def main():
    torch.set_default_dtype(torch.float64)
    reset_dir(OUT)
    case("diff_causal_h2_depth0", "attention", e=32, heads=2, depth=0, causal=True, b=2, l=7)
    case("diff_bidirectional_h4_depth3", "attention", e=32, heads=4, depth=3, causal=False, b=1, l=6)
    case("diff_block_h2_depth1", "block", e=16, heads=2, depth=1, causal=True, b=2, l=5, ffn=24)
    write_index(OUT, INDEX)


if __name__ == "__main__":
    main()
