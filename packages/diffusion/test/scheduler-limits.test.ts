// Findings of issue 22 on the schedulers and pipelines, each with the behaviour that was wrong:
// - a config's numTrainTimesteps sized the float64 tables unchecked (1e9 was killed at 22.5 GB);
// - DPM-Solver++ at 1000 steps repeats timestep 500 (as diffusers does) and the second-order
//   update then divided by a zero step: the sample was NaN from there on;
// - schedulerFromConfig('{bad') threw a bare SyntaxError; DDPMPipeline.generate({ latents: 'bad' })
//   failed with 'init.mul is not a function'.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  DDIMScheduler,
  DDPMPipeline,
  DDPMScheduler,
  DPMSolverMultistepScheduler,
  EulerDiscreteScheduler,
  MAX_TRAIN_TIMESTEPS,
  schedulerFromConfig,
  UNet2DModel,
} from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const CLASSES = [DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler];

describe('numTrainTimesteps is bounded', () => {
  for (const C of CLASSES) {
    it(`${C.name}: 1e9 is refused with a clear error before any table is built`, () => {
      expect(() => new C({ numTrainTimesteps: 1e9 })).toThrow(
        new RegExp(
          `${C.name}: config.numTrainTimesteps must be an integer in \\[1, 100000\\], got 1000000000`,
        ),
      );
      expect(() => C.fromConfig({ num_train_timesteps: MAX_TRAIN_TIMESTEPS + 1 })).toThrow(
        /numTrainTimesteps/,
      );
      // The bound itself is accepted (tables of 1e5 float64 values).
      expect(new C({ numTrainTimesteps: 4000 }).alphasCumprod.length).toBe(4000);
    });
  }
});

describe('DPM-Solver++ with as many inference steps as train timesteps', () => {
  const ref = JSON.parse(readFileSync(`${fixtures}dpm-many-steps.json`, 'utf8')) as {
    timesteps: Record<string, number[]>;
    repeats: number[];
    initial_sample: number[];
    shape: number[];
    prev_sample_after_step: Record<string, number[]>;
  };

  it("timesteps equal diffusers' set_timesteps(1000) for every spacing (linspace repeats 500)", () => {
    for (const spacing of ['linspace', 'leading', 'trailing'] as const) {
      const s = new DPMSolverMultistepScheduler({ timestepSpacing: spacing });
      s.setTimesteps(1000);
      expect(s.timesteps, spacing).toEqual(ref.timesteps[spacing]);
    }
    expect(ref.repeats).toEqual([500]);
  });

  it('1000 steps stay finite and follow the float64 reference (first order across the repeated step)', () => {
    const s = new DPMSolverMultistepScheduler();
    s.setTimesteps(1000);
    let x = tensor(Float32Array.from(ref.initial_sample), ref.shape);
    for (let k = 0; k < s.timesteps.length; k++) {
      const eps = x.mul(0.3).add(0.1);
      const out = s.step(eps, s.timesteps[k], x);
      eps.dispose();
      out.predOriginalSample.dispose();
      x.dispose();
      x = out.prevSample;
      const got = Array.from(x.dataSync());
      expect(got.every(Number.isFinite), `step ${k} (t = ${s.timesteps[k]}): ${got}`).toBe(true);
      const want = ref.prev_sample_after_step[String(k)];
      if (want) {
        got.forEach((g, i) => {
          expect(Math.abs(g - want[i]), `step ${k}[${i}]`).toBeLessThanOrEqual(
            1e-4 + 1e-4 * Math.abs(want[i]),
          );
        });
      }
    }
    s.dispose();
    x.dispose();
  });
});

describe('clear errors for malformed inputs', () => {
  it('schedulerFromConfig names bad JSON text and non-object configs', () => {
    expect(() => schedulerFromConfig('{bad')).toThrow(
      /^schedulerFromConfig: the config text is not valid JSON/,
    );
    expect(() => schedulerFromConfig('{bad')).not.toThrow(SyntaxError);
    expect(() => schedulerFromConfig('[1, 2]')).toThrow(
      /schedulerFromConfig: expected a scheduler_config.json object or its JSON text, got an array/,
    );
    expect(() => schedulerFromConfig(null)).toThrow(/got null/);
  });

  it('DDPMPipeline.generate checks latents before use', async () => {
    const unet = await UNet2DModel.fromPretrained(`${fixtures}models/unet2d_tiny`);
    const pipe = new DDPMPipeline(unet, new DDPMScheduler());
    const c = unet.config.inChannels;
    await expect(pipe.generate({ latents: 'bad' as never, numInferenceSteps: 2 })).rejects.toThrow(
      /DDPMPipeline.generate: options.latents must be a float32 Tensor of shape \[any, \d+, any, any\], got string/,
    );
    const wrong = tensor(new Float32Array(2 * (c + 1) * 4 * 4), [2, c + 1, 4, 4]);
    await expect(pipe.generate({ latents: wrong, numInferenceSteps: 2 })).rejects.toThrow(
      new RegExp(`options.latents must have shape \\[any, ${c}, any, any\\], got \\[2, ${c + 1}, 4, 4\\]`),
    );
    const ints = tensor(new Int32Array(c * 16), [1, c, 4, 4], 'int32');
    await expect(pipe.generate({ latents: ints, numInferenceSteps: 2 })).rejects.toThrow(
      /must be a float tensor/,
    );
    for (const t of [wrong, ints]) t.dispose();
  });
});
