// Training on 2-D toy data: a short run of trainDenoiser must bring the energy distance between
// generated and real points well below that of pure Gaussian noise (the untrained baseline).
import '@attnkit/backend-cpu';
import { Generator, memory, randn, type Tensor, tensor } from '@attnkit/tensor-core';
import { Parameter } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import {
  DDIMScheduler,
  DDPMScheduler,
  denoise,
  EMAModel,
  energyDistance,
  MLPDenoiser,
  makeMoons,
  makeRings,
  makeSwissRoll,
  trainDenoiser,
  UNet2DModel,
} from '../src/index.js';

type Maker = (n: number, o: { generator: Generator }) => Tensor;

async function trainAndSample(
  make: Maker,
  objective: 'epsilon' | 'v_prediction',
  steps: number,
  hidden: number,
) {
  const data = make(2000, { generator: new Generator(1) });
  const model = new MLPDenoiser({ dim: 2, hidden, layers: 3, generator: new Generator(2) });
  const scheduler = new DDPMScheduler({
    betaSchedule: 'squaredcos_cap_v2',
    clipSample: false,
    predictionType: objective,
  });
  const { losses, ema } = await trainDenoiser({
    model,
    scheduler,
    data,
    steps,
    batchSize: 128,
    lr: 3e-3,
    lrSchedule: 'cosine',
    generator: new Generator(3),
    ema: { decay: 0.995 },
  });
  ema?.copyTo(model.parameters());
  const sampler = new DDIMScheduler({
    betaSchedule: 'squaredcos_cap_v2',
    clipSample: false,
    predictionType: objective,
  });
  const samples = await denoise((x, t) => model.forward(x, t), {
    scheduler: sampler,
    numInferenceSteps: 50,
    shape: [600, 2],
    generator: new Generator(4),
  });
  const real = make(600, { generator: new Generator(9) });
  const noise = randn([600, 2], { generator: new Generator(5) });
  const generated = energyDistance(samples, real);
  const baseline = energyDistance(noise, real);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  for (const t of [data, samples, real, noise]) t.dispose();
  ema?.dispose();
  model.dispose();
  return { generated, baseline, firstLoss: mean(losses.slice(0, 20)), lastLoss: mean(losses.slice(-100)) };
}

describe('trainDenoiser on 2-D toy distributions (energy distance, 600 points, DDIM 50 steps)', () => {
  const cases: [string, Maker, 'epsilon' | 'v_prediction', number, number, number][] = [
    // name, data, objective, steps, hidden width, required ratio generated / noise baseline
    ['moons', makeMoons, 'epsilon', 600, 64, 0.1],
    ['swiss roll', makeSwissRoll, 'v_prediction', 600, 64, 0.15],
    ['rings', makeRings, 'epsilon', 800, 128, 0.3],
  ];
  for (const [name, make, objective, steps, hidden, ratio] of cases) {
    it(`${name} (${objective}, ${steps} steps): energy distance < ${ratio} × the noise baseline`, async () => {
      const r = await trainAndSample(make, objective, steps, hidden);
      console.log(
        `${name}: energy distance generated ${r.generated.toFixed(4)} vs pure noise ${r.baseline.toFixed(4)}; loss ${r.firstLoss.toFixed(3)} -> ${r.lastLoss.toFixed(3)}`,
      );
      expect(r.lastLoss).toBeLessThan(r.firstLoss);
      expect(r.baseline).toBeGreaterThan(0.03);
      expect(r.generated).toBeLessThan(ratio * r.baseline);
    }, 120_000);
  }
});

describe('EMAModel', () => {
  it("follows diffusers' decay schedule and update rule", () => {
    const p = new Parameter(tensor([1, 2]));
    const ema = new EMAModel([p], { decay: 0.5 });
    // step 1: decay = 0 (copies); step 2: (1+1)/(10+1) = 0.1818 > 0.5? no: min(0.1818, 0.5)
    expect(ema.getDecay(1)).toBe(0);
    expect(ema.getDecay(2)).toBeCloseTo(2 / 11, 15);
    expect(ema.getDecay(100)).toBe(0.5);
    p.copy_(tensor([3, 4]));
    ema.step([p]); // decay 0: shadow = param
    expect(Array.from(ema.shadowParams[0].dataSync())).toEqual([3, 4]);
    p.copy_(tensor([5, 6]));
    ema.step([p]); // shadow -= (1 - 2/11)(shadow - p)
    const d = 2 / 11;
    const want = [3 - (1 - d) * (3 - 5), 4 - (1 - d) * (4 - 6)];
    const got = ema.shadowParams[0].dataSync();
    expect(got[0]).toBeCloseTo(want[0], 5);
    expect(got[1]).toBeCloseTo(want[1], 5);
    ema.store([p]);
    ema.copyTo([p]);
    expect(p.dataSync()[0]).toBeCloseTo(want[0], 5);
    ema.restore([p]);
    expect(Array.from(p.dataSync())).toEqual([5, 6]);
    expect(() => ema.step([p, p])).toThrow(/EMAModel.step: got 2 parameters, but the EMA tracks 1/);
    ema.dispose();
    p.dispose();
  });
});

describe('trainDenoiser: progress', () => {
  it('draws progress lines with the step, the loss onStep saw, and a final newline on a terminal', async () => {
    const data = makeMoons(32, { generator: new Generator(2) });
    const scheduler = new DDPMScheduler();
    const losses: number[] = [];
    const lines: string[] = [];
    await trainDenoiser({
      model: new MLPDenoiser({ dim: 2, hidden: 8, layers: 1 }),
      scheduler,
      data,
      steps: 5,
      batchSize: 8,
      onStep: ({ loss }) => losses.push(loss),
      progressBar: { write: (s) => lines.push(s), isTTY: false },
      progressEvery: 2,
    });
    // Not a terminal: a line every 2 steps and after the last.
    expect(lines.map((l) => l.match(/\] (\d+)\/5 /)?.[1])).toEqual(['2', '4', '5']);
    expect(lines[2]).toContain(`loss ${losses[4].toFixed(4)}`);
    expect(lines[2]).toMatch(/^\[#{30}\] 5\/5 .*it\/s\n$/);
    const tty: string[] = [];
    await trainDenoiser({
      model: new MLPDenoiser({ dim: 2, hidden: 8, layers: 1 }),
      scheduler,
      data,
      steps: 3,
      batchSize: 8,
      progressBar: { write: (s) => tty.push(s), isTTY: true },
    });
    expect(tty.length).toBe(4); // redrawn every step, then a newline
    expect(tty.slice(0, 3).every((s) => s.startsWith('\r['))).toBe(true);
    expect(tty[3]).toBe('\n');
  });
});

describe('trainDenoiser: memory and errors', () => {
  it('holds memory flat across steps', async () => {
    const data = makeMoons(64, { generator: new Generator(1) });
    const model = new MLPDenoiser({ dim: 2, hidden: 16, layers: 1 });
    const scheduler = new DDPMScheduler();
    const counts: number[] = [];
    await trainDenoiser({
      model,
      scheduler,
      data,
      steps: 12,
      batchSize: 8,
      onStep: () => {
        counts.push(memory().cpu.numTensors);
      },
    });
    expect(counts[11]).toBe(counts[2]);
  });

  it('rejects bad options with clear errors', async () => {
    const data = makeMoons(8);
    const model = new MLPDenoiser({ dim: 2, hidden: 8, layers: 1 });
    const scheduler = new DDPMScheduler();
    await expect(trainDenoiser({ model, scheduler, data, steps: 0 })).rejects.toThrow(
      /options.steps must be a positive integer, got 0/,
    );
    await expect(
      trainDenoiser({ model, scheduler, data, steps: 1, objective: 'x0' as never }),
    ).rejects.toThrow(/options.objective must be 'epsilon', 'v_prediction' or 'sample'/);
    await expect(
      trainDenoiser({ model, scheduler, data, steps: 1, labels: tensor(new Int32Array(3), [3], 'int32') }),
    ).rejects.toThrow(/options.labels must have shape \[8\]/);
    expect(() => model.forward(tensor(new Float32Array(9), [3, 3]), 1)).toThrow(
      /MLPDenoiser.forward: expected x \[B, 2\], got \[3, 3\]/,
    );
    expect(() => makeMoons(0)).toThrow(/makeMoons: n must be a positive integer, got 0/);
  });

  it('energyDistance is zero for identical sets and matches a hand computation', () => {
    const a = tensor([
      [0, 0],
      [3, 4],
    ]);
    const b = tensor([
      [0, 0],
      [0, 1],
    ]);
    // V-statistic: 2·mean|a_i − b_j| − mean|a_i − a_j| − mean|b_i − b_j| = 2·(0 + 1 + 5 + √18)/4 − 10/4 − 2/4
    expect(energyDistance(a, b)).toBeCloseTo((2 * (0 + 1 + 5 + Math.sqrt(18))) / 4 - 2.5 - 0.5, 6);
    expect(energyDistance(a, a)).toBeCloseTo(0, 12);
  });
});

describe('trainDenoiser with a class-conditional UNet2DModel', () => {
  it('lowers the loss on 8×8 two-class images (horizontal vs vertical bars)', async () => {
    const n = 64;
    const px = new Float32Array(n * 64);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      labels[k] = k % 2;
      const phase = (k >> 1) % 2;
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) px[k * 64 + y * 8 + x] = ((labels[k] ? x : y) + phase) % 2 ? 1 : -1;
    }
    const data = tensor(px, [n, 1, 8, 8]);
    const model = new UNet2DModel({
      sampleSize: 8,
      inChannels: 1,
      outChannels: 1,
      blockOutChannels: [8, 16],
      downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D'],
      upBlockTypes: ['AttnUpBlock2D', 'UpBlock2D'],
      layersPerBlock: 1,
      normNumGroups: 4,
      attentionHeadDim: 8,
      numClassEmbeds: 2,
    });
    const { losses, ema } = await trainDenoiser({
      model,
      scheduler: new DDPMScheduler(),
      data,
      labels: tensor(labels, [n], 'int32'),
      steps: 40,
      batchSize: 16,
      lr: 3e-3,
      generator: new Generator(7),
    });
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    console.log(
      `class-conditional UNet2DModel: loss ${mean(losses.slice(0, 10)).toFixed(3)} -> ${mean(losses.slice(-10)).toFixed(3)}`,
    );
    expect(mean(losses.slice(-10))).toBeLessThan(0.8 * mean(losses.slice(0, 10)));
    ema?.dispose();
    model.dispose();
  }, 120_000);
});
