// Classifier-free guidance of ClassConditionalPipeline: the combination rule against a loop that
// runs the conditional and unconditional U-Net passes separately and combines them on the host,
// the no-guidance rule (s ≤ 1: one conditional pass), the refusals, and on the embedded tiny
// shapes model a paired statistical test that guidance raises the classifier's confidence.
import '@attnkit/backend-cpu';
import { Generator, manualSeed, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  ClassConditionalPipeline,
  DDIMScheduler,
  denoise,
  loadShapeClassifier,
  loadTinyShapesModel,
  loadTinyShapesPipeline,
  trainDenoiser,
  UNet2DModel,
} from '../src/index.js';

/** A small random class-conditional U-Net with 3 classes and the null class (row 3). */
function tinyUNet(nullClass: boolean): UNet2DModel {
  manualSeed(7);
  return new UNet2DModel({
    sample_size: 8,
    in_channels: 1,
    out_channels: 1,
    block_out_channels: [8, 16],
    down_block_types: ['DownBlock2D', 'DownBlock2D'],
    up_block_types: ['UpBlock2D', 'UpBlock2D'],
    layers_per_block: 1,
    add_attention: false,
    norm_num_groups: 4,
    num_class_embeds: nullClass ? 4 : 3,
    ...(nullClass ? { null_class_index: 3 } : {}),
  });
}

const N_SAMPLES = 50;
const GUIDED_SCALE = 2;

/** n choose k, exactly for the small n used here. */
function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

const scheduler = () => new DDIMScheduler({ betaSchedule: 'squaredcos_cap_v2', clipSample: false });

describe('ClassConditionalPipeline guidanceScale', () => {
  it('equals uncond + s·(cond − uncond) of two separate U-Net passes, combined on the host', async () => {
    const unet = tinyUNet(true);
    const labels = [0, 2, 1];
    const s = 4;
    const pipe = new ClassConditionalPipeline(unet, scheduler());
    const { sample } = await pipe.generate({
      classLabels: labels,
      guidanceScale: s,
      numInferenceSteps: 6,
      generator: new Generator(11),
    });
    // the reference: the null class and the classes in two forward calls, combined in float64 JS
    const want = await denoise(
      (x, t) => {
        const u = unet.forward(x, t, [3, 3, 3]).dataSync();
        const c = unet.forward(x, t, labels).dataSync();
        return tensor(
          Float32Array.from(u, (uv, i) => uv + s * (c[i] - uv)),
          x.shape,
        );
      },
      { scheduler: scheduler(), numInferenceSteps: 6, shape: [3, 1, 8, 8], generator: new Generator(11) },
    );
    const got = await sample.data();
    const ref = await want.data();
    let worst = 0;
    let moved = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
    expect(worst).toBeLessThan(1e-4);
    // and guidance changed the result: the unguided sample is elsewhere
    const plain = await pipe.generate({
      classLabels: labels,
      numInferenceSteps: 6,
      generator: new Generator(11),
    });
    const p = await plain.sample.data();
    for (let i = 0; i < ref.length; i++) moved = Math.max(moved, Math.abs(p[i] - ref[i]));
    expect(moved).toBeGreaterThan(1e-2);
    for (const t of [sample, want, plain.sample]) t.dispose();
    unet.dispose();
  });

  it('runs one conditional pass and no unconditional one when s ≤ 1 (diffusers: guidance off)', async () => {
    const unet = tinyUNet(true);
    const batches: number[][] = [];
    const forward = unet.forward.bind(unet);
    unet.forward = (x: Tensor, t: number | readonly number[], y?: Tensor | readonly number[]) => {
      batches.push(Array.from((y as Tensor).dataSync()));
      return forward(x, t, y);
    };
    const pipe = new ClassConditionalPipeline(unet, scheduler());
    const run = async (guidanceScale?: number) => {
      batches.length = 0;
      const { sample } = await pipe.generate({
        classLabels: [1, 0],
        numInferenceSteps: 3,
        generator: new Generator(2),
        ...(guidanceScale === undefined ? {} : { guidanceScale }),
      });
      const v = Array.from(await sample.data());
      sample.dispose();
      return v;
    };
    const plain = await run();
    expect(batches).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    for (const s of [1, 0, -2]) expect(await run(s)).toEqual(plain);
    await run(2);
    // [uncond; cond] in one batch, as diffusers concatenates them
    expect(batches[0]).toEqual([3, 3, 1, 0]);
    expect(batches).toHaveLength(3);
    unet.dispose();
  });

  it('refuses guidance without a null class, a bad scale, the null class as a label, and a misplaced null row', async () => {
    const plain = new ClassConditionalPipeline(tinyUNet(false), scheduler());
    await expect(
      plain.generate({ classLabels: [0], guidanceScale: 3, numInferenceSteps: 2 }),
    ).rejects.toThrow(
      /ClassConditionalPipeline.generate: guidanceScale 3 needs an unconditional mode, but the U-Net has no null class \(config.null_class_index is not set\)/,
    );
    plain.unet.dispose();
    const pipe = new ClassConditionalPipeline(tinyUNet(true), scheduler());
    await expect(pipe.generate({ classLabels: [0], guidanceScale: Number.NaN })).rejects.toThrow(
      /guidanceScale must be a finite number, got NaN/,
    );
    await expect(pipe.generate({ classLabels: [3], guidanceScale: 3 })).rejects.toThrow(
      /classLabels\[0\] must be an integer in \[0, 3\), got 3 \(the null class; guidanceScale uses it\)/,
    );
    pipe.unet.dispose();
    expect(() => new UNet2DModel({ num_class_embeds: 4, null_class_index: 0 })).toThrow(
      /UNet2DModel: config.nullClassIndex must be the last class embedding row \(numClassEmbeds − 1 = 3\), got 0/,
    );
    expect(() => new UNet2DModel({ null_class_index: 0 })).toThrow(
      /config.nullClassIndex must be the last class embedding row \(numClassEmbeds − 1 = none, numClassEmbeds is null\)/,
    );
  });
});

describe('trainDenoiser labelDropout (class dropout for classifier-free guidance)', () => {
  it('replaces about that share of the labels by nullLabel and keeps the rest', async () => {
    const unet = tinyUNet(true);
    const seen: number[] = [];
    const forward = unet.forward.bind(unet);
    unet.forward = (x: Tensor, t: number | readonly number[], y?: Tensor | readonly number[]) => {
      seen.push(...(y as Tensor).dataSync());
      return forward(x, t, y);
    };
    const n = 12;
    const data = tensor(new Float32Array(n * 64).fill(0.5), [n, 1, 8, 8]);
    const labels = tensor(
      Int32Array.from({ length: n }, (_, i) => i % 3),
      [n],
      'int32',
    );
    const sched = new DDIMScheduler();
    const train = (labelDropout?: number) =>
      trainDenoiser({
        model: unet,
        scheduler: sched,
        data,
        labels,
        labelDropout,
        nullLabel: 3,
        steps: labelDropout ? 4 : 1,
        batchSize: 64,
        ema: false,
      });
    await train(0.25);
    expect(seen).toHaveLength(256);
    const nulls = seen.filter((l) => l === 3).length;
    // Binomial(256, 0.25): mean 64, standard deviation 6.9; ±4 sd
    expect(nulls).toBeGreaterThan(64 - 28);
    expect(nulls).toBeLessThan(64 + 28);
    expect(seen.every((l) => l >= 0 && l <= 3)).toBe(true);
    seen.length = 0;
    await train();
    expect(seen.filter((l) => l === 3)).toHaveLength(0);
    await expect(
      trainDenoiser({ model: unet, scheduler: sched, data, labels, labelDropout: 0.1, steps: 1 }),
    ).rejects.toThrow(
      /trainDenoiser: options.labelDropout needs options.nullLabel, a non-negative integer label, got undefined/,
    );
    await expect(
      trainDenoiser({ model: unet, scheduler: sched, data, labels, labelDropout: 1, nullLabel: 3, steps: 1 }),
    ).rejects.toThrow(/options.labelDropout must be a number in \[0, 1\), got 1/);
    await expect(
      trainDenoiser({ model: unet, scheduler: sched, data, labelDropout: 0.1, nullLabel: 3, steps: 1 }),
    ).rejects.toThrow(/options.labelDropout needs options.labels/);
    for (const t of [data, labels]) t.dispose();
    unet.dispose();
  }, 120_000);
});

describe('guidance on the embedded tiny shapes model', () => {
  it('loads with its null class recorded in the config', async () => {
    const { unet } = await loadTinyShapesModel();
    expect(unet.config.numClassEmbeds).toBe(11);
    expect(unet.config.nullClassIndex).toBe(10);
    unet.dispose();
  });

  it('raises the classifier’s probability of the wanted class (paired over the same noises)', async () => {
    const pipe = await loadTinyShapesPipeline();
    const clf = await loadShapeClassifier();
    const wanted = Array.from({ length: N_SAMPLES }, (_, i) => i % 10);
    /** p(wanted class) of each sample at scale s, from the same starting noises (seed 31). */
    const probs = async (s: number): Promise<number[]> => {
      const { sample } = await pipe.generate({
        classLabels: wanted,
        numInferenceSteps: 20,
        guidanceScale: s,
        generator: new Generator(31),
      });
      const logits = await clf.forward(sample).data();
      sample.dispose();
      return wanted.map((c, b) => {
        const row = Array.from(logits.subarray(b * 10, (b + 1) * 10));
        const m = Math.max(...row);
        return Math.exp(row[c] - m) / row.reduce((a, v) => a + Math.exp(v - m), 0);
      });
    };
    const plain = await probs(1);
    const guided = await probs(GUIDED_SCALE);
    const d = guided.map((p, i) => p - plain[i]);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    // A sign test on the paired differences: without an effect, each sample is as likely to gain
    // as to lose, so the number of gains is Binomial(n, 1/2) (ties dropped).
    const gains = d.filter((v) => v > 0).length;
    const n = d.filter((v) => v !== 0).length;
    let tail = 0; // P(X ≥ gains) for X ~ Binomial(n, 1/2)
    for (let k = gains; k <= n; k++) tail += binomial(n, k) / 2 ** n;
    console.log(
      `tiny shapes, ${N_SAMPLES} DDIM-20 samples: mean p(wanted class) ${mean(plain).toFixed(4)} at s = 1, ${mean(guided).toFixed(4)} at s = ${GUIDED_SCALE}; ${gains}/${n} samples gain (one-sided sign test p = ${tail.toExponential(2)})`,
    );
    expect(mean(guided)).toBeGreaterThan(mean(plain));
    expect(tail).toBeLessThan(1e-3);
    pipe.unet.dispose();
    clf.dispose();
  }, 600_000);
});
