// Seeded fuzzing of diffusers scheduler_config.json loading (issue 22): 1,000 mutations of real
// configs (the fixtures' DDPM/DDIM/Euler/DPM-Solver configs), as text and as objects, each through
// schedulerFromConfig and setTimesteps. Each must either give a working scheduler or end in an attnkit
// error: one whose message starts with the function or scheduler that refused it (never a bare
// SyntaxError, a "Cannot read properties of undefined" TypeError or a RangeError from an array
// allocation), and no config may size tables beyond MAX_TRAIN_TIMESTEPS.
import '@attnkit/backend-cpu';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_TRAIN_TIMESTEPS, schedulerFromConfig } from '../src/index.js';

const dir = fileURLToPath(new URL('./fixtures/schedulers/', import.meta.url));
const CLASS: Record<string, string> = {
  ddpm: 'DDPMScheduler',
  ddim: 'DDIMScheduler',
  euler: 'EulerDiscreteScheduler',
  dpm: 'DPMSolverMultistepScheduler',
};
const bases = readdirSync(dir)
  .filter((f) => /^(ddpm|ddim|euler|dpm)_/.test(f))
  .map((f) => ({
    _class_name: CLASS[f.split('_')[0]],
    ...(JSON.parse(readFileSync(`${dir}${f}`, 'utf8')).config as Record<string, unknown>),
  }));

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  0.5,
  1e9,
  1e308,
  -1e-300,
  Number.NaN,
  '',
  'linear',
  'trailing',
  'nope',
  [],
  [0.1, 0.2],
  {},
  { a: 1 },
  '1000',
  2 ** 53,
];

/** One mutation of a config: a value replaced, a key dropped/added/renamed, or the JSON text damaged. */
function mutate(base: Record<string, unknown>, r: () => number): unknown {
  const pick = (n: number) => Math.floor(r() * n);
  const c: Record<string, unknown> = structuredClone(base);
  const keys = Object.keys(c);
  const key = keys[pick(keys.length)];
  switch (pick(8)) {
    case 0:
      c[key] = ODD_VALUES[pick(ODD_VALUES.length)];
      return c;
    case 1:
      delete c[key];
      return c;
    case 2:
      c[`${key}_x`] = ODD_VALUES[pick(ODD_VALUES.length)];
      return c;
    case 3:
      c._class_name = ['DDPMScheduler', 'PNDMScheduler', 42, null, 'EulerDiscreteScheduler'][pick(5)];
      return c;
    case 4: {
      // numeric fields pushed to extremes
      const n = keys.filter((k) => typeof c[k] === 'number');
      const k = n[pick(n.length)] ?? 'num_train_timesteps';
      c[k] = [0, -3, 1e12, MAX_TRAIN_TIMESTEPS + 1, 1.5, 1 - 1e-12, 7][pick(7)];
      return c;
    }
    case 5: {
      // trained_betas of a wrong length or with bad entries
      const n = typeof c.num_train_timesteps === 'number' ? c.num_train_timesteps : 1000;
      c.trained_betas = [Array(Math.min(n, 64)).fill(0.01), [0.1, 'x'], Array(3).fill(2), 'betas'][pick(4)];
      return c;
    }
    case 6: {
      // damaged JSON text
      const text = JSON.stringify(c);
      const at = pick(text.length);
      return [
        text.slice(0, at),
        `${text.slice(0, at)}}${text.slice(at)}`,
        text.replace(/"/g, "'"),
        `[${text}]`,
      ][pick(4)];
    }
    default:
      return JSON.stringify(c);
  }
}

describe('scheduler_config.json fuzzing', () => {
  it('1,000 seeded mutated configs give a working scheduler or an error naming who refused them', () => {
    expect(bases.length).toBeGreaterThanOrEqual(20);
    let loaded = 0;
    let refused = 0;
    for (let seed = 0; seed < 1000; seed++) {
      const r = rng(seed * 7907 + 5);
      const config = mutate(bases[seed % bases.length], r);
      try {
        const s = schedulerFromConfig(config);
        expect(s.alphasCumprod.length).toBeLessThanOrEqual(MAX_TRAIN_TIMESTEPS);
        const steps = 1 + Math.floor(r() * 25);
        try {
          s.setTimesteps(steps);
        } catch (e) {
          // more steps than train timesteps is refused by setTimesteps, by name
          expect((e as Error).message, `seed ${seed}`).toMatch(/^\w+Scheduler\.setTimesteps: /);
          refused++;
          continue;
        }
        expect(s.timesteps.length, `seed ${seed}`).toBeGreaterThan(0);
        expect(
          s.timesteps.every((t) => Number.isFinite(t)),
          `seed ${seed}`,
        ).toBe(true);
        loaded++;
      } catch (e) {
        const msg = String((e as Error)?.message);
        if (
          !/^(schedulerFromConfig|(DDPM|DDIM|EulerDiscrete|DPMSolverMultistep)Scheduler(\.fromConfig)?): /.test(
            msg,
          )
        ) {
          throw new Error(`seed ${seed}: not an attnkit error: ${(e as Error)?.constructor?.name}: ${msg}`);
        }
        refused++;
      }
    }
    expect(loaded + refused).toBe(1000);
    expect(loaded).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
