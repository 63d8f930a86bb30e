// The preference-tuning helpers on the GPU backends (issue 19): DPO (dpoTrain), reward-model
// training (train() with rewardModelLoss), RewardModel.rewards / evaluateRewardModel, referenceKL
// and bestOfN run on webgpu (SwiftShader in Node, a backend that only reads asynchronously) and on
// gpujs, from the same initial weights and data as a CPU run, and give the CPU run's numbers: the
// DPO figures of every step (loss, reward accuracy, margin, mean rewards), train()'s losses and
// gradient norms, the evaluation loss, the tuned parameters, the rewards, the KL to the reference,
// and best-of-n's samples (the same tokens) and scores. memory() reports the same live tensors and
// bytes after every step as after the first, and the same after the scoring calls as before them.
//
// Tolerance: atol 1e-4 + rtol 1e-3, the project's GPU tolerance (see train-backends.test.ts for why
// a few AdamW steps stay far inside it: forward and backward differ from the CPU only by float32
// summation order).
import '@attnkit/backend-cpu';
import { existsSync } from 'node:fs';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { type Backend, manualSeed, memory, setBackend } from '@attnkit/tensor-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  bestOfN,
  type DPOStats,
  dpoTrain,
  evaluateRewardModel,
  exampleBatches,
  GPT2LMHeadModel,
  type PreferenceExample,
  preferenceCollator,
  type RewardEvaluation,
  RewardModel,
  referenceKL,
  rewardModelLoss,
  sftCollator,
  train,
} from '../src/index.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
vi.setConfig({ testTimeout: 300_000 });
afterAll(() => setBackend('cpu'));

const RTOL = 1e-3;
const ATOL = 1e-4;
const STEPS = 4;
const LR = 5e-2;
const E = 16;
/**
 * GPT-2's fused q/k/v bias: its key third adds q·b to every score of a query's row, which softmax
 * ignores, so its gradient is zero in exact arithmetic and float32 rounding noise in practice (on the
 * CPU too), and Adam turns noise into steps of up to lr. Those values are noise on every backend.
 */
const KEY_BIAS_IN = 'transformer.h.0.attn.c_attn.bias';

/** A one-layer GPT-2 over 12 symbols, without dropout (the runs must be deterministic). */
const gpt = () =>
  new GPT2LMHeadModel({
    vocabSize: 12,
    nPositions: 16,
    nEmbd: E,
    nLayer: 1,
    nHead: 2,
    residPdrop: 0,
    embdPdrop: 0,
    attnPdrop: 0,
  });

/** Preference pairs over the 12 symbols: the chosen answer counts up from the prompt's last symbol. */
const pairs: PreferenceExample[] = Array.from({ length: 8 }, (_, i) => {
  const prompt = [1 + (i % 5), 2 + ((i * 3) % 7), 3 + (i % 4)];
  const last = prompt[2];
  const chosen = [(last + 1) % 12, (last + 2) % 12, (last + 3) % 12].slice(0, 2 + (i % 2));
  const rejected = [(last + 5) % 12, (last * 7) % 12, (last + 9) % 12].slice(0, 3 - (i % 3 === 0 ? 1 : 0));
  return { prompt, chosen, rejected, ...(i % 3 === 1 ? { margin: 0.5 } : {}) };
});
const trainPairs = pairs.slice(0, 6);
const evalPairs = pairs.slice(6);

type Mem = { numTensors: number; numBytes: number };
const memOf = (name: string): Mem => {
  const m = memory()[name];
  return { numTensors: m.numTensors, numBytes: m.numBytes };
};

interface Run {
  dpo: { stats: DPOStats[]; losses: number[]; gradNorms: number[]; evalLoss: number; mem: Mem[] };
  policyParams: Record<string, Float32Array>;
  kl: number;
  rm: { losses: number[]; gradNorms: number[]; mem: Mem[] };
  rewards: number[];
  evaluation: RewardEvaluation;
  best: { answers: number[][]; scores: number[]; bestIndex: number };
  /** memory() before and after the scoring calls (rewards, evaluateRewardModel, referenceKL, bestOfN). */
  scoringMem: [Mem, Mem];
}

async function run(backend: Backend | null): Promise<Run> {
  const name = backend?.name ?? 'cpu';
  setBackend('cpu');
  // the policy and the reference start from the same weights; the reward model from its own
  manualSeed(3);
  const policy = gpt();
  manualSeed(3);
  const reference = gpt();
  manualSeed(4);
  const rm = new RewardModel(gpt());
  if (backend) {
    for (const m of [policy, reference, rm]) await m.to(backend);
    setBackend(name);
  }
  try {
    const dpo: Run['dpo'] = { stats: [], losses: [], gradNorms: [], evalLoss: Number.NaN, mem: [] };
    const result = await dpoTrain(policy, {
      reference,
      pairs: trainPairs,
      evalPairs,
      beta: 0.5,
      batchSize: 2,
      seed: 1,
      maxSteps: STEPS,
      lr: LR,
      gradientAccumulationSteps: 2,
      onProgress: (p) => {
        dpo.stats.push(p.dpo);
        dpo.losses.push(p.loss);
        dpo.gradNorms.push(p.gradNorm as number);
        dpo.mem.push(memOf(name));
      },
    });
    dpo.evalLoss = result.finalEvalLoss;
    expect(result.stats).toEqual(dpo.stats);
    const policyParams: Record<string, Float32Array> = {};
    for (const [n, p] of policy.namedParameters()) policyParams[n] = (await p.data()) as Float32Array;

    const rmRun: Run['rm'] = { losses: [], gradNorms: [], mem: [] };
    await train(rm, {
      batches: exampleBatches(trainPairs, 3, preferenceCollator(), { seed: 2 }),
      loss: rewardModelLoss,
      maxSteps: STEPS,
      lr: LR,
      onProgress: (p) => {
        rmRun.losses.push(p.loss);
        rmRun.gradNorms.push(p.gradNorm as number);
        rmRun.mem.push(memOf(name));
      },
    });

    const before = memOf(name);
    const rewards = await rm.rewards(
      pairs.map((p) => [...p.prompt, ...p.chosen]),
      { batchSize: 3 },
    );
    const evaluation = await evaluateRewardModel(rm, evalPairs);
    const samples = sftCollator()(pairs.map((p) => ({ prompt: p.prompt, answer: p.chosen })));
    const kl = await referenceKL(policy, reference, samples);
    for (const t of [samples.inputIds, samples.attentionMask, samples.labels]) t?.dispose();
    const best = await bestOfN(policy, rm, pairs[0].prompt, { n: 4, maxNewTokens: 5, seed: 7 });
    const after = memOf(name);
    return {
      dpo,
      policyParams,
      kl,
      rm: rmRun,
      rewards,
      evaluation,
      best,
      scoringMem: [before, after],
    };
  } finally {
    for (const m of [policy, reference, rm]) m.dispose();
    setBackend('cpu');
  }
}

/** The largest amount by which |got - want| exceeds atol + rtol |want| (<= 0 when within). */
function excess(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    worst = Math.max(
      worst,
      Number.isNaN(d) ? Number.POSITIVE_INFINITY : d - (ATOL + RTOL * Math.abs(want[i])),
    );
  }
  return worst;
}

const statsRow = (s: DPOStats) => [
  s.loss,
  s.rewardAccuracy,
  s.rewardMargin,
  s.chosenReward,
  s.rejectedReward,
];

let cpu: Promise<Run> | undefined;
const cpuRun = () => {
  cpu ??= run(null);
  return cpu;
};

const backends: Array<[string, () => Promise<Backend>]> = [
  ['webgpu', () => initWebGPU({ priority: -1 })],
  ['gpujs', () => initGpuJs({ priority: -1 })],
];

describe.each(backends)('preference tuning on %s', (name, init) => {
  it("DPO, reward-model training, rewards, referenceKL and bestOfN give the CPU run's numbers; memory stays flat", async () => {
    const backend = await init();
    const ref = await cpuRun();
    const got = await run(backend);

    // the CPU run itself moves: DPO separates the answers, the reward model learns, the KL is not 0
    expect(ref.dpo.stats.at(-1)!.rewardMargin).toBeGreaterThan(0.05);
    expect(ref.dpo.stats[0].rewardMargin).toBe(0); // policy = reference before the first update
    expect(ref.rm.losses.at(-1)!).toBeLessThan(ref.rm.losses[0]);
    expect(ref.kl).toBeGreaterThan(1e-3);

    // DPO: TRL's figures of every step, train()'s losses and gradient norms, the held-out loss,
    // the tuned parameters
    expect(got.dpo.stats).toHaveLength(STEPS);
    for (let s = 0; s < STEPS; s++) {
      expect(
        excess(statsRow(got.dpo.stats[s]), statsRow(ref.dpo.stats[s])),
        `DPO step ${s + 1}`,
      ).toBeLessThanOrEqual(0);
    }
    expect(excess(got.dpo.losses, ref.dpo.losses)).toBeLessThanOrEqual(0);
    expect(excess(got.dpo.gradNorms, ref.dpo.gradNorms)).toBeLessThanOrEqual(0);
    expect(excess([got.dpo.evalLoss], [ref.dpo.evalLoss])).toBeLessThanOrEqual(0);
    expect(Object.keys(got.policyParams).sort()).toEqual(Object.keys(ref.policyParams).sort());
    for (const [n, want] of Object.entries(ref.policyParams)) {
      if (n === KEY_BIAS_IN) {
        // the key-bias third is noise (see KEY_BIAS_IN): only Adam's bound of lr per step holds there
        const g = got.policyParams[n];
        const third = (a: Float32Array, i: number) => a.subarray(i * E, (i + 1) * E);
        expect(excess(third(g, 0), third(want, 0)), `${n}, query part`).toBeLessThanOrEqual(0);
        expect(excess(third(g, 2), third(want, 2)), `${n}, value part`).toBeLessThanOrEqual(0);
        for (let i = E; i < 2 * E; i++) expect(Math.abs(g[i] - want[i])).toBeLessThanOrEqual(LR * STEPS);
        continue;
      }
      expect(excess(got.policyParams[n], want), `parameter ${n}`).toBeLessThanOrEqual(0);
    }

    // the reward model: training, rewards, held-out evaluation
    expect(excess(got.rm.losses, ref.rm.losses)).toBeLessThanOrEqual(0);
    expect(excess(got.rm.gradNorms, ref.rm.gradNorms)).toBeLessThanOrEqual(0);
    expect(excess(got.rewards, ref.rewards)).toBeLessThanOrEqual(0);
    const ev = (e: RewardEvaluation) => [e.accuracy, e.margin, e.loss];
    expect(excess(ev(got.evaluation), ev(ref.evaluation))).toBeLessThanOrEqual(0);

    // referenceKL and bestOfN: the same samples (sampling is on the host, from the same seed) and scores
    expect(excess([got.kl], [ref.kl])).toBeLessThanOrEqual(0);
    expect(got.best.answers).toEqual(ref.best.answers);
    expect(excess(got.best.scores, ref.best.scores)).toBeLessThanOrEqual(0);
    expect(got.best.bestIndex).toBe(ref.best.bestIndex);
    console.log(
      `${name}: DPO loss ${got.dpo.stats.map((s) => s.loss.toFixed(5))} (cpu ${ref.dpo.stats.map((s) => s.loss.toFixed(5))}), KL ${got.kl} (cpu ${ref.kl})`,
    );

    // memory: flat over the steps of both trainings, and the scoring calls leave nothing behind
    expect(got.dpo.mem[0].numTensors).toBeGreaterThan(0);
    for (const m of got.dpo.mem) expect(m).toEqual(got.dpo.mem[0]);
    for (const m of got.rm.mem) expect(m).toEqual(got.rm.mem[0]);
    expect(got.scoringMem[1]).toEqual(got.scoringMem[0]);
  });
});
