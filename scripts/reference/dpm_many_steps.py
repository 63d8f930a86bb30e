#!/usr/bin/env python3
"""Reference for DPMSolverMultistepScheduler with as many inference steps as train timesteps.

diffusers is not installed here, so this reuses schedulers.py: a float64 numpy re-implementation of
diffusers' DPMSolverMultistepScheduler written from its source (schedulers/scheduling_dpmsolver_multistep.py,
set_timesteps and the dpmsolver++ 2M update). With num_inference_steps = 1000 and 'linspace' spacing,
np.linspace(0, 999, 1001).round() rounds 499.5 and 500.499 both to 500, so diffusers' timesteps repeat
500 (checked here, and reproduced exactly by attnkit). At the repeat the lambda step h is 0, and at the
step after it the previous step h0 is 0, so diffusers' second-order update divides by r0 = h0 / h = 0
and the sample becomes inf/NaN. attnkit (and this reference, the one deviation from diffusers) takes the
first-order update when either step is of zero length: the repeated step then leaves the sample as it is.

Run:  /work/venv-ref/bin/python scripts/reference/dpm_many_steps.py   (any python3 with numpy)
Writes packages/diffusion/test/fixtures/dpm-many-steps.json (timesteps for the three spacings and the
trajectory of a linear toy model, epsilon = 0.3 * sample + 0.1, at a few step indices).
"""
import importlib.util
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("schedulers_ref", os.path.join(HERE, "schedulers.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
OUT = os.path.join(HERE, "..", "..", "packages", "diffusion", "test", "fixtures", "dpm-many-steps.json")


class DPMZeroStepSafe(ref.DPMSolver):
    """schedulers.py's DPM-Solver++ 2M, with the first-order update where h or h0 is 0."""

    def step(self, model_output, t, sample, noise=None):
        i = self.step_index if self.step_index is not None else self.index_for_timestep(t)
        zero = self.sigmas[i + 1] == self.sigmas[i] or (i >= 1 and self.sigmas[i] == self.sigmas[i - 1])
        if zero and self.lower_order_nums >= 1:
            saved = self.lower_order_nums
            self.lower_order_nums = 0  # forces order 1 for this step
            out = super().step(model_output, t, sample, noise)
            self.lower_order_nums = max(saved, self.lower_order_nums)
            return out
        return super().step(model_output, t, sample, noise)


def main():
    timesteps = {}
    for spacing in ("linspace", "leading", "trailing"):
        s = ref.DPMSolver(timestep_spacing=spacing)
        s.set_timesteps(1000)
        timesteps[spacing] = [int(t) for t in s.timesteps]
    lin = timesteps["linspace"]
    repeats = sorted({t for t in lin if lin.count(t) > 1})
    assert repeats == [500], repeats

    s = DPMZeroStepSafe()
    s.set_timesteps(1000)
    sample = np.array([0.5, -1.2, 0.8, 1.5], dtype=np.float64).reshape(1, 1, 2, 2)
    checkpoints = {}
    keep = {0, 1, 498, 499, 500, 501, 502, 503, 998, 999}
    for k, t in enumerate(s.timesteps):
        eps = 0.3 * sample + 0.1
        out = s.step(eps, int(t), sample)
        sample = out["prev_sample"]
        assert np.all(np.isfinite(sample)), k
        if k in keep:
            checkpoints[str(k)] = [float(v) for v in sample.reshape(-1)]
    with open(OUT, "w") as f:
        json.dump({"note": __doc__.split("\n\n")[0], "timesteps": timesteps, "repeats": repeats,
                   "initial_sample": [0.5, -1.2, 0.8, 1.5], "shape": [1, 1, 2, 2],
                   "model": "epsilon = 0.3 * sample + 0.1", "prev_sample_after_step": checkpoints}, f)
    print(f"wrote {os.path.relpath(OUT)}; linspace repeats {repeats}")


if __name__ == "__main__":
    main()
