#!/usr/bin/python3
"""Reference step math for @attnkit/diffusion schedulers: a float64 numpy re-implementation of diffusers'
DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler and DPMSolverMultistepScheduler (solver_order 2,
dpmsolver++, midpoint), written from reading diffusers' source (schedulers/scheduling_*.py).

Run:  /usr/bin/python3 scripts/reference/schedulers.py
Writes packages/diffusion/test/fixtures/schedulers/<case>.json, index.json, beta_schedules.json and
set_timesteps.json. Deterministic. The JSON layout is documented in scripts/reference/README.md.

Precision: everything here is float64 (diffusers builds betas/alphas_cumprod in float32 and casts
Euler/DPM sigmas to float32; the float32 tables are stored beside the float64 ones in
beta_schedules.json so the gap can be seen). Random inputs (samples, model outputs, noise) are rounded
to float32 so a float32 implementation sees exactly the same inputs.
"""
import json
import math
import os

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "packages", "diffusion", "test", "fixtures", "schedulers")
SAMPLE_SHAPE = (1, 2, 4, 4)
ADD_NOISE_SHAPE = (3, 2, 2, 2)


# ---------------------------------------------------------------- beta schedules
def betas_for_alpha_bar(n, max_beta=0.999):
    """squaredcos_cap_v2: alpha_bar(t) = cos((t + 0.008) / 1.008 * pi / 2)^2, beta_i = min(1 - ab(t2)/ab(t1), max_beta)."""
    def ab(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    return np.array([min(1 - ab((i + 1) / n) / ab(i / n), max_beta) for i in range(n)], dtype=np.float64)


def make_betas(cfg):
    n, b0, b1 = cfg["num_train_timesteps"], cfg["beta_start"], cfg["beta_end"]
    kind = cfg["beta_schedule"]
    if kind == "linear":
        return np.linspace(b0, b1, n, dtype=np.float64)
    if kind == "scaled_linear":
        return np.linspace(b0 ** 0.5, b1 ** 0.5, n, dtype=np.float64) ** 2
    if kind == "squaredcos_cap_v2":
        return betas_for_alpha_bar(n)
    raise ValueError(kind)


def make_betas_float32(cfg):
    """What diffusers holds: torch.linspace(..., dtype=float32), cumprod in float32 (here via torch if present)."""
    try:
        import torch
    except ImportError:
        return None
    n, b0, b1 = cfg["num_train_timesteps"], cfg["beta_start"], cfg["beta_end"]
    kind = cfg["beta_schedule"]
    if kind == "linear":
        b = torch.linspace(b0, b1, n, dtype=torch.float32)
    elif kind == "scaled_linear":
        b = torch.linspace(b0 ** 0.5, b1 ** 0.5, n, dtype=torch.float32) ** 2
    else:
        b = torch.tensor(betas_for_alpha_bar(n).tolist(), dtype=torch.float32)
    ac = torch.cumprod(1.0 - b, dim=0)
    return b.double().numpy(), ac.double().numpy()


def schedule_key(cfg):
    if cfg["beta_schedule"] == "squaredcos_cap_v2":
        return f"squaredcos_cap_v2_{cfg['num_train_timesteps']}"
    return f"{cfg['beta_schedule']}_{cfg['num_train_timesteps']}_{cfg['beta_start']}_{cfg['beta_end']}"


# ---------------------------------------------------------------- timestep spacing
def spaced_timesteps(n_train, n, spacing, steps_offset):
    """DDPM/DDIM/Euler set_timesteps(n) rule (float, before any cast). np.round rounds half to even."""
    if spacing == "linspace":
        return np.linspace(0, n_train - 1, n)[::-1].copy()  # DDPM/DDIM round this; Euler keeps it fractional
    if spacing == "leading":
        ratio = n_train // n
        return (np.arange(0, n) * ratio).round()[::-1].copy() + steps_offset
    if spacing == "trailing":
        ratio = n_train / n
        t = np.round(np.arange(n_train, 0, -ratio)) - 1
        assert len(t) == n, "diffusers' trailing arange yields an extra element for this n; pick another n"
        return t
    raise ValueError(spacing)


def int_timesteps(n_train, n, spacing, steps_offset):
    t = spaced_timesteps(n_train, n, spacing, steps_offset)
    if spacing == "linspace":
        t = t.round()
    return t.astype(np.int64)


def dpm_timesteps(n_train, n, spacing, steps_offset):
    """DPMSolverMultistep set_timesteps(n) rule (lambda_min_clipped = -inf, so last_timestep = n_train)."""
    last = n_train
    if spacing == "linspace":
        t = np.linspace(0, last - 1, n + 1).round()[::-1][:-1].copy()
    elif spacing == "leading":
        ratio = last // (n + 1)
        t = (np.arange(0, n + 1) * ratio).round()[::-1][:-1].copy() + steps_offset
    elif spacing == "trailing":
        ratio = n_train / n
        t = np.arange(last, 0, -ratio).round() - 1
        assert len(t) == n
    else:
        raise ValueError(spacing)
    return t.astype(np.int64)


# ---------------------------------------------------------------- schedulers
class Base:
    defaults = {}

    def __init__(self, **cfg):
        self.config = dict(self.defaults)
        for k in cfg:
            assert k in self.config, f"unknown config field {k}"
        self.config.update(cfg)
        self.betas = make_betas(self.config)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.num_inference_steps = None

    def x0_and_eps(self, model_output, sample, a_t):
        b_t = 1 - a_t
        p = self.config["prediction_type"]
        if p == "epsilon":
            return (sample - b_t ** 0.5 * model_output) / a_t ** 0.5, model_output
        if p == "sample":
            return model_output, (sample - a_t ** 0.5 * model_output) / b_t ** 0.5
        if p == "v_prediction":
            return a_t ** 0.5 * sample - b_t ** 0.5 * model_output, a_t ** 0.5 * model_output + b_t ** 0.5 * sample
        raise ValueError(p)

    def add_noise(self, x0, noise, timesteps):
        a = self.alphas_cumprod[timesteps].reshape((-1,) + (1,) * (x0.ndim - 1))
        return a ** 0.5 * x0 + (1 - a) ** 0.5 * noise

    def get_velocity(self, x0, noise, timesteps):
        a = self.alphas_cumprod[timesteps].reshape((-1,) + (1,) * (x0.ndim - 1))
        return a ** 0.5 * noise - (1 - a) ** 0.5 * x0


class DDPM(Base):
    name = "DDPMScheduler"
    defaults = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                    variance_type="fixed_small", clip_sample=True, prediction_type="epsilon", thresholding=False,
                    clip_sample_range=1.0, timestep_spacing="leading", steps_offset=0,
                    rescale_betas_zero_snr=False)
    init_noise_sigma = 1.0

    def set_timesteps(self, n):
        self.num_inference_steps = n
        self.timesteps = int_timesteps(self.config["num_train_timesteps"], n, self.config["timestep_spacing"],
                                       self.config["steps_offset"])

    def previous_timestep(self, t):
        idx = int(np.nonzero(self.timesteps == t)[0][0])
        return -1 if idx == len(self.timesteps) - 1 else int(self.timesteps[idx + 1])

    def step(self, model_output, t, sample, noise):
        prev_t = self.previous_timestep(t)
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else 1.0
        b_t, b_prev = 1 - a_t, 1 - a_prev
        cur_alpha = a_t / a_prev
        cur_beta = 1 - cur_alpha
        x0, _ = self.x0_and_eps(model_output, sample, a_t)
        if self.config["clip_sample"]:
            r = self.config["clip_sample_range"]
            x0 = np.clip(x0, -r, r)
        mean = (a_prev ** 0.5 * cur_beta / b_t) * x0 + (cur_alpha ** 0.5 * b_prev / b_t) * sample
        used_noise = None
        if t > 0:
            vt = self.config["variance_type"]
            if vt == "fixed_small":
                std = max(b_prev / b_t * cur_beta, 1e-20) ** 0.5
            elif vt == "fixed_large":
                std = cur_beta ** 0.5
            else:
                raise ValueError(vt)
            mean = mean + std * noise
            used_noise = noise
        return {"prev_timestep": prev_t, "prev_sample": mean, "pred_original_sample": x0, "noise_used": used_noise}


class DDIM(Base):
    name = "DDIMScheduler"
    defaults = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                    clip_sample=True, set_alpha_to_one=True, steps_offset=0, prediction_type="epsilon",
                    thresholding=False, clip_sample_range=1.0, timestep_spacing="leading",
                    rescale_betas_zero_snr=False)
    init_noise_sigma = 1.0

    def __init__(self, **cfg):
        super().__init__(**cfg)
        self.final_alpha_cumprod = 1.0 if self.config["set_alpha_to_one"] else float(self.alphas_cumprod[0])

    def set_timesteps(self, n):
        self.num_inference_steps = n
        self.timesteps = int_timesteps(self.config["num_train_timesteps"], n, self.config["timestep_spacing"],
                                       self.config["steps_offset"])

    def step(self, model_output, t, sample, noise, eta=0.0):
        # prev timestep is t - N // n for every spacing (not the next entry of timesteps)
        prev_t = t - self.config["num_train_timesteps"] // self.num_inference_steps
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else self.final_alpha_cumprod
        b_t, b_prev = 1 - a_t, 1 - a_prev
        x0, eps = self.x0_and_eps(model_output, sample, a_t)  # eps from the unclipped x0
        if self.config["clip_sample"]:
            r = self.config["clip_sample_range"]
            x0 = np.clip(x0, -r, r)
        variance = (b_prev / b_t) * (1 - a_t / a_prev)
        std = eta * variance ** 0.5
        prev = a_prev ** 0.5 * x0 + (1 - a_prev - std ** 2) ** 0.5 * eps
        used_noise = None
        if eta > 0:
            prev = prev + std * noise
            used_noise = noise
        return {"prev_timestep": int(prev_t), "prev_sample": prev, "pred_original_sample": x0,
                "noise_used": used_noise, "std_dev_t": std}


class Euler(Base):
    name = "EulerDiscreteScheduler"
    defaults = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                    prediction_type="epsilon", interpolation_type="linear", use_karras_sigmas=False,
                    timestep_spacing="linspace", timestep_type="discrete", steps_offset=0,
                    rescale_betas_zero_snr=False, final_sigmas_type="zero")

    def set_timesteps(self, n):
        self.num_inference_steps = n
        c = self.config
        # diffusers keeps Euler timesteps as float32 (fractional for linspace); sigma is interpolated at them
        t = spaced_timesteps(c["num_train_timesteps"], n, c["timestep_spacing"], c["steps_offset"])
        self.timesteps = t.astype(np.float32).astype(np.float64)
        full = ((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5
        s = np.interp(self.timesteps, np.arange(len(full)), full)
        last = 0.0 if c["final_sigmas_type"] == "zero" else full[0]
        self.sigmas = np.concatenate([s, [last]])
        self.step_index = None

    @property
    def init_noise_sigma(self):
        m = float(self.sigmas.max())
        return m if self.config["timestep_spacing"] in ("linspace", "trailing") else (m ** 2 + 1) ** 0.5

    def index_for_timestep(self, t):
        idx = np.nonzero(self.timesteps == t)[0]
        return int(idx[1] if len(idx) > 1 else idx[0])

    def scale_model_input(self, sample, t):
        if self.step_index is None:
            self.step_index = self.index_for_timestep(t)
        return sample / (self.sigmas[self.step_index] ** 2 + 1) ** 0.5

    def step(self, model_output, t, sample, noise=None):
        if self.step_index is None:
            self.step_index = self.index_for_timestep(t)
        sigma = self.sigmas[self.step_index]
        sigma_hat = sigma  # s_churn = 0 (default): gamma = 0
        p = self.config["prediction_type"]
        if p in ("sample", "original_sample"):
            x0 = model_output
        elif p == "epsilon":
            x0 = sample - sigma_hat * model_output
        elif p == "v_prediction":
            x0 = model_output * (-sigma / (sigma ** 2 + 1) ** 0.5) + sample / (sigma ** 2 + 1)
        else:
            raise ValueError(p)
        derivative = (sample - x0) / sigma_hat
        dt = self.sigmas[self.step_index + 1] - sigma_hat
        prev = sample + derivative * dt
        out = {"step_index": self.step_index, "sigma": float(sigma), "sigma_next": float(self.sigmas[self.step_index + 1]),
               "prev_sample": prev, "pred_original_sample": x0, "noise_used": None}
        self.step_index += 1
        return out

    def add_noise(self, x0, noise, timesteps):
        s = self.sigmas[[self.index_for_timestep(t) for t in timesteps]].reshape((-1,) + (1,) * (x0.ndim - 1))
        return x0 + noise * s


class DPMSolver(Base):
    name = "DPMSolverMultistepScheduler"
    defaults = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                    solver_order=2, prediction_type="epsilon", thresholding=False, algorithm_type="dpmsolver++",
                    solver_type="midpoint", lower_order_final=True, euler_at_final=False, use_karras_sigmas=False,
                    final_sigmas_type="zero", lambda_min_clipped=float("-inf"), variance_type=None,
                    timestep_spacing="linspace", steps_offset=0, rescale_betas_zero_snr=False)
    init_noise_sigma = 1.0

    def __init__(self, **cfg):
        super().__init__(**cfg)
        c = self.config
        assert c["algorithm_type"] == "dpmsolver++" and c["solver_type"] == "midpoint"
        assert c["solver_order"] in (1, 2) and c["lambda_min_clipped"] == float("-inf")

    def set_timesteps(self, n):
        c = self.config
        self.timesteps = dpm_timesteps(c["num_train_timesteps"], n, c["timestep_spacing"], c["steps_offset"])
        full = ((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5
        s = np.interp(self.timesteps, np.arange(len(full)), full)
        last = 0.0 if c["final_sigmas_type"] == "zero" else full[0]
        self.sigmas = np.concatenate([s, [last]])
        self.num_inference_steps = len(self.timesteps)
        self.model_outputs = [None] * c["solver_order"]
        self.lower_order_nums = 0
        self.step_index = None

    @staticmethod
    def alpha_sigma(sigma):
        a = 1.0 / (sigma ** 2 + 1) ** 0.5
        return a, sigma * a

    @staticmethod
    def lam(alpha, sigma):
        with np.errstate(divide="ignore"):
            return np.log(alpha) - np.log(sigma)  # +inf when sigma = 0 (the final step)

    def index_for_timestep(self, t):
        idx = np.nonzero(self.timesteps == t)[0]
        if len(idx) == 0:
            return len(self.timesteps) - 1
        return int(idx[1] if len(idx) > 1 else idx[0])

    def convert_model_output(self, model_output, sample):
        sigma = self.sigmas[self.step_index]
        a, s = self.alpha_sigma(sigma)
        p = self.config["prediction_type"]
        if p == "epsilon":
            return (sample - s * model_output) / a
        if p == "sample":
            return model_output
        if p == "v_prediction":
            return a * sample - s * model_output
        raise ValueError(p)

    def step(self, model_output, t, sample, noise=None):
        c = self.config
        if self.step_index is None:
            self.step_index = self.index_for_timestep(t)
        n = len(self.timesteps)
        lower_order_final = self.step_index == n - 1 and (
            c["euler_at_final"] or (c["lower_order_final"] and n < 15) or c["final_sigmas_type"] == "zero")
        x0 = self.convert_model_output(model_output, sample)
        self.model_outputs = self.model_outputs[1:] + [x0]
        a_t, s_t = self.alpha_sigma(self.sigmas[self.step_index + 1])
        a_s0, s_s0 = self.alpha_sigma(self.sigmas[self.step_index])
        lam_t, lam_s0 = self.lam(a_t, s_t), self.lam(a_s0, s_s0)
        h = lam_t - lam_s0
        em1 = math.exp(-h) - 1.0  # exp(-inf) - 1 = -1 at the final step
        if c["solver_order"] == 1 or self.lower_order_nums < 1 or lower_order_final:
            order = 1
            prev = (s_t / s_s0) * sample - (a_t * em1) * x0
        else:
            order = 2
            a_s1, s_s1 = self.alpha_sigma(self.sigmas[self.step_index - 1])
            lam_s1 = self.lam(a_s1, s_s1)
            m0, m1 = self.model_outputs[-1], self.model_outputs[-2]
            h0 = lam_s0 - lam_s1
            r0 = h0 / h
            d0, d1 = m0, (1.0 / r0) * (m0 - m1)
            prev = (s_t / s_s0) * sample - (a_t * em1) * d0 - 0.5 * (a_t * em1) * d1
        if self.lower_order_nums < c["solver_order"]:
            self.lower_order_nums += 1
        out = {"step_index": self.step_index, "order": order, "sigma": float(self.sigmas[self.step_index]),
               "sigma_next": float(self.sigmas[self.step_index + 1]), "prev_sample": prev,
               "pred_original_sample": x0, "noise_used": None}
        self.step_index += 1
        return out

    def add_noise(self, x0, noise, timesteps):
        s = self.sigmas[[self.index_for_timestep(t) for t in timesteps]].reshape((-1,) + (1,) * (x0.ndim - 1))
        a, sg = self.alpha_sigma(s)
        return a * x0 + sg * noise


# ---------------------------------------------------------------- fixture writing
def rng_for(name):
    import zlib
    return np.random.RandomState(zlib.crc32(name.encode()) & 0x7FFFFFFF)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def num(v):
    return None if v is None else float(v)


SCHEDULE_TABLES = {}
INDEX = []


def config_json(cfg):
    return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in cfg.items()}


def case(name, cls, n, eta=None, **cfg):
    rs = rng_for(name)
    s = cls(**cfg)
    s.set_timesteps(n)
    c = s.config
    key = schedule_key(c)
    if key not in SCHEDULE_TABLES:
        f = make_betas_float32(c)
        SCHEDULE_TABLES[key] = {
            "num_train_timesteps": c["num_train_timesteps"], "beta_schedule": c["beta_schedule"],
            "beta_start": c["beta_start"], "beta_end": c["beta_end"],
            "betas": flat(s.betas), "alphas_cumprod": flat(s.alphas_cumprod),
            "betas_float32_diffusers": flat(f[0]) if f else None,
            "alphas_cumprod_float32_diffusers": flat(f[1]) if f else None,
        }
    nt = c["num_train_timesteps"]
    idx = sorted({0, 1, 2, nt // 4, nt // 2, (3 * nt) // 4, nt - 2, nt - 1})
    out = {
        "scheduler": s.name,
        "config": config_json(c),
        "num_inference_steps": n,
        "eta": eta,
        "timesteps": [float(t) if isinstance(s, Euler) else int(t) for t in s.timesteps],
        "sigmas": flat(s.sigmas) if hasattr(s, "sigmas") else None,
        "init_noise_sigma": float(s.init_noise_sigma),
        "final_alpha_cumprod": getattr(s, "final_alpha_cumprod", None),
        "beta_schedule_key": key,
        "alphas_cumprod_length": len(s.alphas_cumprod),
        "alphas_cumprod_samples": {"index": idx, "value": [float(s.alphas_cumprod[i]) for i in idx]},
        "sample_shape": list(SAMPLE_SHAPE),
    }
    x = f32(rs.standard_normal(SAMPLE_SHAPE) * out["init_noise_sigma"])
    out["initial_sample"] = flat(x)
    steps = []
    for i, t in enumerate(s.timesteps):
        mo = f32(rs.standard_normal(SAMPLE_SHAPE))
        noise = f32(rs.standard_normal(SAMPLE_SHAPE))
        model_input = s.scale_model_input(x, t) if isinstance(s, Euler) else x
        if isinstance(s, DDIM):
            r = s.step(mo, int(t), x, noise, eta=eta)
        elif isinstance(s, Euler):
            r = s.step(mo, t, x)
        else:
            r = s.step(mo, int(t), x, noise)
        st = {"index": i, "timestep": float(t) if isinstance(s, Euler) else int(t)}
        for k in ("prev_timestep", "step_index", "order", "sigma", "sigma_next", "std_dev_t"):
            if k in r:
                st[k] = r[k]
        st["sample"] = flat(x)
        if isinstance(s, Euler):  # the other three have scale_model_input(x) = x
            st["model_input"] = flat(model_input)
        st["model_output"] = flat(mo)
        st["noise"] = flat(noise) if r["noise_used"] is not None else None
        st["prev_sample"] = flat(r["prev_sample"])
        st["pred_original_sample"] = flat(r["pred_original_sample"])
        steps.append(st)
        x = r["prev_sample"]
    out["steps"] = steps
    # add_noise (and get_velocity for the alphas_cumprod schedulers)
    x0 = f32(rs.standard_normal(ADD_NOISE_SHAPE))
    nz = f32(rs.standard_normal(ADD_NOISE_SHAPE))
    if isinstance(s, (Euler, DPMSolver)):
        pick = [s.timesteps[0], s.timesteps[len(s.timesteps) // 2], s.timesteps[-1]]
    else:
        pick = [int(rs.randint(0, nt)), nt - 1, 0]
    tsel = np.array(pick)
    an = {"shape": list(ADD_NOISE_SHAPE),
          "timesteps": [float(t) if isinstance(s, Euler) else int(t) for t in tsel],
          "original_samples": flat(x0), "noise": flat(nz),
          "noisy_samples": flat(s.add_noise(x0, nz, tsel.astype(np.float64 if isinstance(s, Euler) else np.int64)))}
    if isinstance(s, (DDPM, DDIM)):
        an["velocity"] = flat(s.get_velocity(x0, nz, tsel))
    out["add_noise"] = an
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    INDEX.append({"name": name, "scheduler": s.name})


def set_timesteps_table():
    """timesteps (and sigmas) after set_timesteps(n) for many n, spacings and offsets (linear betas)."""
    rows = []
    for cls in (DDPM, DDIM, Euler, DPMSolver):
        for nt in (1000, 100):
            for spacing in ("leading", "trailing", "linspace"):
                for off in (0, 1):
                    for n in ((1, 2, 3, 7, 10, 25, 50) if nt == 1000 else (1, 6, 7, 13)):
                        s = cls(num_train_timesteps=nt, timestep_spacing=spacing, steps_offset=off)
                        s.set_timesteps(n)
                        rows.append({
                            "scheduler": s.name, "num_train_timesteps": nt, "timestep_spacing": spacing,
                            "steps_offset": off, "num_inference_steps": n,
                            "timesteps": [float(t) if cls is Euler else int(t) for t in s.timesteps],
                            "sigmas": flat(s.sigmas) if hasattr(s, "sigmas") else None,
                            "init_noise_sigma": float(s.init_noise_sigma),
                        })
    with open(os.path.join(OUT, "set_timesteps.json"), "w") as f:
        f.write('{"note":"beta_schedule linear, beta_start 0.0001, beta_end 0.02; other fields at defaults",'
                '"rows":[\n' + ",\n".join(json.dumps(r, separators=(",", ":")) for r in rows) + "\n]}\n")


SD = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)


def all_cases():
    # DDPM
    case("ddpm_linear_epsilon_leading", DDPM, 10)
    case("ddpm_scaled_linear_epsilon_noclip", DDPM, 8, clip_sample=False, **SD)
    case("ddpm_cosine_epsilon_trailing", DDPM, 10, beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing")
    case("ddpm_linear_vpred_linspace_n7", DDPM, 7, prediction_type="v_prediction", timestep_spacing="linspace")
    case("ddpm_linear_sample_leading_offset1", DDPM, 10, prediction_type="sample", steps_offset=1)
    case("ddpm_linear_epsilon_fixed_large", DDPM, 5, variance_type="fixed_large", clip_sample=False)
    case("ddpm_cosine_vpred_noclip_trailing", DDPM, 6, beta_schedule="squaredcos_cap_v2",
         prediction_type="v_prediction", clip_sample=False, timestep_spacing="trailing")
    case("ddpm_n100_custom_betas_trailing_range2", DDPM, 6, num_train_timesteps=100, beta_start=0.001,
         beta_end=0.05, timestep_spacing="trailing", clip_sample_range=2.0)
    # DDIM
    case("ddim_linear_epsilon_leading_eta0", DDIM, 10, eta=0.0)
    case("ddim_sd_config_eta0", DDIM, 10, eta=0.0, clip_sample=False, set_alpha_to_one=False, steps_offset=1, **SD)
    case("ddim_sd_config_eta05", DDIM, 10, eta=0.5, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
         **SD)
    case("ddim_cosine_vpred_trailing_eta0", DDIM, 8, eta=0.0, beta_schedule="squaredcos_cap_v2",
         prediction_type="v_prediction", timestep_spacing="trailing")
    case("ddim_cosine_vpred_trailing_noclip_eta05", DDIM, 8, eta=0.5, beta_schedule="squaredcos_cap_v2",
         prediction_type="v_prediction", timestep_spacing="trailing", clip_sample=False)
    case("ddim_linear_sample_linspace_n7", DDIM, 7, eta=0.0, prediction_type="sample", timestep_spacing="linspace")
    case("ddim_linear_epsilon_linspace_noclip_alpha_not_one_eta05", DDIM, 5, eta=0.5, clip_sample=False,
         set_alpha_to_one=False, timestep_spacing="linspace")
    case("ddim_scaled_linear_vpred_leading_offset1_eta1", DDIM, 6, eta=1.0, prediction_type="v_prediction",
         steps_offset=1, **SD)
    case("ddim_n100_trailing_range1p5_eta05", DDIM, 6, eta=0.5, num_train_timesteps=100, beta_start=0.001,
         beta_end=0.05, timestep_spacing="trailing", clip_sample_range=1.5)
    # Euler
    case("euler_linear_epsilon_linspace", Euler, 10)
    case("euler_sd_config_leading_offset1", Euler, 10, timestep_spacing="leading", steps_offset=1, **SD)
    case("euler_scaled_linear_vpred_trailing", Euler, 8, prediction_type="v_prediction", timestep_spacing="trailing",
         **SD)
    case("euler_cosine_sample_linspace_n7", Euler, 7, beta_schedule="squaredcos_cap_v2", prediction_type="sample")
    case("euler_linear_epsilon_linspace_n6_fractional", Euler, 6)
    case("euler_cosine_vpred_leading", Euler, 5, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction",
         timestep_spacing="leading")
    case("euler_n100_trailing", Euler, 6, num_train_timesteps=100, beta_start=0.001, beta_end=0.05,
         timestep_spacing="trailing")
    # DPM-Solver++ (2M)
    case("dpm_linear_epsilon_linspace", DPMSolver, 10)
    case("dpm_sd_config_leading_offset1", DPMSolver, 10, timestep_spacing="leading", steps_offset=1, **SD)
    case("dpm_scaled_linear_vpred_trailing", DPMSolver, 8, prediction_type="v_prediction",
         timestep_spacing="trailing", **SD)
    case("dpm_cosine_sample_linspace_n6", DPMSolver, 6, beta_schedule="squaredcos_cap_v2", prediction_type="sample")
    case("dpm_linear_epsilon_linspace_n16", DPMSolver, 16)
    case("dpm_linear_epsilon_sigma_min_n16", DPMSolver, 16, final_sigmas_type="sigma_min")
    case("dpm_linear_epsilon_sigma_min_n8", DPMSolver, 8, final_sigmas_type="sigma_min")
    case("dpm_cosine_vpred_trailing", DPMSolver, 7, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction",
         timestep_spacing="trailing")
    case("dpm_order1_linear_epsilon", DPMSolver, 5, solver_order=1)
    case("dpm_n100_trailing", DPMSolver, 6, num_train_timesteps=100, beta_start=0.001, beta_end=0.05,
         timestep_spacing="trailing")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith(".json"):
            os.remove(os.path.join(OUT, fn))
    all_cases()
    set_timesteps_table()
    with open(os.path.join(OUT, "beta_schedules.json"), "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}"
                                   for k, v in SCHEDULE_TABLES.items()) + "\n}\n")
    with open(os.path.join(OUT, "index.json"), "w") as f:
        f.write("[\n" + ",\n".join(" " + json.dumps(e) for e in INDEX) + "\n]\n")
    print(f"wrote {len(INDEX)} scheduler cases to {os.path.relpath(OUT, REPO)}")
