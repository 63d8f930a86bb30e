#!/usr/bin/python3
"""Extra PyTorch references for @attnkit/attention's MultiHeadAttention: torch options beyond the
main script (scripts/reference/attention.py): add_bias_kv, add_zero_attn, and dropout in eval mode.

Run:  /usr/bin/python3 packages/attention/scripts/reference_mha_extra.py
Writes packages/attention/test/fixtures/torch-extra/<case>/ (meta.json + .f32/.i32 + state_dict.safetensors)
and index.json, in the format of scripts/reference/_fixture.py (float64 math, stored as float32).
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts", "reference"))
from _fixture import Case, f32, randn, reset_dir, save_safetensors, seed_for, write_index  # noqa: E402

OUT = os.path.join(HERE, "..", "test", "fixtures", "torch-extra")
INDEX = []


def mha_case(name, e, h, b, lq, lk, self_attn=True, kdim=None, vdim=None, bias=True, add_bias_kv=False,
             add_zero_attn=False, dropout=0.0, kpm=None, attn_mask=None, average=True, note=None):
    torch.manual_seed(seed_for(name))
    mha = torch.nn.MultiheadAttention(e, h, dropout=dropout, bias=bias, add_bias_kv=add_bias_kv,
                                      add_zero_attn=add_zero_attn, kdim=kdim, vdim=vdim, batch_first=True)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(f32(p + 0.05 * torch.randn(p.shape)))
    mha.eval()
    q = randn(b, lq, e)
    if self_attn:
        k = v = q
    else:
        k = randn(b, lk, kdim or e)
        v = randn(b, lk, vdim or e)
    kp = kpm(b, lk) if kpm else None
    am = attn_mask(lq, lk) if attn_mask else None
    out, w = mha(q, k, v, key_padding_mask=kp, attn_mask=am, need_weights=True, average_attn_weights=average)
    c = Case(OUT, name)
    c.param("kind", "mha")
    c.param("torch", "torch.nn.MultiheadAttention(embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn, "
                     "kdim, vdim, batch_first=True), eval mode")
    for key, val in (("embed_dim", e), ("num_heads", h), ("kdim", kdim or e), ("vdim", vdim or e), ("bias", bias),
                     ("add_bias_kv", add_bias_kv), ("add_zero_attn", add_zero_attn), ("dropout", dropout),
                     ("self_attention", self_attn), ("need_weights", True), ("average_attn_weights", average)):
        c.param(key, val)
    sd = dict(mha.state_dict())
    save_safetensors(os.path.join(c.dir, "state_dict.safetensors"), sd, {"format": "pt"})
    c.param("state_dict", "state_dict.safetensors")
    c.param("state_dict_keys", {k_: list(t.shape) for k_, t in sd.items()})
    c.arr("query", q)
    c.arr("key", k)
    c.arr("value", v)
    if kp is not None:
        c.arr("key_padding_mask", kp.to(torch.int32))
    if am is not None:
        c.param("attn_mask_type", "bool" if am.dtype == torch.bool else "float")
        c.arr("attn_mask", am.to(torch.int32) if am.dtype == torch.bool else am)
    c.arr("output", out)
    c.arr("weights", w)
    c.param("conventions", "key_padding_mask: 1 = ignore; attn_mask bool: 1 = not allowed; float added. "
                           "add_bias_kv appends bias_k/bias_v as one extra key/value; add_zero_attn appends a "
                           "zero key/value per head after that; masks are padded with 'allowed' columns, so the "
                           "weights have Lk + add_bias_kv + add_zero_attn columns")
    if note:
        c.param("note", note)
    c.write()
    INDEX.append({"name": name, "kind": "mha"})


def main():
    reset_dir(OUT)

    def kpm(b, lk):
        m = torch.zeros(b, lk, dtype=torch.bool)
        m[-1, lk - 2:] = True
        return m

    def causal_bool(lq, lk):
        return ~torch.ones(lq, lk, dtype=torch.bool).tril(diagonal=lk - lq)

    def float_mask(lq, lk):
        return f32(torch.randn(lq, lk))

    mha_case("mha_add_bias_kv", 8, 2, 2, 4, 4, add_bias_kv=True, kpm=kpm, attn_mask=float_mask, average=False)
    mha_case("mha_add_zero_attn", 8, 2, 2, 5, 5, add_zero_attn=True, kpm=kpm, attn_mask=causal_bool)
    mha_case("mha_bias_kv_zero_attn_cross", 12, 3, 2, 3, 6, self_attn=False, kdim=5, vdim=7, add_bias_kv=True,
             add_zero_attn=True, kpm=kpm, average=False)
    mha_case("mha_dropout_eval", 8, 4, 1, 4, 4, dropout=0.3, note="dropout is off in eval mode")
    write_index(OUT, INDEX)
    print(f"wrote {len(INDEX)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
