#!/usr/bin/python3
"""Reference outputs for @attnkit/diffusion models: tiny UNet2DModel, UNet2DConditionModel and
AutoencoderKL, re-implemented in plain torch (float64) with diffusers' module structure and
parameter names, written from reading diffusers' source (models/unets/unet_2d.py,
unet_2d_condition.py, unet_2d_blocks.py, resnet.py, embeddings.py, attention.py,
attention_processor.py, transformers/transformer_2d.py, autoencoders/autoencoder_kl.py, vae.py).
torch 1.13 ships no diffusers, hence the re-implementation.

Run:  /usr/bin/python3 scripts/reference/diffusion_models.py
Writes packages/diffusion/test/fixtures/models/<case>/ with config.json (diffusers layout,
snake_case), diffusion_pytorch_model.safetensors (F32, diffusers' parameter names), meta.json and
.f32 arrays (format of _fixture.py). Weights are random (seeded), rounded to float32; the forward
runs in float64 on those float32 values, so a float32 implementation differs only by its own rounding.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

from _fixture import REPO, Case, f32, reset_dir, seed_for

torch.set_default_dtype(torch.float64)
OUT = os.path.join(REPO, "packages", "diffusion", "test", "fixtures", "models")


# ---------------------------------------------------------------- building blocks (diffusers' names)
def get_timestep_embedding(timesteps, dim, flip_sin_to_cos=False, downscale_freq_shift=1, scale=1, max_period=10000):
    # diffusers computes this in float32, then casts to the model dtype
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half, dtype=torch.float32)
    exponent = exponent / (half - downscale_freq_shift)
    emb = torch.exp(exponent)
    emb = timesteps[:, None].float() * emb[None, :]
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb.double()


class TimestepEmbedding(nn.Module):
    def __init__(self, in_channels, time_embed_dim):
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, time_embed_dim)
        self.linear_2 = nn.Linear(time_embed_dim, time_embed_dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, temb_channels, groups, eps, time_embedding_norm="default",
                 output_scale_factor=1.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_embedding_norm = time_embedding_norm
        if temb_channels is not None:
            self.time_emb_proj = nn.Linear(temb_channels, out_channels * (2 if time_embedding_norm == "scale_shift" else 1))
        else:
            self.time_emb_proj = None
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None
        self.output_scale_factor = output_scale_factor

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        t = None
        if self.time_emb_proj is not None and temb is not None:
            t = self.time_emb_proj(F.silu(temb))[:, :, None, None]
        if self.time_embedding_norm == "default":
            if t is not None:
                h = h + t
            h = self.norm2(h)
        else:
            h = self.norm2(h)
            scale, shift = torch.chunk(t, 2, dim=1)
            h = h * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return (x + h) / self.output_scale_factor


class Downsample2D(nn.Module):
    def __init__(self, channels, padding=1):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1), mode="constant", value=0)
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, output_size=None):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest") if output_size is None else F.interpolate(x, size=output_size, mode="nearest")
        return self.conv(x)


class Attention(nn.Module):
    """diffusers' Attention + AttnProcessor (residual/group_norm variants used by the U-Net and VAE)."""

    def __init__(self, query_dim, heads, dim_head, cross_attention_dim=None, bias=False, norm_num_groups=None, eps=1e-5,
                 residual_connection=False, rescale_output_factor=1.0):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.dim_head = heads, dim_head
        self.group_norm = nn.GroupNorm(norm_num_groups, query_dim, eps=eps) if norm_num_groups else None
        kv = cross_attention_dim or query_dim
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(kv, inner, bias=bias)
        self.to_v = nn.Linear(kv, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim, bias=True), nn.Dropout(0.0)])
        self.residual_connection = residual_connection
        self.rescale_output_factor = rescale_output_factor

    def forward(self, hidden_states, encoder_hidden_states=None):
        residual = hidden_states
        ndim = hidden_states.ndim
        if ndim == 4:
            b, c, hh, ww = hidden_states.shape
            hidden_states = hidden_states.view(b, c, hh * ww).transpose(1, 2)
        b, L, _ = hidden_states.shape
        if self.group_norm is not None:
            hidden_states = self.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        ctx = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        q = self.to_q(hidden_states).view(b, -1, self.heads, self.dim_head).transpose(1, 2)
        k = self.to_k(ctx).view(b, -1, self.heads, self.dim_head).transpose(1, 2)
        v = self.to_v(ctx).view(b, -1, self.heads, self.dim_head).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) * self.dim_head ** -0.5, dim=-1)
        o = (w @ v).transpose(1, 2).reshape(b, -1, self.heads * self.dim_head)
        o = self.to_out[0](o)
        if ndim == 4:
            o = o.transpose(-1, -2).reshape(b, c, hh, ww)
        if self.residual_connection:
            o = o + residual
        return o / self.rescale_output_factor


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        inner = int(dim * mult)
        self.net = nn.ModuleList([GEGLU(dim, inner), nn.Dropout(0.0), nn.Linear(inner, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, head_dim, cross_attention_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads, head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, head_dim, cross_attention_dim=cross_attention_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, enc):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), enc) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    def __init__(self, heads, head_dim, in_channels, cross_attention_dim, norm_num_groups, use_linear_projection, num_layers=1):
        super().__init__()
        inner = heads * head_dim
        self.use_linear = use_linear_projection
        self.norm = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        self.proj_in = nn.Linear(in_channels, inner) if use_linear_projection else nn.Conv2d(in_channels, inner, 1)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, heads, head_dim, cross_attention_dim) for _ in range(num_layers)])
        self.proj_out = nn.Linear(inner, in_channels) if use_linear_projection else nn.Conv2d(inner, in_channels, 1)

    def forward(self, x, enc):
        b, _, h, w = x.shape
        res = x
        x = self.norm(x)
        if not self.use_linear:
            x = self.proj_in(x)
            inner = x.shape[1]
            x = x.permute(0, 2, 3, 1).reshape(b, h * w, inner)
        else:
            inner = x.shape[1]
            x = self.proj_in(x.permute(0, 2, 3, 1).reshape(b, h * w, inner))
            inner = x.shape[2]
        for blk in self.transformer_blocks:
            x = blk(x, enc)
        if not self.use_linear:
            x = self.proj_out(x.reshape(b, h, w, inner).permute(0, 3, 1, 2).contiguous())
        else:
            x = self.proj_out(x).reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
        return x + res


class DownBlock(nn.Module):
    """DownBlock2D / AttnDownBlock2D / CrossAttnDownBlock2D / DownEncoderBlock2D."""

    def __init__(self, kind, num_layers, in_c, out_c, temb, groups, eps, add_down, down_pad=1, head_dim=None,
                 heads=None, cross_dim=None, use_linear=False, tsn="default"):
        super().__init__()
        self.kind = kind
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(in_c if i == 0 else out_c, out_c, temb, groups, eps, tsn) for i in range(num_layers)])
        if kind == "AttnDownBlock2D":
            hd = head_dim or out_c
            self.attentions = nn.ModuleList([Attention(out_c, out_c // hd, hd, bias=True, norm_num_groups=groups, eps=eps,
                                                       residual_connection=True) for _ in range(num_layers)])
        elif kind == "CrossAttnDownBlock2D":
            self.attentions = nn.ModuleList([Transformer2DModel(heads, out_c // heads, out_c, cross_dim, groups, use_linear)
                                             for _ in range(num_layers)])
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(out_c, down_pad)]) if add_down else None

    def forward(self, x, temb=None, enc=None):
        out = ()
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if self.attentions is not None:
                a = self.attentions[i]
                x = a(x, enc) if isinstance(a, Transformer2DModel) else a(x)
            out += (x,)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            out += (x,)
        return x, out


class UpBlock(nn.Module):
    """UpBlock2D / AttnUpBlock2D / CrossAttnUpBlock2D / UpDecoderBlock2D."""

    def __init__(self, kind, num_layers, in_c, out_c, prev_c, temb, groups, eps, add_up, head_dim=None, heads=None,
                 cross_dim=None, use_linear=False, tsn="default"):
        super().__init__()
        self.kind = kind
        rs = []
        for i in range(num_layers):
            if kind == "UpDecoderBlock2D":
                rin = in_c if i == 0 else out_c
            else:
                skip = in_c if i == num_layers - 1 else out_c
                rin = (prev_c if i == 0 else out_c) + skip
            rs.append(ResnetBlock2D(rin, out_c, temb, groups, eps, tsn))
        self.resnets = nn.ModuleList(rs)
        if kind == "AttnUpBlock2D":
            hd = head_dim or out_c
            self.attentions = nn.ModuleList([Attention(out_c, out_c // hd, hd, bias=True, norm_num_groups=groups, eps=eps,
                                                       residual_connection=True) for _ in range(num_layers)])
        elif kind == "CrossAttnUpBlock2D":
            self.attentions = nn.ModuleList([Transformer2DModel(heads, out_c // heads, out_c, cross_dim, groups, use_linear)
                                             for _ in range(num_layers)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(out_c)]) if add_up else None

    def forward(self, x, res=(), temb=None, enc=None, upsample_size=None):
        for i, r in enumerate(self.resnets):
            if self.kind != "UpDecoderBlock2D":
                x = torch.cat([x, res[-1]], dim=1)
                res = res[:-1]
            x = r(x, temb)
            if self.attentions is not None:
                a = self.attentions[i]
                x = a(x, enc) if isinstance(a, Transformer2DModel) else a(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, upsample_size)
        return x


class MidBlock(nn.Module):
    def __init__(self, c, temb, groups, eps, cross=False, head_dim=None, heads=None, cross_dim=None, use_linear=False,
                 tsn="default"):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb, groups, eps, tsn), ResnetBlock2D(c, c, temb, groups, eps, tsn)])
        if cross:
            self.attentions = nn.ModuleList([Transformer2DModel(heads, c // heads, c, cross_dim, groups, use_linear)])
        else:
            hd = head_dim or c
            # diffusers: attn_groups = resnet_groups only with the default time-embedding norm
            self.attentions = nn.ModuleList([Attention(c, c // hd, hd, bias=True,
                                                       norm_num_groups=groups if tsn == "default" else None, eps=eps,
                                                       residual_connection=True)])

    def forward(self, x, temb=None, enc=None):
        x = self.resnets[0](x, temb)
        a = self.attentions[0]
        x = a(x, enc) if isinstance(a, Transformer2DModel) else a(x)
        return self.resnets[1](x, temb)


class UNet2DModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        boc = cfg["block_out_channels"]
        ted = boc[0] * 4
        g, eps, tsn = cfg["norm_num_groups"], cfg.get("norm_eps", 1e-5), cfg.get("resnet_time_scale_shift", "default")
        hd = cfg.get("attention_head_dim", 8)
        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], ted)
        self.class_embedding = nn.Embedding(cfg["num_class_embeds"], ted) if cfg.get("num_class_embeds") else None
        self.down_blocks = nn.ModuleList()
        out = boc[0]
        for i, t in enumerate(cfg["down_block_types"]):
            inc, out = out, boc[i]
            self.down_blocks.append(DownBlock(t, cfg["layers_per_block"], inc, out, ted, g, eps, i != len(boc) - 1,
                                              head_dim=hd, tsn=tsn))
        self.mid_block = MidBlock(boc[-1], ted, g, eps, head_dim=hd, tsn=tsn)
        rev = list(reversed(boc))
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, t in enumerate(cfg["up_block_types"]):
            prev, out = out, rev[i]
            inc = rev[min(i + 1, len(boc) - 1)]
            self.up_blocks.append(UpBlock(t, cfg["layers_per_block"] + 1, inc, out, prev, ted, g, eps, i != len(boc) - 1,
                                          head_dim=hd, tsn=tsn))
        self.conv_norm_out = nn.GroupNorm(g, boc[0], eps=eps)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, padding=1)

    def forward(self, sample, timesteps, class_labels=None):
        c = self.cfg
        emb = get_timestep_embedding(timesteps, c["block_out_channels"][0], c.get("flip_sin_to_cos", True), c.get("freq_shift", 0))
        emb = self.time_embedding(emb)
        if self.class_embedding is not None:
            emb = emb + self.class_embedding(class_labels)
        x = self.conv_in(sample)
        res = (x,)
        for b in self.down_blocks:
            x, r = b(x, emb)
            res += r
        x = self.mid_block(x, emb)
        for b in self.up_blocks:
            n = len(b.resnets)
            r, res = res[-n:], res[:-n]
            x = b(x, r, emb)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        boc = cfg["block_out_channels"]
        n = len(boc)
        ted = boc[0] * 4
        g, eps = cfg["norm_num_groups"], cfg.get("norm_eps", 1e-5)
        heads = cfg["attention_head_dim"]  # diffusers: num_attention_heads = attention_head_dim
        heads = heads if isinstance(heads, list) else [heads] * n
        cross, lin = cfg["cross_attention_dim"], cfg.get("use_linear_projection", False)
        lpb = cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], ted)
        self.down_blocks = nn.ModuleList()
        out = boc[0]
        for i, t in enumerate(cfg["down_block_types"]):
            inc, out = out, boc[i]
            self.down_blocks.append(DownBlock(t, lpb, inc, out, ted, g, eps, i != n - 1, heads=heads[i], cross_dim=cross,
                                              use_linear=lin))
        self.mid_block = MidBlock(boc[-1], ted, g, eps, cross=True, heads=heads[-1], cross_dim=cross, use_linear=lin)
        rev, rh = list(reversed(boc)), list(reversed(heads))
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, t in enumerate(cfg["up_block_types"]):
            prev, out = out, rev[i]
            inc = rev[min(i + 1, n - 1)]
            self.up_blocks.append(UpBlock(t, lpb + 1, inc, out, prev, ted, g, eps, i != n - 1, heads=rh[i], cross_dim=cross,
                                          use_linear=lin))
        self.conv_norm_out = nn.GroupNorm(g, boc[0], eps=eps)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, padding=1)

    def forward(self, sample, timesteps, enc):
        c = self.cfg
        n_up = sum(1 for b in self.up_blocks if b.upsamplers is not None)
        f = 2 ** n_up
        fwd_size = any(s % f != 0 for s in sample.shape[-2:])
        emb = self.time_embedding(get_timestep_embedding(timesteps, c["block_out_channels"][0], True, 0))
        x = self.conv_in(sample)
        res = (x,)
        for b in self.down_blocks:
            x, r = b(x, emb, enc)
            res += r
        x = self.mid_block(x, emb, enc)
        for i, b in enumerate(self.up_blocks):
            last = i == len(self.up_blocks) - 1
            k = len(b.resnets)
            r, res = res[-k:], res[:-k]
            size = res[-1].shape[2:] if (not last and fwd_size) else None
            x = b(x, r, emb, enc, size)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        boc, g, L = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["latent_channels"]
        lpb = cfg["layers_per_block"]
        enc = nn.Module()
        enc.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, padding=1)
        enc.down_blocks = nn.ModuleList()
        out = boc[0]
        for i, t in enumerate(cfg["down_block_types"]):
            inc, out = out, boc[i]
            enc.down_blocks.append(DownBlock(t, lpb, inc, out, None, g, 1e-6, i != len(boc) - 1, down_pad=0))
        enc.mid_block = MidBlock(boc[-1], None, g, 1e-6, head_dim=boc[-1])
        enc.conv_norm_out = nn.GroupNorm(g, boc[-1], eps=1e-6)
        enc.conv_out = nn.Conv2d(boc[-1], 2 * L, 3, padding=1)
        self.encoder = enc
        dec = nn.Module()
        dec.conv_in = nn.Conv2d(L, boc[-1], 3, padding=1)
        dec.mid_block = MidBlock(boc[-1], None, g, 1e-6, head_dim=boc[-1])
        dec.up_blocks = nn.ModuleList()
        rev = list(reversed(boc))
        out = rev[0]
        for i, t in enumerate(cfg["up_block_types"]):
            prev, out = out, rev[i]
            dec.up_blocks.append(UpBlock(t, lpb + 1, prev, out, None, None, g, 1e-6, i != len(boc) - 1))
        dec.conv_norm_out = nn.GroupNorm(g, boc[0], eps=1e-6)
        dec.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, padding=1)
        self.decoder = dec
        self.quant_conv = nn.Conv2d(2 * L, 2 * L, 1)
        self.post_quant_conv = nn.Conv2d(L, L, 1)

    def encode(self, x):
        e = self.encoder
        h = e.conv_in(x)
        for b in e.down_blocks:
            h, _ = b(h)
        h = e.mid_block(h)
        h = e.conv_out(F.silu(e.conv_norm_out(h)))
        return self.quant_conv(h)

    def decode(self, z):
        d = self.decoder
        h = d.conv_in(self.post_quant_conv(z))
        h = d.mid_block(h)
        for b in d.up_blocks:
            h = b(h)
        return d.conv_out(F.silu(d.conv_norm_out(h)))


# ---------------------------------------------------------------- writing
def write_safetensors(path, state):
    """Minimal safetensors writer (F32, sorted keys, 8-byte aligned header)."""
    header, blobs, off = {}, [], 0
    for k in sorted(state):
        t = state[k].detach().to(torch.float32).contiguous()
        b = t.numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def init_random(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm3.weight") or \
                    "norm" in name.split(".")[-2] and name.endswith("weight"):
                p.copy_(f32(1 + 0.2 * torch.randn(p.shape, generator=gen)))
            else:
                fan_in = p[0].numel() if p.ndim > 1 else 4
                p.copy_(f32(torch.randn(p.shape, generator=gen) * (1.0 / math.sqrt(fan_in))))


def start(name, class_name, cfg, model):
    gen = torch.Generator().manual_seed(seed_for(name))
    init_random(model, gen)
    c = Case(OUT, name)
    with open(os.path.join(c.dir, "config.json"), "w") as f:
        json.dump({"_class_name": class_name, "_diffusers_version": "0.30.0", **cfg}, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(c.dir, "diffusion_pytorch_model.safetensors"), model.state_dict())
    c.param("class_name", class_name)
    c.param("num_parameters", sum(p.numel() for p in model.parameters()))
    return c, gen


def unet2d_case(name, cfg, batch, size, timesteps, class_labels=None):
    model = UNet2DModel(cfg)
    c, gen = start(name, "UNet2DModel", cfg, model)
    x = f32(torch.randn(batch, cfg["in_channels"], size, size, generator=gen))
    c.arr("sample", x)
    c.param("timesteps", timesteps)
    if class_labels is not None:
        c.arr("class_labels", torch.tensor(class_labels, dtype=torch.int32))
    with torch.no_grad():
        y = model(x, torch.tensor(timesteps, dtype=torch.float64),
                  None if class_labels is None else torch.tensor(class_labels))
    c.arr("output", y)
    c.write()


def unet2d_condition_case(name, cfg, batch, size, seq, timesteps):
    model = UNet2DConditionModel(cfg)
    c, gen = start(name, "UNet2DConditionModel", cfg, model)
    x = f32(torch.randn(batch, cfg["in_channels"], size, size, generator=gen))
    enc = f32(torch.randn(batch, seq, cfg["cross_attention_dim"], generator=gen))
    c.arr("sample", x)
    c.arr("encoder_hidden_states", enc)
    c.param("timesteps", timesteps)
    with torch.no_grad():
        y = model(x, torch.tensor(timesteps, dtype=torch.float64), enc)
    c.arr("output", y)
    c.write()


def vae_case(name, cfg, batch, size):
    model = AutoencoderKL(cfg)
    c, gen = start(name, "AutoencoderKL", cfg, model)
    x = f32(torch.rand(batch, cfg["in_channels"], size, size, generator=gen) * 2 - 1)
    f = 2 ** (len(cfg["block_out_channels"]) - 1)
    z = f32(torch.randn(batch, cfg["latent_channels"], size // f, size // f, generator=gen))
    c.arr("sample", x)
    c.arr("latents", z)
    with torch.no_grad():
        moments = model.encode(x)
        mean, logvar = torch.chunk(moments, 2, dim=1)
        c.arr("latent_mean", mean)
        c.arr("latent_logvar", torch.clamp(logvar, -30.0, 20.0))
        c.arr("decoded", model.decode(z))
        c.arr("reconstruction", model.decode(mean))
    c.write()


def main():
    reset_dir(OUT)
    index = []
    unet2d_case("unet2d_tiny", {
        "sample_size": 8, "in_channels": 2, "out_channels": 2, "block_out_channels": [8, 16],
        "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
        "layers_per_block": 1, "norm_num_groups": 4, "attention_head_dim": 4,
    }, 2, 8, [10, 743])
    index.append({"name": "unet2d_tiny", "class_name": "UNet2DModel"})
    unet2d_case("unet2d_class_scale_shift", {
        "sample_size": 8, "in_channels": 1, "out_channels": 1, "block_out_channels": [8, 8, 16],
        "down_block_types": ["AttnDownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
        "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "AttnUpBlock2D"],
        "layers_per_block": 2, "norm_num_groups": 2, "attention_head_dim": 8, "flip_sin_to_cos": False,
        "freq_shift": 1, "resnet_time_scale_shift": "scale_shift", "num_class_embeds": 3,
    }, 3, 8, [0, 333.5, 999], class_labels=[2, 0, 1])
    index.append({"name": "unet2d_class_scale_shift", "class_name": "UNet2DModel"})
    unet2d_condition_case("unet2d_condition_tiny", {
        "sample_size": 8, "in_channels": 4, "out_channels": 4, "block_out_channels": [8, 16],
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
        "layers_per_block": 1, "norm_num_groups": 4, "cross_attention_dim": 12, "attention_head_dim": 2,
    }, 2, 8, 5, [981, 1])
    index.append({"name": "unet2d_condition_tiny", "class_name": "UNet2DConditionModel"})
    unet2d_condition_case("unet2d_condition_linear_proj_6x6", {
        "sample_size": 6, "in_channels": 4, "out_channels": 4, "block_out_channels": [8, 16, 16],
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        "layers_per_block": 1, "norm_num_groups": 4, "cross_attention_dim": 6, "attention_head_dim": [2, 4, 4],
        "use_linear_projection": True,
    }, 1, 6, 3, [500])
    index.append({"name": "unet2d_condition_linear_proj_6x6", "class_name": "UNet2DConditionModel"})
    vae_case("vae_tiny", {
        "in_channels": 3, "out_channels": 3, "block_out_channels": [8, 16],
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "layers_per_block": 1, "latent_channels": 4,
        "norm_num_groups": 4, "sample_size": 8, "scaling_factor": 0.18215,
    }, 2, 8)
    index.append({"name": "vae_tiny", "class_name": "AutoencoderKL"})
    with open(os.path.join(OUT, "index.json"), "w") as f:
        f.write("[\n" + ",\n".join(" " + json.dumps(e) for e in index) + "\n]\n")
    print(f"wrote {len(index)} model cases to {os.path.relpath(OUT, REPO)}")


if __name__ == "__main__":
    main()
