#!/usr/bin/python3
"""PyTorch reference outputs and gradients for @attnkit/tensor-core.

Run:  /usr/bin/python3 scripts/reference/tensor_ops.py
Writes packages/tensor-core/test/fixtures/torch/<case>/ (meta.json + .f32/.i32) and index.json.
Everything is computed in float64 from float32-representable inputs, then stored as float32.
Deterministic: re-running rewrites the same bytes. Format: scripts/reference/README.md.

Op cases ("kind": "op"): meta has op, call, args, inputs (ordered argument names), differentiable,
each input array under its torch argument name, output, grad_output (the upstream gradient: the
scalar objective is sum(output * grad_output)) and grad_<name> for every differentiable input.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _fixture import REPO, Case, f32, randn, reset_dir, seed_for, uniform, write_index  # noqa: E402

OUT = os.path.join(REPO, "packages", "tensor-core", "test", "fixtures", "torch")
INDEX = []


def _fmt(v):
    if isinstance(v, str):
        return repr(v)
    return str(v)


def op_case(name, op, fn, inputs, diff, args, call_args, call=None):
    """inputs: list of (name, tensor); fn(*tensors, **args) -> output tensor.

    call_args: how the torch call reads, e.g. "input, weight, bias" (the args are appended)."""
    torch.manual_seed(seed_for(name) ^ 0x5A5A)
    c = Case(OUT, name)
    c.param("kind", "op")
    c.param("op", op)
    kw = ", ".join(f"{k}={_fmt(v)}" for k, v in args.items())
    mod = getattr(fn, "__module__", None)
    if mod in (None, "torch", "torch._C._nn", "torch.functional"):
        mod = "torch.nn.functional"
    c.param("call", call or f"{mod}.{fn.__name__}({call_args}{', ' if kw and call_args else ''}{kw})")
    c.param("args", {k: (list(v) if isinstance(v, tuple) else v) for k, v in args.items()})
    c.param("inputs", [n for n, t in inputs if t is not None])
    c.param("differentiable", list(diff))
    tensors = []
    for n, t in inputs:
        if t is None:
            tensors.append(None)
            continue
        if n in diff:
            t = t.clone().requires_grad_(True)
        tensors.append(t)
        c.arr(n, t)
    out = fn(*tensors, **args)
    c.arr("output", out)
    g = randn(*out.shape)
    c.arr("grad_output", g)
    if diff:
        (out * g).sum().backward()
        for n, t in zip([n for n, _ in inputs], tensors):
            if n in diff:
                c.arr("grad_" + n, t.grad)
    c.write()
    INDEX.append({"name": name, "op": op})


# ---------------------------------------------------------------- convolutions
def conv_cases():
    def conv2d(name, n, cin, h, w, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
        torch.manual_seed(seed_for(name))
        kh, kw = (k, k) if isinstance(k, int) else k
        x = randn(n, cin, h, w)
        wt = randn(cout, cin // groups, kh, kw, scale=0.5)
        b = randn(cout, scale=0.5) if bias else None
        op_case(name, "conv2d", F.conv2d, [("input", x), ("weight", wt), ("bias", b)],
                ["input", "weight"] + (["bias"] if bias else []),
                dict(stride=stride, padding=padding, dilation=dilation, groups=groups), "input, weight, bias" if bias else "input, weight, None")

    conv2d("conv2d_basic", 2, 3, 7, 7, 4, 3)
    conv2d("conv2d_stride2_pad1", 2, 3, 8, 8, 5, 3, stride=2, padding=1)
    conv2d("conv2d_nobias_k1", 1, 4, 5, 6, 3, 1, bias=False)
    conv2d("conv2d_dilation2_pad2", 1, 2, 9, 9, 3, 3, padding=2, dilation=2)
    conv2d("conv2d_asym", 2, 2, 9, 8, 3, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1))
    conv2d("conv2d_groups2", 2, 4, 6, 6, 6, 3, padding=1, groups=2)
    conv2d("conv2d_depthwise", 1, 4, 7, 7, 4, 3, stride=2, padding=1, groups=4)
    conv2d("conv2d_depthwise_mult2", 2, 3, 6, 5, 6, 3, padding=1, groups=3)
    conv2d("conv2d_padding_same", 1, 3, 6, 7, 2, (3, 4), padding="same", dilation=(1, 2))
    conv2d("conv2d_stride3_even", 1, 2, 10, 11, 3, 4, stride=3, padding=1)

    def conv1d(name, n, cin, length, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
        torch.manual_seed(seed_for(name))
        x = randn(n, cin, length)
        wt = randn(cout, cin // groups, k, scale=0.5)
        b = randn(cout, scale=0.5) if bias else None
        op_case(name, "conv1d", F.conv1d, [("input", x), ("weight", wt), ("bias", b)],
                ["input", "weight"] + (["bias"] if bias else []),
                dict(stride=stride, padding=padding, dilation=dilation, groups=groups), "input, weight, bias" if bias else "input, weight, None")

    conv1d("conv1d_basic", 2, 3, 10, 4, 3)
    conv1d("conv1d_stride2_pad1_dil2_groups2", 2, 4, 13, 6, 3, stride=2, padding=1, dilation=2, groups=2)
    conv1d("conv1d_depthwise_nobias", 1, 3, 9, 3, 5, padding=2, groups=3, bias=False)

    def convt2d(name, n, cin, h, w, cout, k, stride=1, padding=0, output_padding=0, groups=1, dilation=1, bias=True):
        torch.manual_seed(seed_for(name))
        kh, kw = (k, k) if isinstance(k, int) else k
        x = randn(n, cin, h, w)
        wt = randn(cin, cout // groups, kh, kw, scale=0.5)  # torch layout [in, out/groups, kh, kw]
        b = randn(cout, scale=0.5) if bias else None
        op_case(name, "convTranspose2d", F.conv_transpose2d, [("input", x), ("weight", wt), ("bias", b)],
                ["input", "weight"] + (["bias"] if bias else []),
                dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation),
                "input, weight, bias" if bias else "input, weight, None")

    convt2d("conv_transpose2d_basic", 2, 3, 4, 4, 2, 3)
    convt2d("conv_transpose2d_stride2_pad1_outpad1", 1, 3, 4, 5, 4, 3, stride=2, padding=1, output_padding=1)
    convt2d("conv_transpose2d_k4_s2_p1", 2, 2, 3, 3, 3, 4, stride=2, padding=1)
    convt2d("conv_transpose2d_asym", 1, 2, 3, 4, 3, (3, 2), stride=(2, 3), padding=(0, 1), output_padding=(1, 2))
    convt2d("conv_transpose2d_groups2_nobias", 1, 4, 3, 3, 6, 3, stride=2, groups=2, bias=False)
    convt2d("conv_transpose2d_dilation2", 1, 2, 4, 4, 2, 3, stride=2, padding=2, output_padding=1, dilation=2)


# ---------------------------------------------------------------- norms
def rms_norm(x, weight, eps):
    """Llama RMSNorm: x * rsqrt(mean(x^2, last dim) + eps) * weight."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def norm_cases():
    # layer_norm takes normalized_shape positionally; wrap it so op_case can pass tensors only.
    def ln_real(name, shape, norm_shape, affine=True, eps=1e-5):
        torch.manual_seed(seed_for(name))
        x = f32(randn(*shape, scale=2.0) + 0.5)
        w = f32(1 + randn(*norm_shape, scale=0.3)) if affine else None
        b = randn(*norm_shape, scale=0.3) if affine else None

        def layer_norm(input, weight, bias, normalized_shape, eps):
            return F.layer_norm(input, normalized_shape, weight, bias, eps)

        layer_norm.__module__ = "torch.nn.functional"
        op_case(name, "layerNorm", layer_norm, [("input", x), ("weight", w), ("bias", b)],
                ["input"] + (["weight", "bias"] if affine else []),
                dict(normalized_shape=list(norm_shape), eps=eps), "",
                call=f"torch.nn.functional.layer_norm(input, {list(norm_shape)}, "
                     f"{'weight, bias' if affine else 'None, None'}, eps={eps})")

    ln_real("layer_norm_last", (2, 3, 8), (8,))
    ln_real("layer_norm_two_dims", (2, 3, 5), (3, 5), eps=1e-6)
    ln_real("layer_norm_no_affine", (4, 6), (6,), affine=False)

    def rms(name, shape, eps):
        torch.manual_seed(seed_for(name))
        x = randn(*shape, scale=1.5)
        w = f32(1 + randn(shape[-1], scale=0.3))
        op_case(name, "rmsNorm", rms_norm, [("input", x), ("weight", w)], ["input", "weight"], dict(eps=eps), "",
                call=f"input * torch.rsqrt(input.pow(2).mean(-1, keepdim=True) + {eps}) * weight  # Llama RMSNorm")

    rms("rms_norm", (2, 3, 8), 1e-6)
    rms("rms_norm_eps1e-5", (5, 16), 1e-5)

    def gn(name, shape, groups, affine=True, eps=1e-5):
        torch.manual_seed(seed_for(name))
        x = f32(randn(*shape, scale=2.0) - 0.3)
        c = shape[1]
        w = f32(1 + randn(c, scale=0.3)) if affine else None
        b = randn(c, scale=0.3) if affine else None

        def group_norm(input, weight, bias, num_groups, eps):
            return F.group_norm(input, num_groups, weight, bias, eps)

        group_norm.__module__ = "torch.nn.functional"
        op_case(name, "groupNorm", group_norm, [("input", x), ("weight", w), ("bias", b)],
                ["input"] + (["weight", "bias"] if affine else []), dict(num_groups=groups, eps=eps), "",
                call=f"torch.nn.functional.group_norm(input, {groups}, "
                     f"{'weight, bias' if affine else 'None, None'}, eps={eps})")

    gn("group_norm_4d", (2, 6, 4, 4), 3)
    gn("group_norm_3d", (2, 4, 5), 2, eps=1e-6)
    gn("group_norm_one_group", (1, 4, 3, 3), 1)
    gn("group_norm_per_channel_no_affine", (2, 3, 2, 5), 3, affine=False)


# ---------------------------------------------------------------- activations
def act_cases():
    def act(name, op, fn, args, shape=(4, 16), lo=-6.0, hi=6.0):
        torch.manual_seed(seed_for(name))
        x = uniform(*shape, lo=lo, hi=hi)
        op_case(name, op, fn, [("input", x)], ["input"], args, "input")

    act("gelu_none", "gelu", F.gelu, dict(approximate="none"))
    act("gelu_tanh", "gelu", F.gelu, dict(approximate="tanh"))
    act("silu", "silu", F.silu, {})
    act("softplus", "softplus", F.softplus, dict(beta=1.0, threshold=20.0), lo=-30.0, hi=30.0)
    act("softplus_beta2_threshold1", "softplus", F.softplus, dict(beta=2.0, threshold=1.0), lo=-3.0, hi=3.0)

    def sm(name, op, fn, shape, dim):
        torch.manual_seed(seed_for(name))
        x = randn(*shape, scale=3.0)
        op_case(name, op, fn, [("input", x)], ["input"], dict(dim=dim), "input")

    sm("softmax_dim1", "softmax", F.softmax, (2, 5, 3), 1)
    sm("softmax_dim0", "softmax", F.softmax, (4, 3), 0)
    sm("log_softmax_dim1", "logSoftmax", F.log_softmax, (2, 5, 3), 1)
    sm("log_softmax_dim0", "logSoftmax", F.log_softmax, (4, 3, 2), 0)
    sm("log_softmax_last", "logSoftmax", F.log_softmax, (3, 7), -1)


# ---------------------------------------------------------------- losses
def loss_cases():
    def ce(name, shape, reduction="mean", ignore_index=-100, label_smoothing=0.0, n_ignored=0):
        torch.manual_seed(seed_for(name))
        c = shape[1]
        x = randn(*shape, scale=2.0)
        tshape = (shape[0],) + tuple(shape[2:])
        t = torch.randint(0, c, tshape)
        if n_ignored:
            flat = t.view(-1)
            idx = torch.randperm(flat.numel())[:n_ignored]
            flat[idx] = ignore_index
        op_case(name, "crossEntropy", F.cross_entropy, [("input", x), ("target", t)], ["input"],
                dict(reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing),
                "input, target")

    ce("cross_entropy_mean", (6, 5))
    ce("cross_entropy_sum", (6, 5), reduction="sum")
    ce("cross_entropy_none", (6, 5), reduction="none")
    ce("cross_entropy_ignore_mean", (8, 4), n_ignored=3)
    ce("cross_entropy_ignore_none", (8, 4), reduction="none", n_ignored=3)
    ce("cross_entropy_ignore_custom_index", (7, 5), ignore_index=2, n_ignored=2)
    ce("cross_entropy_label_smoothing", (6, 5), label_smoothing=0.1)
    ce("cross_entropy_label_smoothing_sum", (6, 5), reduction="sum", label_smoothing=0.25)
    ce("cross_entropy_ls_ignore_mean", (8, 6), label_smoothing=0.2, n_ignored=2)
    ce("cross_entropy_ls_ignore_none", (8, 6), reduction="none", label_smoothing=0.2, n_ignored=2)
    ce("cross_entropy_3d_mean", (2, 4, 3))
    ce("cross_entropy_3d_none", (2, 4, 5), reduction="none")
    ce("cross_entropy_3d_ls_ignore", (3, 5, 4), label_smoothing=0.1, n_ignored=3)
    ce("cross_entropy_4d_sum", (2, 3, 2, 3), reduction="sum", n_ignored=2)

    def pair(name, op, fn, shape, reduction, both=True):
        torch.manual_seed(seed_for(name))
        x = randn(*shape)
        y = randn(*shape)
        op_case(name, op, fn, [("input", x), ("target", y)], ["input", "target"] if both else ["input"],
                dict(reduction=reduction), "input, target")

    for r in ("mean", "sum", "none"):
        pair(f"mse_{r}", "mse", F.mse_loss, (3, 5), r)
        pair(f"l1_{r}", "l1", F.l1_loss, (3, 5), r)

    def bce(name, shape, reduction, pos_weight=False):
        torch.manual_seed(seed_for(name))
        x = randn(*shape, scale=3.0)
        y = uniform(*shape, lo=0.0, hi=1.0)
        y[0] = torch.round(y[0])  # some hard 0/1 labels too
        inputs = [("input", x), ("target", y)]
        if pos_weight:
            inputs.append(("pos_weight", uniform(shape[-1], lo=0.5, hi=3.0)))

        def binary_cross_entropy_with_logits(input, target, pos_weight=None, reduction="mean"):
            return F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight, reduction=reduction)

        binary_cross_entropy_with_logits.__module__ = "torch.nn.functional"
        op_case(name, "binaryCrossEntropyWithLogits", binary_cross_entropy_with_logits, inputs, ["input"],
                dict(reduction=reduction), ", ".join(n if n != "pos_weight" else "pos_weight=pos_weight"
                                                     for n, _ in inputs))

    for r in ("mean", "sum", "none"):
        bce(f"bce_with_logits_{r}", (4, 5), r)
    bce("bce_with_logits_pos_weight", (4, 5), "mean", pos_weight=True)


# ---------------------------------------------------------------- pooling / resampling
def pool_cases():
    def pool(name, op, fn, shape, **args):
        torch.manual_seed(seed_for(name))
        x = randn(*shape)
        op_case(name, op, fn, [("input", x)], ["input"], args, "input")

    pool("avg_pool2d_k2", "avgPool2d", F.avg_pool2d, (2, 3, 6, 6), kernel_size=2, stride=2, padding=0,
         ceil_mode=False, count_include_pad=True)
    pool("avg_pool2d_k3_s2_p1", "avgPool2d", F.avg_pool2d, (1, 2, 7, 7), kernel_size=3, stride=2, padding=1,
         ceil_mode=False, count_include_pad=True)
    pool("avg_pool2d_k3_s2_p1_exclude_pad", "avgPool2d", F.avg_pool2d, (1, 2, 7, 7), kernel_size=3, stride=2,
         padding=1, ceil_mode=False, count_include_pad=False)
    pool("avg_pool2d_asym_ceil", "avgPool2d", F.avg_pool2d, (1, 2, 7, 8), kernel_size=(3, 2), stride=(2, 3),
         padding=(1, 0), ceil_mode=True, count_include_pad=True)
    pool("max_pool2d_k2", "maxPool2d", F.max_pool2d, (2, 3, 6, 6), kernel_size=2, stride=2, padding=0,
         dilation=1, ceil_mode=False)
    pool("max_pool2d_k3_s2_p1", "maxPool2d", F.max_pool2d, (1, 2, 7, 7), kernel_size=3, stride=2, padding=1,
         dilation=1, ceil_mode=False)
    pool("max_pool2d_asym_dilation_ceil", "maxPool2d", F.max_pool2d, (1, 2, 9, 8), kernel_size=(2, 3),
         stride=(2, 1), padding=(1, 1), dilation=(2, 1), ceil_mode=True)

    def interp(name, shape, **args):
        torch.manual_seed(seed_for(name))
        x = randn(*shape)
        op_case(name, "interpolate", F.interpolate, [("input", x)], ["input"], args, "input")

    interp("interpolate_nearest_scale2", (1, 2, 3, 4), scale_factor=2.0, mode="nearest")
    interp("interpolate_nearest_size_up", (1, 2, 3, 5), size=[5, 7], mode="nearest")
    interp("interpolate_nearest_size_down", (1, 2, 6, 7), size=[4, 3], mode="nearest")
    interp("interpolate_bilinear_scale2", (1, 2, 3, 4), scale_factor=2.0, mode="bilinear", align_corners=False)
    interp("interpolate_bilinear_size_up", (2, 1, 3, 5), size=[7, 8], mode="bilinear", align_corners=False)
    interp("interpolate_bilinear_size_down", (1, 2, 6, 7), size=[4, 3], mode="bilinear", align_corners=False)
    interp("interpolate_bilinear_align_corners_up", (2, 1, 3, 5), size=[7, 8], mode="bilinear", align_corners=True)
    interp("interpolate_bilinear_align_corners_down", (1, 2, 6, 7), size=[4, 3], mode="bilinear",
           align_corners=True)


# ---------------------------------------------------------------- composite
def composite_case():
    name = "composite_mlp_layernorm_gelu_ce"
    torch.manual_seed(seed_for(name))
    n, din, dh, dout = 8, 6, 16, 4
    c = Case(OUT, name)
    c.param("kind", "composite")
    c.param("op", "mlp")
    c.param("description",
            "loss = cross_entropy(linear(gelu(layer_norm(linear(x, w1, b1), [16], ln_weight, ln_bias, 1e-5)), "
            "w2, b2), target, label_smoothing=0.05, reduction='mean'); gelu approximate='none'; "
            "linear(x, w, b) = x @ w.T + b (torch nn.Linear layout [out, in])")
    c.param("eps", 1e-5)
    c.param("label_smoothing", 0.05)
    P = {
        "x": randn(n, din),
        "w1": randn(dh, din, scale=1 / math.sqrt(din)),
        "b1": randn(dh, scale=0.1),
        "ln_weight": f32(1 + randn(dh, scale=0.2)),
        "ln_bias": randn(dh, scale=0.1),
        "w2": randn(dout, dh, scale=1 / math.sqrt(dh)),
        "b2": randn(dout, scale=0.1),
    }
    target = torch.randint(0, dout, (n,))
    P = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    h = F.linear(P["x"], P["w1"], P["b1"])
    h = F.layer_norm(h, (dh,), P["ln_weight"], P["ln_bias"], 1e-5)
    h = F.gelu(h)
    logits = F.linear(h, P["w2"], P["b2"])
    loss = F.cross_entropy(logits, target, label_smoothing=0.05)
    loss.backward()
    for k, v in P.items():
        c.arr(k, v)
    c.arr("target", target)
    c.arr("logits", logits)
    c.arr("loss", loss)
    for k, v in P.items():
        c.arr("grad_" + k, v.grad)
    c.param("differentiable", list(P.keys()))
    c.write()
    INDEX.append({"name": name, "op": "mlp"})


# ---------------------------------------------------------------- optimizers
def optim_cases():
    steps = 5

    def traj(name, op, ctor, hp):
        torch.manual_seed(seed_for(name))
        shape = (2, 3)
        p0 = randn(*shape)
        a = uniform(*shape, lo=0.5, hi=2.0)
        ctr = randn(*shape, scale=0.5)
        p = p0.clone().requires_grad_(True)
        opt = ctor([p], **hp)
        params, grads = [], []
        for _ in range(steps):
            opt.zero_grad()
            loss = (0.5 * a * (p - ctr) ** 2).sum()
            loss.backward()
            grads.append(p.grad.detach().clone())
            opt.step()
            params.append(p.detach().clone())
        c = Case(OUT, name)
        c.param("kind", "optimizer")
        c.param("op", op)
        c.param("torch", f"torch.optim.{ctor.__name__}")
        c.param("hyperparameters", {k: (list(v) if isinstance(v, tuple) else v) for k, v in hp.items()})
        c.param("steps", steps)
        c.param("objective", "loss = sum(0.5 * a * (param - center)^2), so grad = a * (param - center); "
                             "grads[i] is the gradient fed to step i (computed at the param before step i); "
                             "params[i] is the param after step i")
        c.arr("param0", p0)
        c.arr("a", a)
        c.arr("center", ctr)
        c.arr("grads", torch.stack(grads))
        c.arr("params", torch.stack(params))
        c.write()
        INDEX.append({"name": name, "op": op})

    traj("adamw", "AdamW", torch.optim.AdamW, dict(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1))
    traj("adamw_betas_eps", "AdamW", torch.optim.AdamW, dict(lr=0.02, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.01))
    traj("adam", "Adam", torch.optim.Adam, dict(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0))
    traj("adam_l2_weight_decay", "Adam", torch.optim.Adam, dict(lr=0.05, betas=(0.9, 0.999), eps=1e-8,
                                                                weight_decay=0.1))
    traj("sgd", "SGD", torch.optim.SGD, dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False))
    traj("sgd_momentum", "SGD", torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0,
                                                      nesterov=False))
    traj("sgd_nesterov", "SGD", torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0,
                                                      nesterov=True))
    traj("sgd_momentum_dampening_wd", "SGD", torch.optim.SGD, dict(lr=0.1, momentum=0.8, dampening=0.3,
                                                                   weight_decay=0.05, nesterov=False))


# ---------------------------------------------------------------- LR schedules
def cosine_with_warmup(step, warmup, total, num_cycles=0.5):
    """transformers.get_cosine_schedule_with_warmup lr_lambda."""
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def linear_with_warmup(step, warmup, total):
    """transformers.get_linear_schedule_with_warmup lr_lambda."""
    if step < warmup:
        return float(step) / float(max(1, warmup))
    return max(0.0, float(total - step) / float(max(1, total - warmup)))


def schedule_cases():
    def sched(name, op, fn, base_lr, warmup, total, extra_steps=3, **kw):
        # Drive the lambda through torch's LambdaLR so the values are what an optimizer really sees.
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=base_lr)
        s = torch.optim.lr_scheduler.LambdaLR(opt, lambda st: fn(st, warmup, total, **kw))
        lrs, mult = [], []
        for st in range(total + extra_steps):
            lrs.append(opt.param_groups[0]["lr"])
            mult.append(fn(st, warmup, total, **kw))
            opt.step()
            s.step()
        c = Case(OUT, name)
        c.param("kind", "schedule")
        c.param("op", op)
        c.param("formula", fn.__doc__.strip())
        c.param("base_lr", base_lr)
        c.param("num_warmup_steps", warmup)
        c.param("num_training_steps", total)
        for k, v in kw.items():
            c.param(k, v)
        c.param("note", "lr[i] / multiplier[i] is the value at step i = 0 .. num_training_steps + 2 "
                        "(before the i-th optimizer step); also stored in full precision as lr_values")
        c.arr("step", torch.arange(total + extra_steps))
        c.arr("multiplier", torch.tensor(mult))
        c.arr("lr", torch.tensor(lrs))
        c.param("lr_values", lrs)
        c.write()
        INDEX.append({"name": name, "op": op})

    sched("schedule_cosine_warmup", "cosineWithWarmup", cosine_with_warmup, 1e-3, 10, 50, num_cycles=0.5)
    sched("schedule_cosine_warmup_cycles", "cosineWithWarmup", cosine_with_warmup, 3e-4, 4, 20, num_cycles=1.5)
    sched("schedule_cosine_no_warmup", "cosineWithWarmup", cosine_with_warmup, 0.1, 0, 12, num_cycles=0.5)
    sched("schedule_linear_warmup", "linearWithWarmup", linear_with_warmup, 1e-3, 5, 25)


if __name__ == "__main__":
    reset_dir(OUT)
    conv_cases()
    norm_cases()
    act_cases()
    loss_cases()
    pool_cases()
    composite_case()
    optim_cases()
    schedule_cases()
    write_index(OUT, INDEX)
    print(f"wrote {len(INDEX)} cases to {os.path.relpath(OUT, REPO)}")
