#!/usr/bin/python3
"""PyTorch reference outputs for @attnkit/attention.

Run:  /usr/bin/python3 scripts/reference/attention.py
Writes packages/attention/test/fixtures/torch/<case>/ (meta.json + .f32/.i32 [+ .safetensors]) and index.json.
float64 math on float32-representable inputs, stored as float32; deterministic. Format: README.md here.

torch 1.13 has no F.scaled_dot_product_attention, so SDPA is written out below in float64 with the
semantics of torch 2.x SDPA (bool mask True = attend, float mask added to the scores) plus attnkit's
documented extensions: causal is aligned bottom-right (query i sees keys j <= i + Lk - Lq) and a query
row with no visible key gives zeros (torch would give NaN). nn.MultiheadAttention is torch's own module.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _fixture import REPO, Case, f32, randn, reset_dir, save_safetensors, seed_for, write_index  # noqa: E402

OUT = os.path.join(REPO, "packages", "attention", "test", "fixtures", "torch")
INDEX = []


def done(c, kind):
    c.write()
    INDEX.append({"name": c.name, "kind": kind})


# ---------------------------------------------------------------- SDPA
def causal_allowed(lq, lk):
    """Bottom-right aligned causal mask, True = attend: query i sees keys j <= i + lk - lq."""
    return torch.ones(lq, lk, dtype=torch.bool).tril(diagonal=lk - lq)


def sdpa(q, k, v, mask=None, causal=False, scale=None):
    """float64 SDPA; returns (output, weights). k/v may have fewer heads (repeated as HF repeat_kv)."""
    h, hkv = q.shape[-3], k.shape[-3]
    if hkv != h:
        k = k.repeat_interleave(h // hkv, dim=-3)
        v = v.repeat_interleave(h // hkv, dim=-3)
    lq, lk, d = q.shape[-2], k.shape[-2], q.shape[-1]
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(d) if scale is None else scale)
    allowed = torch.ones(s.shape, dtype=torch.bool)
    if causal:
        allowed = allowed & causal_allowed(lq, lk)
    if mask is not None:
        if mask.dtype == torch.bool:
            allowed = allowed & mask
        else:
            s = s + mask
    allowed = allowed & (s != float("-inf"))
    row_any = allowed.any(-1, keepdim=True)
    s = torch.where(allowed, s, torch.tensor(float("-inf")))
    s = torch.where(row_any, s, torch.zeros(()))  # fully masked rows: finite dummy scores, zeroed below
    w = torch.where(row_any, s.softmax(-1), torch.zeros(()))
    return w @ v, w


def sdpa_case(name, b, h, lq, lk, d, mask=None, causal=False, scale=None, hkv=None, note=None, grads=True):
    torch.manual_seed(seed_for(name))
    hkv = hkv or h
    q = randn(b, h, lq, d, scale=1.2).requires_grad_(grads)
    k = randn(b, hkv, lk, d, scale=1.2).requires_grad_(grads)
    v = randn(b, hkv, lk, d).requires_grad_(grads)
    m = mask(b, h, lq, lk) if callable(mask) else mask
    out, w = sdpa(q, k, v, m, causal, scale)
    c = Case(OUT, name)
    c.param("kind", "sdpa")
    c.param("causal", causal)
    c.param("scale", scale)
    c.param("effective_scale", 1.0 / math.sqrt(d) if scale is None else scale)
    c.param("num_heads", h)
    c.param("num_kv_heads", hkv)
    c.arr("q", q)
    c.arr("k", k)
    c.arr("v", v)
    if m is None:
        c.param("mask_type", None)
    elif m.dtype == torch.bool:
        c.param("mask_type", "bool")
        c.arr("mask", m.to(torch.int32))
    else:
        c.param("mask_type", "float")
        c.arr("mask", m)
    c.arr("output", out)
    c.arr("weights", w)
    if grads:
        g = randn(*out.shape)
        (out * g).sum().backward()
        c.arr("grad_output", g)
        c.arr("grad_q", q.grad)
        c.arr("grad_k", k.grad)
        c.arr("grad_v", v.grad)
    if note:
        c.param("note", note)
    done(c, "sdpa")


def sdpa_cases():
    sdpa_case("sdpa_plain", 2, 3, 5, 7, 8)
    sdpa_case("sdpa_custom_scale", 1, 2, 4, 6, 8, scale=0.3)
    sdpa_case("sdpa_causal_square", 2, 2, 6, 6, 8, causal=True, note="same as torch is_causal=True when Lq == Lk")
    sdpa_case("sdpa_causal_lq_lt_lk", 1, 2, 3, 8, 8, causal=True,
              note="bottom-right aligned: query i sees keys j <= i + Lk - Lq (KV-cache decoding)")
    sdpa_case("sdpa_causal_single_query", 2, 2, 1, 6, 4, causal=True, note="Lq = 1 sees every key")
    sdpa_case("sdpa_causal_lq_gt_lk", 1, 1, 5, 3, 4, causal=True,
              note="bottom-right aligned with Lq > Lk: rows i < Lq - Lk see no key and give zeros")

    def bool_2d(b, h, lq, lk):
        m = torch.rand(lq, lk) > 0.35
        m[:, 0] = True  # every row keeps at least one key
        return m

    sdpa_case("sdpa_bool_mask_lq_lk", 2, 2, 4, 6, 8, mask=bool_2d,
              note="bool mask [Lq, Lk] broadcast to [B, H, Lq, Lk]; 1 = attend")

    def key_padding(b, h, lq, lk):
        m = torch.ones(b, 1, 1, lk, dtype=torch.bool)
        m[0, ..., lk - 2:] = False
        m[1, ..., lk - 4:] = False
        return m

    sdpa_case("sdpa_bool_mask_key_padding", 2, 3, 5, 6, 4, mask=key_padding,
              note="bool mask [B, 1, 1, Lk] (padding) broadcast to [B, H, Lq, Lk]; 1 = attend")

    def float_mask(b, h, lq, lk):
        m = f32(torch.randn(b, 1, lq, lk) * 2.0)
        m[0, 0, 1, 2] = float("-inf")
        m[1, 0, 3, 0] = float("-inf")
        return m

    sdpa_case("sdpa_float_mask", 2, 2, 4, 5, 8, mask=float_mask,
              note="additive float mask [B, 1, Lq, Lk] (contains a few -inf) added to the scaled scores")

    def float_mask_full(b, h, lq, lk):
        return f32(torch.randn(b, h, lq, lk))

    sdpa_case("sdpa_float_mask_full_shape", 1, 2, 3, 4, 4, mask=float_mask_full,
              note="additive float mask of full shape [B, H, Lq, Lk]")

    def bool_with_empty_row(b, h, lq, lk):
        m = torch.rand(lq, lk) > 0.3
        m[:, 1] = True
        m[2, :] = False  # query 2 sees nothing
        return m

    sdpa_case("sdpa_fully_masked_row", 1, 2, 4, 5, 4, mask=bool_with_empty_row,
              note="row 2 of the bool mask is all false: its output and weights are zeros (not NaN); grads too")

    def causal_plus_padding(b, h, lq, lk):
        m = torch.ones(b, 1, 1, lk, dtype=torch.bool)
        m[1, ..., :2] = False  # left padding on the second sequence
        return m

    sdpa_case("sdpa_causal_and_bool_mask", 2, 2, 5, 5, 4, mask=causal_plus_padding, causal=True,
              note="causal AND a [B,1,1,Lk] bool mask (left padding): a key is visible only if both allow it "
                   "(torch 2.x SDPA refuses both at once; this is attnkit's combination); rows with no "
                   "visible key give zeros")

    def sliding(b, h, lq, lk, window=3):
        i = torch.arange(lq)[:, None] + (lk - lq)
        j = torch.arange(lk)[None, :]
        return (j <= i) & (j > i - window)

    sdpa_case("sdpa_sliding_window_3", 1, 2, 7, 7, 4, mask=sliding,
              note="sliding window 3 as an explicit bool mask: query i sees keys j with i - 3 < j <= i "
                   "(Mistral convention: the window counts the query's own position)")
    # grouped-query / multi-query: k and v have fewer heads, repeated as HF repeat_kv
    sdpa_case("sdpa_gqa_h4_kv2_causal", 2, 4, 5, 5, 8, causal=True, hkv=2,
              note="grouped-query: query head h uses kv head h // (num_heads / num_kv_heads) (HF repeat_kv)")
    sdpa_case("sdpa_mqa_h4_kv1", 1, 4, 3, 6, 8, hkv=1, note="multi-query: one kv head shared by all heads")


# ---------------------------------------------------------------- nn.MultiheadAttention
def _check_sdpa_against_mha(mha, q, k, v, kp, am, average, out, w):
    """Self-check: the hand-written sdpa() above reproduces torch's own MHA attention math."""
    e, h = mha.embed_dim, mha.num_heads
    d = e // h
    sd = mha.state_dict()
    if "in_proj_weight" in sd:
        wq, wk, wv = sd["in_proj_weight"].split(e)
    else:
        wq, wk, wv = sd["q_proj_weight"], sd["k_proj_weight"], sd["v_proj_weight"]
    bq, bk, bv = sd["in_proj_bias"].split(e) if "in_proj_bias" in sd else (0.0, 0.0, 0.0)
    b, lq, lk = q.shape[0], q.shape[1], k.shape[1]

    def heads(t, n):
        return t.view(b, n, h, d).transpose(1, 2)

    mask = torch.zeros(b, h, lq, lk)
    if kp is not None:
        mask = mask.masked_fill(kp[:, None, None, :], float("-inf"))
    if am is not None:
        add = torch.zeros(am.shape).masked_fill(am, float("-inf")) if am.dtype == torch.bool else am
        mask = mask + (add.view(b, h, lq, lk) if add.dim() == 3 else add)
    o, ww = sdpa(heads(q @ wq.T + bq, lq), heads(k @ wk.T + bk, lk), heads(v @ wv.T + bv, lk), mask=mask)
    o = o.transpose(1, 2).reshape(b, lq, e) @ sd["out_proj.weight"].T + sd.get("out_proj.bias", 0.0)
    assert torch.allclose(o, out, atol=1e-12), "sdpa() disagrees with torch MHA output"
    assert torch.allclose(ww.mean(1) if average else ww, w, atol=1e-12), "sdpa() disagrees with torch MHA weights"


def mha_case(name, e, h, b, lq, lk, self_attn=True, kdim=None, vdim=None, bias=True, kpm=None, attn_mask=None,
             average=True, note=None):
    torch.manual_seed(seed_for(name))
    mha = torch.nn.MultiheadAttention(e, h, bias=bias, batch_first=True, kdim=kdim, vdim=vdim)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(f32(p + 0.05 * torch.randn(p.shape)))  # also make the zero-initialised biases non-trivial
    q = randn(b, lq, e)
    if self_attn:
        k = v = q
    else:
        k = randn(b, lk, kdim or e)
        v = randn(b, lk, vdim or e)
    kp = kpm(b, lk) if kpm else None
    am = attn_mask(lq, lk, b * h) if attn_mask else None
    out, w = mha(q, k, v, key_padding_mask=kp, attn_mask=am, need_weights=True, average_attn_weights=average)
    _check_sdpa_against_mha(mha, q, k, v, kp, am, average, out, w)
    c = Case(OUT, name)
    c.param("kind", "mha")
    c.param("torch", "torch.nn.MultiheadAttention(embed_dim, num_heads, bias=bias, batch_first=True, kdim=kdim, "
                     "vdim=vdim), training mode, dropout 0")
    c.param("embed_dim", e)
    c.param("num_heads", h)
    c.param("kdim", kdim or e)
    c.param("vdim", vdim or e)
    c.param("bias", bias)
    c.param("self_attention", self_attn)
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
    c.param("need_weights", True)
    c.param("average_attn_weights", average)
    c.arr("output", out)
    c.arr("weights", w)
    c.param("conventions", "key_padding_mask: 1 = ignore that key (torch). attn_mask bool: 1 = NOT allowed "
                           "(torch MHA convention, the opposite of SDPA's); float attn_mask is added to the scores. "
                           "weights: [B, Lq, Lk] averaged over heads, or [B, H, Lq, Lk] per head")
    if note:
        c.param("note", note)
    done(c, "mha")


def mha_cases():
    def kpm(b, lk):
        m = torch.zeros(b, lk, dtype=torch.bool)
        m[-1, lk - 2:] = True
        if b > 2:
            m[1, 1] = True  # not key 0: with the causal mask, query 0 must keep a key (torch gives NaN otherwise)
        return m

    def causal_bool(lq, lk, _):
        return ~causal_allowed(lq, lk)  # torch MHA: True = masked out

    def float_mask(lq, lk, _):
        return f32(torch.randn(lq, lk))

    def mask3d(lq, lk, bh):
        m = f32(torch.randn(bh, lq, lk))
        m[0, 1, 0] = float("-inf")
        return m

    mha_case("mha_self_key_padding", 16, 2, 2, 5, 5, kpm=kpm)
    mha_case("mha_self_kpm_causal_bool_mask", 12, 3, 3, 6, 6, kpm=kpm, attn_mask=causal_bool,
             note="self-attention with key_padding_mask and a causal bool attn_mask [L, L] (True = masked)")
    mha_case("mha_self_float_mask_per_head_weights", 8, 2, 2, 4, 4, attn_mask=float_mask, average=False)
    mha_case("mha_self_3d_float_mask", 8, 2, 2, 3, 3, attn_mask=mask3d, kpm=kpm,
             note="attn_mask of shape [B * num_heads, Lq, Lk] (torch's 3-D form; index b * H + h)")
    mha_case("mha_cross", 16, 4, 2, 3, 7, self_attn=False, kpm=kpm, average=True)
    mha_case("mha_cross_per_head_weights", 16, 4, 2, 3, 7, self_attn=False, kpm=kpm, average=False)
    mha_case("mha_cross_kdim_vdim", 8, 2, 2, 4, 6, self_attn=False, kdim=6, vdim=10, kpm=kpm, average=False,
             note="kdim/vdim != embed_dim: torch stores separate q_proj_weight, k_proj_weight, v_proj_weight "
                  "(no in_proj_weight) plus in_proj_bias")
    mha_case("mha_no_bias", 8, 2, 1, 4, 4, bias=False, note="bias=False: no in_proj_bias and no out_proj.bias")


def gqa_module_case():
    """HF Llama-style attention block without RoPE: q/k/v/o projections (no bias), causal, repeat_kv."""
    name = "gqa_module_h4_kv2"
    torch.manual_seed(seed_for(name))
    b, l, e, h, kv = 2, 5, 16, 4, 2
    d = e // h
    w = {"q_proj.weight": randn(h * d, e, scale=0.3), "k_proj.weight": randn(kv * d, e, scale=0.3),
         "v_proj.weight": randn(kv * d, e, scale=0.3), "o_proj.weight": randn(e, h * d, scale=0.3)}
    x = randn(b, l, e)
    q = (x @ w["q_proj.weight"].T).view(b, l, h, d).transpose(1, 2)
    k = (x @ w["k_proj.weight"].T).view(b, l, kv, d).transpose(1, 2)
    v = (x @ w["v_proj.weight"].T).view(b, l, kv, d).transpose(1, 2)
    o, _ = sdpa(q, k, v, causal=True)
    out = o.transpose(1, 2).reshape(b, l, h * d) @ w["o_proj.weight"].T
    c = Case(OUT, name)
    c.param("kind", "gqa_module")
    c.param("description", "HF LlamaAttention without RoPE: q = x Wq^T, k = x Wk^T, v = x Wv^T split into heads "
                           "(head_dim = hidden / num_heads), kv heads repeated (head h uses kv head "
                           "h // (num_heads / num_kv_heads)), causal softmax(q k^T / sqrt(head_dim)) v, "
                           "heads concatenated, then o_proj")
    c.param("hidden_size", e)
    c.param("num_heads", h)
    c.param("num_key_value_heads", kv)
    c.param("head_dim", d)
    c.param("causal", True)
    save_safetensors(os.path.join(c.dir, "weights.safetensors"), w, {"format": "pt"})
    c.param("weights", "weights.safetensors")
    c.param("weight_keys", {k_: list(t.shape) for k_, t in w.items()})
    c.arr("hidden_states", x)
    c.arr("q", q)
    c.arr("k", k)
    c.arr("v", v)
    c.arr("output", out)
    done(c, "gqa_module")


# ---------------------------------------------------------------- RoPE
def rope_case(name, layout, theta, offset, b=1, h=2, l=5, d=8, rotary_dim=None, positions=None):
    torch.manual_seed(seed_for(name))
    rd = rotary_dim or d
    x = randn(b, h, l, d)
    pos = torch.arange(l) + offset if positions is None else torch.tensor(positions)
    inv_freq = 1.0 / (theta ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    ang = pos.to(torch.float64)[:, None] * inv_freq[None, :]  # [L, rd/2]
    cos, sin = ang.cos(), ang.sin()
    xr, xp = x[..., :rd], x[..., rd:]
    if layout == "rotate_half":
        c2, s2 = torch.cat((cos, cos), -1), torch.cat((sin, sin), -1)
        x1, x2 = xr[..., : rd // 2], xr[..., rd // 2:]
        rot = torch.cat((-x2, x1), -1)
        yr = xr * c2 + rot * s2
    else:  # GPT-J interleaved: pairs (2i, 2i+1) rotate by angle i
        c2, s2 = cos.repeat_interleave(2, -1), sin.repeat_interleave(2, -1)
        rot = torch.stack((-xr[..., 1::2], xr[..., 0::2]), -1).flatten(-2)
        yr = xr * c2 + rot * s2
    y = torch.cat((yr, xp), -1)
    c = Case(OUT, name)
    c.param("kind", "rope")
    c.param("layout", layout)
    c.param("theta", theta)
    c.param("offset", offset if positions is None else None)
    c.param("head_dim", d)
    c.param("rotary_dim", rd)
    c.param("formula", "inv_freq[i] = 1 / theta^(2i / rotary_dim), angle[p, i] = positions[p] * inv_freq[i]; "
                       + ("rotate_half (HF Llama/NeoX): x1 = x[:rd/2], x2 = x[rd/2:rd]; "
                          "y = x * cat(cos, cos) + cat(-x2, x1) * cat(sin, sin)"
                          if layout == "rotate_half" else
                          "interleaved (GPT-J): y[2i] = x[2i] cos_i - x[2i+1] sin_i, "
                          "y[2i+1] = x[2i+1] cos_i + x[2i] sin_i")
                       + "; dims >= rotary_dim pass through unchanged")
    c.arr("positions", pos)
    c.arr("inv_freq", inv_freq)
    c.arr("cos", cos)
    c.arr("sin", sin)
    c.arr("x", x)
    c.arr("output", y)
    done(c, "rope")


def rope_cases():
    rope_case("rope_rotate_half_theta1e4_offset0", "rotate_half", 10000.0, 0)
    rope_case("rope_rotate_half_theta1e4_offset7", "rotate_half", 10000.0, 7, b=2, h=3, l=4, d=16)
    rope_case("rope_rotate_half_theta5e5_offset3", "rotate_half", 500000.0, 3, l=6, d=8)
    rope_case("rope_interleaved_theta1e4_offset0", "interleaved", 10000.0, 0)
    rope_case("rope_interleaved_theta1e4_offset7", "interleaved", 10000.0, 7, b=2, h=3, l=4, d=16)
    rope_case("rope_interleaved_theta5e5_offset3", "interleaved", 500000.0, 3, l=6, d=8)
    rope_case("rope_rotate_half_partial_rd4", "rotate_half", 10000.0, 2, d=8, rotary_dim=4)
    rope_case("rope_interleaved_partial_rd4", "interleaved", 10000.0, 2, d=8, rotary_dim=4)
    rope_case("rope_rotate_half_explicit_positions", "rotate_half", 10000.0, 0, l=5, d=8,
              positions=[0, 0, 1, 2, 9])


# ---------------------------------------------------------------- ALiBi
def alibi_slopes(n):
    """Press et al. / HF BLOOM build_alibi_tensor slopes, including the non-power-of-2 rule."""
    cp = 2 ** math.floor(math.log2(n))
    base = 2.0 ** (-(2.0 ** -(math.log2(cp) - 3)))
    slopes = [base ** p for p in range(1, cp + 1)]
    if cp != n:
        extra_base = 2.0 ** (-(2.0 ** -(math.log2(2 * cp) - 3)))
        rem = min(cp, n - cp)
        slopes += [extra_base ** p for p in range(1, 1 + 2 * rem, 2)]
    return torch.tensor(slopes, dtype=torch.float64)


def alibi_cases():
    for n in (1, 2, 6, 8, 12, 16, 20):
        c = Case(OUT, f"alibi_slopes_{n}")
        c.param("kind", "alibi_slopes")
        c.param("num_heads", n)
        s = alibi_slopes(n)
        c.param("slopes_values", s.tolist())
        c.arr("slopes", s)
        c.param("formula", "p = 2^floor(log2 n); slopes = r^1..r^p with r = 2^(-8/p); if p < n append "
                           "r2^1, r2^3, ..., r2^(2(n-p)-1) with r2 = 2^(-8/(2p)) (HF BLOOM build_alibi_tensor)")
        done(c, "alibi_slopes")

    def biased(name, b, h, lq, lk, d):
        torch.manual_seed(seed_for(name))
        q, k, v = randn(b, h, lq, d), randn(b, h, lk, d), randn(b, h, lk, d)
        slopes = alibi_slopes(h)
        qpos = torch.arange(lq) + (lk - lq)
        rel = (torch.arange(lk)[None, :] - qpos[:, None]).to(torch.float64)  # j - i (<= 0 where visible)
        bias = slopes[:, None, None] * rel[None]  # [H, Lq, Lk]
        out, w = sdpa(q, k, v, mask=bias, causal=True)
        c = Case(OUT, name)
        c.param("kind", "alibi_attention")
        c.param("num_heads", h)
        c.param("causal", True)
        c.param("formula", "bias[h, i, j] = slopes[h] * (j - (i + Lk - Lq)) added to q k^T / sqrt(d), causal "
                           "bottom-right; equal (after softmax) to BLOOM's slopes[h] * j form under the causal mask")
        c.arr("q", q)
        c.arr("k", k)
        c.arr("v", v)
        c.arr("slopes", slopes)
        c.arr("bias", bias)
        c.arr("output", out)
        c.arr("weights", w)
        done(c, "alibi_attention")

    biased("alibi_attention_h8", 1, 8, 6, 6, 4)
    biased("alibi_attention_h12_lq_lt_lk", 2, 12, 3, 7, 4)


# ---------------------------------------------------------------- sinusoidal
def sinusoidal_case(max_len, d_model):
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float64)[None, :]
    ang = pos / (10000.0 ** (i / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = ang.sin()
    pe[:, 1::2] = ang.cos()
    c = Case(OUT, f"sinusoidal_{max_len}_{d_model}")
    c.param("kind", "sinusoidal")
    c.param("max_len", max_len)
    c.param("d_model", d_model)
    c.param("formula", "PE[pos, 2i] = sin(pos / 10000^(2i/d_model)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d_model))")
    c.arr("pe", pe)
    done(c, "sinusoidal")


if __name__ == "__main__":
    reset_dir(OUT)
    sdpa_cases()
    mha_cases()
    gqa_module_case()
    rope_cases()
    alibi_cases()
    sinusoidal_case(50, 16)
    sinusoidal_case(12, 6)
    write_index(OUT, INDEX)
    print(f"wrote {len(INDEX)} cases to {os.path.relpath(OUT, REPO)}")
