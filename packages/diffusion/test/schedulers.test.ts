import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Generator, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DDIMScheduler,
  DDPMScheduler,
  DPMSolverMultistepScheduler,
  EulerDiscreteScheduler,
  type Scheduler,
  schedulerFromConfig,
} from '../src/index.js';

const dir = fileURLToPath(new URL('./fixtures/schedulers/', import.meta.url));
const load = (name: string) => JSON.parse(readFileSync(`${dir}${name}`, 'utf8'));

interface Step {
  index: number;
  timestep: number;
  sample: number[];
  model_input?: number[];
  model_output: number[];
  noise: number[] | null;
  prev_sample: number[];
  pred_original_sample: number[];
}
interface Case {
  scheduler: string;
  config: Record<string, unknown>;
  num_inference_steps: number;
  eta: number | null;
  timesteps: number[];
  sigmas: number[] | null;
  init_noise_sigma: number;
  final_alpha_cumprod: number | null;
  beta_schedule_key: string;
  alphas_cumprod_length: number;
  alphas_cumprod_samples: { index: number[]; value: number[] };
  sample_shape: number[];
  steps: Step[];
  add_noise: {
    shape: number[];
    timesteps: number[];
    original_samples: number[];
    noise: number[];
    noisy_samples: number[];
    velocity?: number[];
  };
}

/**
 * Tolerance of the parity tests: |got − want| ≤ ATOL + RTOL·|want| per element, with the step input
 * taken from the fixture (float64 values rounded to float32 on upload).
 */
const ATOL = 1e-5;
const RTOL = 1e-5;

let worst = 0;
function expectClose(got: ArrayLike<number>, want: readonly number[], what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    worst = Math.max(worst, err / (ATOL + RTOL * Math.abs(want[i])));
    if (!(err <= ATOL + RTOL * Math.abs(want[i]))) {
      throw new Error(`${what}[${i}]: got ${got[i]}, want ${want[i]} (|diff| ${err.toExponential(3)})`);
    }
  }
}
function expectRel(got: number, want: number, what: string, tol = 1e-12): void {
  if (!(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)))) {
    throw new Error(`${what}: got ${got}, want ${want}`);
  }
}

const index: { name: string; scheduler: string }[] = load('index.json');
const betaTables = load('beta_schedules.json');

describe('scheduler parity with diffusers (float64 reference fixtures)', () => {
  for (const { name } of index) {
    it(name, () => {
      const c: Case = load(`${name}.json`);
      const s = schedulerFromConfig(c.config, c.scheduler as 'DDIMScheduler');
      expect(s.className).toBe(c.scheduler);
      // tables
      expect(s.alphasCumprod.length).toBe(c.alphas_cumprod_length);
      c.alphas_cumprod_samples.index.forEach((i, k) => {
        expectRel(s.alphasCumprod[i], c.alphas_cumprod_samples.value[k], `alphasCumprod[${i}]`);
      });
      const table = betaTables[c.beta_schedule_key];
      table.betas.forEach((b: number, i: number) => {
        expectRel(s.betas[i], b, `betas[${i}]`);
      });
      // set_timesteps
      s.setTimesteps(c.num_inference_steps);
      expect(s.timesteps).toEqual(c.timesteps);
      expectRel(s.initNoiseSigma, c.init_noise_sigma, 'initNoiseSigma');
      if (c.sigmas) {
        const sig = (s as EulerDiscreteScheduler).sigmas;
        expect(sig.length).toBe(c.sigmas.length);
        c.sigmas.forEach((v, i) => {
          expectRel(sig[i], v, `sigmas[${i}]`);
        });
      }
      if (c.final_alpha_cumprod !== null) {
        expectRel((s as DDIMScheduler).finalAlphaCumprod, c.final_alpha_cumprod, 'finalAlphaCumprod');
      }
      // steps, each from its stored input sample, in order (Euler and DPM are stateful)
      const shape = c.sample_shape;
      for (const st of c.steps) {
        const sample = tensor(Float64Array.from(st.sample), shape);
        const mo = tensor(Float64Array.from(st.model_output), shape);
        const noise = st.noise ? tensor(Float64Array.from(st.noise), shape) : undefined;
        if (st.model_input) {
          const mi = s.scaleModelInput(sample, st.timestep);
          expectClose(mi.dataSync(), st.model_input, `${name} step ${st.index} model_input`);
          mi.dispose();
        }
        const out = s.step(mo, st.timestep, sample, { noise, eta: c.eta ?? undefined });
        expectClose(out.prevSample.dataSync(), st.prev_sample, `${name} step ${st.index} prev_sample`);
        expectClose(
          out.predOriginalSample.dataSync(),
          st.pred_original_sample,
          `${name} step ${st.index} pred_original_sample`,
        );
        for (const t of [sample, mo, noise, out.prevSample, out.predOriginalSample]) t?.dispose();
      }
      // add_noise / get_velocity
      const an = c.add_noise;
      const x0 = tensor(Float64Array.from(an.original_samples), an.shape);
      const nz = tensor(Float64Array.from(an.noise), an.shape);
      const noisy = s.addNoise(x0, nz, an.timesteps);
      expectClose(noisy.dataSync(), an.noisy_samples, `${name} addNoise`);
      if (an.velocity) {
        const v = (s as DDPMScheduler).getVelocity(x0, nz, an.timesteps);
        expectClose(v.dataSync(), an.velocity, `${name} getVelocity`);
        v.dispose();
      }
      for (const t of [x0, nz, noisy]) t.dispose();
      (s as DPMSolverMultistepScheduler).dispose?.();
    });
  }

  afterAll(() => {
    // Each case above checks its own elements; this only reports the worst error seen, as a
    // fraction of the tolerance (after whichever of the cases ran, in whatever order).
    console.log(`scheduler parity: worst |diff| / (atol + rtol·|want|) = ${worst.toFixed(4)}`);
  });
});

describe('setTimesteps on every row of set_timesteps.json', () => {
  const rows: {
    scheduler: string;
    num_train_timesteps: number;
    timestep_spacing: string;
    steps_offset: number;
    num_inference_steps: number;
    timesteps: number[];
    sigmas: number[] | null;
    init_noise_sigma: number;
  }[] = load('set_timesteps.json').rows;

  it('has 264 rows', () => expect(rows.length).toBe(264));

  it('timesteps, sigmas and initNoiseSigma equal diffusers on all rows', () => {
    let checked = 0;
    for (const r of rows) {
      const s = schedulerFromConfig(
        {
          num_train_timesteps: r.num_train_timesteps,
          timestep_spacing: r.timestep_spacing,
          steps_offset: r.steps_offset,
        },
        r.scheduler as 'DDPMScheduler',
      );
      s.setTimesteps(r.num_inference_steps);
      const what = `${r.scheduler} N=${r.num_train_timesteps} ${r.timestep_spacing} offset=${r.steps_offset} n=${r.num_inference_steps}`;
      expect(s.timesteps, what).toEqual(r.timesteps);
      expectRel(s.initNoiseSigma, r.init_noise_sigma, `${what} initNoiseSigma`);
      if (r.sigmas) {
        const sig = (s as EulerDiscreteScheduler).sigmas;
        r.sigmas.forEach((v, i) => {
          expectRel(sig[i], v, `${what} sigmas[${i}]`);
        });
      }
      checked++;
    }
    expect(checked).toBe(264);
  });
});

describe('numpy rounding and spacing rules', () => {
  it('linspace with n = 7 rounds half to even (832 and 166, not 833 and 167)', () => {
    const s = new DDIMScheduler({ timestepSpacing: 'linspace' });
    s.setTimesteps(7);
    expect(s.timesteps).toEqual([999, 832, 666, 500, 333, 166, 0]);
  });
  it('DPM-Solver linspace uses n + 1 points and drops the last', () => {
    const s = new DPMSolverMultistepScheduler();
    s.setTimesteps(4);
    // np.linspace(0, 999, 5).round()[::-1][:-1] = [999, 749, 500, 250] (749.25 → 749, 249.75 → 250)
    expect(s.timesteps).toEqual([999, 749, 500, 250]);
  });
});

describe('config', () => {
  it('has diffusers defaults', () => {
    const d = new DDPMScheduler().config;
    expect(d).toMatchObject({
      numTrainTimesteps: 1000,
      betaStart: 0.0001,
      betaEnd: 0.02,
      betaSchedule: 'linear',
      varianceType: 'fixed_small',
      clipSample: true,
      clipSampleRange: 1,
      predictionType: 'epsilon',
      timestepSpacing: 'leading',
      stepsOffset: 0,
    });
    expect(new DDIMScheduler().config.setAlphaToOne).toBe(true);
    expect(new EulerDiscreteScheduler().config.timestepSpacing).toBe('linspace');
    expect(new DPMSolverMultistepScheduler().config.solverOrder).toBe(2);
  });

  it('fromConfig reads a Stable Diffusion PNDM config into DDIM (snake_case, extra keys ignored)', () => {
    const json = {
      _class_name: 'PNDMScheduler',
      _diffusers_version: '0.6.0',
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      num_train_timesteps: 1000,
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      trained_betas: null,
      clip_sample: false,
    };
    const s = DDIMScheduler.fromConfig(JSON.stringify(json));
    expect(s.config.betaSchedule).toBe('scaled_linear');
    expect(s.config.setAlphaToOne).toBe(false);
    expect(s.config.stepsOffset).toBe(1);
    expect(s.finalAlphaCumprod).toBeCloseTo(1 - 0.00085, 12);
    s.setTimesteps(10);
    expect(s.timesteps).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    const back = s.toJSON();
    expect(back._class_name).toBe('DDIMScheduler');
    expect(back.set_alpha_to_one).toBe(false);
  });

  it('trainedBetas overrides the schedule', () => {
    const s = new DDPMScheduler({ numTrainTimesteps: 3, trainedBetas: [0.1, 0.2, 0.5] });
    expect(Array.from(s.alphasCumprod)).toEqual([0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.5]);
  });

  it('rescaleBetasZeroSnr makes the last ᾱ zero and keeps the first', () => {
    const plain = new DDIMScheduler();
    const s = new DDIMScheduler({ rescaleBetasZeroSnr: true });
    expect(s.alphasCumprod[999]).toBeCloseTo(0, 15);
    expect(s.alphasCumprod[0]).toBeCloseTo(plain.alphasCumprod[0], 14);
  });

  it('rejects bad configs with clear errors', () => {
    expect(() => new DDPMScheduler({ betaSchedule: 'cosine' as never })).toThrow(
      /DDPMScheduler: config.betaSchedule must be one of "linear", "scaled_linear", "squaredcos_cap_v2"; got "cosine"/,
    );
    expect(() => new DDIMScheduler({ predictionType: 'eps' as never })).toThrow(
      /predictionType must be one of/,
    );
    expect(() => new EulerDiscreteScheduler({ timestepSpacing: 'uniform' as never })).toThrow(
      /timestepSpacing must be one of/,
    );
    expect(() => new DDPMScheduler({ num_train_timesteps: 10 } as never)).toThrow(
      /unknown config field 'num_train_timesteps' \(use camelCase 'numTrainTimesteps'/,
    );
    expect(() => new DDPMScheduler({ numTrainTimesteps: 0 })).toThrow(
      /numTrainTimesteps must be an integer in \[1, 100000\], got 0/,
    );
    expect(() => new DDPMScheduler({ clipSample: 'yes' as never })).toThrow(/clipSample must be a boolean/);
    expect(() => new DDPMScheduler({ numTrainTimesteps: 4, trainedBetas: [0.1, 0.2] })).toThrow(
      /trainedBetas has 2 values but numTrainTimesteps is 4/,
    );
    expect(() => new DDPMScheduler({ thresholding: true })).toThrow(
      /thresholding = boolean true is not supported/,
    );
    expect(() => new DPMSolverMultistepScheduler({ solverOrder: 3 })).toThrow(
      /solverOrder = number 3 is not supported/,
    );
    expect(() => new EulerDiscreteScheduler({ useKarrasSigmas: true })).toThrow(
      /Karras sigmas are not implemented/,
    );
    expect(() => DDIMScheduler.fromConfig('{not json')).toThrow(
      /DDIMScheduler.fromConfig: the config text is not valid JSON/,
    );
    expect(() => schedulerFromConfig({ _class_name: 'LMSDiscreteScheduler' })).toThrow(
      /unknown scheduler class "LMSDiscreteScheduler"/,
    );
  });

  it('rejects numInferenceSteps > numTrainTimesteps and bad step inputs', () => {
    const s = new DDIMScheduler({ numTrainTimesteps: 100 });
    expect(() => s.setTimesteps(101)).toThrow(
      /DDIMScheduler.setTimesteps: numInferenceSteps \(101\) cannot be larger than config.numTrainTimesteps \(100\)/,
    );
    expect(() => s.setTimesteps(0)).toThrow(/must be a positive integer, got 0/);
    const x = tensor([[1, 2]]);
    const y = tensor([[1, 2, 3]]);
    expect(() => s.step(x, 10, x)).toThrow(
      /DDIMScheduler.step: numInferenceSteps is not set; call setTimesteps/,
    );
    s.setTimesteps(10);
    expect(() => s.step(y, 90, x)).toThrow(/modelOutput has shape \[1, 3\] but sample has shape \[1, 2\]/);
    expect(() => s.step(x, 100, x)).toThrow(/timestep 100 is not an integer in \[0, 99\]/);
    expect(() => s.step(x, 90, x, { eta: -1 })).toThrow(/options.eta must be a number ≥ 0, got -1/);
    const d = new DDPMScheduler({ numTrainTimesteps: 100 });
    d.setTimesteps(10);
    expect(() => d.step(x, 55, x)).toThrow(/DDPMScheduler.step: timestep 55 is not in scheduler.timesteps/);
    const e = new EulerDiscreteScheduler();
    e.setTimesteps(5);
    expect(() => e.step(x, 3, x)).toThrow(
      /EulerDiscreteScheduler.step: timestep 3 is not in scheduler.timesteps/,
    );
    expect(() => s.addNoise(x, y, [1])).toThrow(
      /originalSamples has shape \[1, 2\] but noise has shape \[1, 3\]/,
    );
    expect(() => s.addNoise(x, x, [1, 2])).toThrow(/got 2 timesteps for a batch of 1/);
    x.dispose();
    y.dispose();
  });
});

describe('sampling loops', () => {
  const loop = (s: Scheduler, steps: number, seed: number) => {
    s.setTimesteps(steps);
    let x: Tensor = tensor(
      Float64Array.from({ length: 8 }, (_, i) => Math.sin(i + seed)),
      [1, 2, 2, 2],
    );
    for (const t of s.timesteps) {
      const eps = x.mul(0.1);
      const out = s.step(eps, t, x, { eta: 0.3 } as never);
      x.dispose();
      eps.dispose();
      out.predOriginalSample.dispose();
      x = out.prevSample;
    }
    return x;
  };

  it('hold memory flat over a 50-step loop (DDPM, DDIM, Euler, DPM-Solver)', () => {
    for (const make of [
      () => new DDPMScheduler(),
      () => new DDIMScheduler(),
      () => new EulerDiscreteScheduler(),
      () => new DPMSolverMultistepScheduler(),
    ]) {
      const warm = make();
      loop(warm, 5, 0).dispose();
      (warm as DPMSolverMultistepScheduler).dispose?.();
      const before = memory().cpu.numTensors;
      const s = make();
      const x = loop(s, 50, 1);
      x.dispose();
      (s as DPMSolverMultistepScheduler).dispose?.();
      expect(memory().cpu.numTensors, s.className).toBe(before);
    }
  });

  it('a seeded stochastic DDPM loop is deterministic', () => {
    {
      const run = () => {
        const s = new DDPMScheduler();
        s.setTimesteps(10);
        let x = tensor([0.5, -0.5, 0.25, 1], [1, 1, 2, 2]);
        const g = new Generator(7);
        for (const t of s.timesteps) {
          const out = s.step(x.mul(0.2), t, x, { generator: g });
          x = out.prevSample;
        }
        return Array.from(x.dataSync());
      };
      const a = run();
      const b = run();
      expect(a).toEqual(b);
      expect(a.some((v) => v !== 0)).toBe(true);
    }
  });
});
