// Preference tuning against TRL (scripts/preference_refs.py, fixtures in preference-refs/meta.json):
// DPO's loss, gradient and logged rewards from DPOTrainer's own loss code on fixed logits, and the
// reward model (GPT2ForSequenceClassification under RewardTrainer's Bradley-Terry loss): rewards,
// loss and gradients. Plus the input checks.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, tensor, tidy } from '@attnkit/tensor-core';
import { Module, Parameter } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import {
  answerLogProbsFromLogits,
  bradleyTerryLoss,
  checkPreferencePairs,
  dpoBatchLoss,
  dpoLoss,
  dpoStats,
  type GPT2LMHeadModel,
  type LogitsModel,
  loadPretrained,
  preferenceCollator,
  RewardModel,
  rewardModelLoss,
} from '../src/index.js';
import { FIXTURES } from './helpers.js';

const refs = JSON.parse(readFileSync(join(FIXTURES, 'preference-refs', 'meta.json'), 'utf8'));

/** |a - b| <= atol + rtol |b| everywhere; returns the worst relative error for the message. */
function expectClose(got: ArrayLike<number>, want: readonly number[], rtol = 1e-4, atol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]))) {
      throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
    }
  }
}

/** A "policy" whose logits are a parameter: the gradient of the loss lands on them. */
class FixedLogits extends Module implements LogitsModel {
  logits: Parameter;
  constructor(values: number[][][]) {
    super();
    this.logits = new Parameter(tensor(values));
  }
  override forward(): { logits: Tensor } {
    return { logits: this.logits };
  }
}

describe('DPO against TRL', () => {
  const d = refs.dpo;
  const batch = () => preferenceCollator()(d.pairs);

  it('preferenceCollator stacks chosen then rejected rows with TRL completion masks', () => {
    const b = batch();
    expect(b.pairs).toBe(3);
    expect(Array.from(b.inputIds.dataSync())).toEqual(d.input_ids.flat());
    expect(Array.from(b.attentionMask.dataSync())).toEqual(d.attention_mask.flat());
    const completion = Array.from(b.labels.dataSync(), (v) => (v === -100 ? 0 : 1));
    expect(completion).toEqual(d.completion_mask.flat());
  });

  it("answer log-probs equal TRL's completion-masked selective_log_softmax sums", () => {
    const lp = answerLogProbsFromLogits(tensor(d.logits), batch().labels);
    expectClose(lp.dataSync(), d.sequence_logps, 1e-5);
  });

  for (const c of refs.dpo.cases) {
    it(`${c.loss_type} beta=${c.beta} label smoothing ${c.label_smoothing}: loss, gradient and rewards`, async () => {
      const policy = new FixedLogits(d.logits);
      const b = batch();
      const opts = { beta: c.beta, lossType: c.loss_type, labelSmoothing: c.label_smoothing };
      // the reference's logps are the fixture's, fed through dpoLoss directly
      const logps = answerLogProbsFromLogits(policy.forward().logits, b.labels);
      const lengths = Array.from({ length: 6 }, (_, r) =>
        d.completion_mask[r].reduce((s: number, v: number) => s + v, 0),
      );
      const out = dpoLoss(
        logps.sliceDim(0, 0, 3),
        logps.sliceDim(0, 3, 6),
        tensor(d.ref_chosen_logps),
        tensor(d.ref_rejected_logps),
        { ...opts, chosenLengths: lengths.slice(0, 3), rejectedLengths: lengths.slice(3) },
      );
      expectClose([out.loss.itemSync()], [c.loss], 1e-5);
      out.loss.backward();
      expectClose(policy.logits.grad!.dataSync(), c.grad_logits.flat(2), 1e-4, 1e-7);
      if (c.rewards_chosen !== undefined) {
        const s = await dpoStats(out);
        expectClose(
          [s.chosenReward, s.rejectedReward, s.rewardAccuracy, s.rewardMargin],
          [c.rewards_chosen, c.rewards_rejected, c.rewards_accuracies, c.rewards_margins],
          1e-5,
        );
      }
    });
  }

  it('dpoBatchLoss: policy and reference from one batch; equal models give loss log 2 and zero rewards', () => {
    const policy = new FixedLogits(d.logits);
    const same = { forward: () => ({ logits: tensor(d.logits) }) } as unknown as LogitsModel;
    const out = dpoBatchLoss(policy, same, batch(), { beta: 0.1 });
    expect(out.loss.itemSync()).toBeCloseTo(Math.log(2), 6);
    expect(Array.from(out.chosenRewards.dataSync())).toEqual([0, 0, 0]);
  });

  it("dpoBatchLoss with 'ipo' divides each log-ratio by the row's answer length (TRL's completion mask)", () => {
    const policy = new FixedLogits(d.logits);
    const zeros = (d.logits as number[][][]).map((r) => r.map((t) => t.map(() => 0)));
    const reference = { forward: () => ({ logits: tensor(zeros) }) } as unknown as LogitsModel;
    const b = batch();
    const out = dpoBatchLoss(policy, reference, b, { beta: 0.1, lossType: 'ipo' });
    const lengths = (d.completion_mask as number[][]).map((r) => r.reduce((s, v) => s + v, 0));
    const lp = answerLogProbsFromLogits(tensor(d.logits), b.labels);
    const ref = answerLogProbsFromLogits(tensor(zeros), b.labels);
    const want = dpoLoss(
      lp.sliceDim(0, 0, 3),
      lp.sliceDim(0, 3, 6),
      ref.sliceDim(0, 0, 3),
      ref.sliceDim(0, 3, 6),
      {
        beta: 0.1,
        lossType: 'ipo',
        chosenLengths: lengths.slice(0, 3),
        rejectedLengths: lengths.slice(3),
      },
    );
    expectClose([out.loss.itemSync()], [want.loss.itemSync()], 1e-6);
  });

  it('refuses bad options and inputs', () => {
    const x = tensor([1, 2]);
    expect(() => dpoLoss(x, x, x, x, { beta: 0 })).toThrow(/beta must be a positive number, got 0/);
    expect(() => dpoLoss(x, x, x, x, { lossType: 'hinge' as never })).toThrow(
      /lossType must be 'sigmoid' or 'ipo'/,
    );
    expect(() => dpoLoss(x, x, x, x, { lossType: 'ipo' })).toThrow(/'ipo' needs chosenLengths/);
    expect(() => dpoLoss(x, x, x, tensor([1]))).toThrow(/'referenceRejectedLogps' must be \[B\]/);
    expect(() => dpoLoss(x, x, x, x, { labelSmoothing: 0.5 })).toThrow(
      /labelSmoothing must be in \[0, 0.5\)/,
    );
  });
});

describe('preference pairs', () => {
  it('refuses identical chosen and rejected answers, naming the pair', () => {
    const pairs = [
      { prompt: [1], chosen: [2], rejected: [3] },
      { prompt: [1], chosen: [4, 5], rejected: [4, 5] },
    ];
    expect(() => checkPreferencePairs(pairs)).toThrow(/pair 1 has identical chosen and rejected answers/);
    expect(() => preferenceCollator()(pairs)).toThrow(/preferenceCollator: pair 1 has identical/);
    expect(() => checkPreferencePairs([{ prompt: [], chosen: [1], rejected: [2] }])).toThrow(
      /pair 0 has an empty prompt/,
    );
    expect(() => checkPreferencePairs([{ prompt: [1], chosen: [1], rejected: [] }])).toThrow(
      /pair 0 has an empty rejected answer/,
    );
    expect(() =>
      preferenceCollator({ maxLength: 3 })([{ prompt: [1, 2], chosen: [3], rejected: [4, 5] }]),
    ).toThrow(/pair 0 has 4 tokens with its rejected answer \(prompt 2 \+ answer 2\), more than maxLength 3/);
  });
});

describe('RewardModel against GPT2ForSequenceClassification + TRL RewardTrainer', () => {
  async function rewardModel(): Promise<RewardModel> {
    const lm = (await loadPretrained(join(FIXTURES, 'lora-gpt2', 'base'))) as GPT2LMHeadModel;
    const rm = new RewardModel(lm);
    rm.loadStateDict({ 'score.weight': tensor(refs.reward.score_weight) }, { strict: false });
    return rm;
  }
  const rows: number[][] = refs.reward.rows;
  const pairs = [0, 1, 2].map((i) => ({
    prompt: rows[i].slice(0, 1),
    chosen: rows[i].slice(1),
    rejected: rows[i + 3].slice(1),
  }));

  it("has transformers' parameter names", async () => {
    const rm = await rewardModel();
    const names = Object.keys(rm.stateDict());
    expect(names).toContain('score.weight');
    expect(names).toContain('transformer.h.0.attn.c_attn.weight');
    expect(names.some((n) => n.startsWith('lm_head'))).toBe(false);
    rm.dispose();
  });

  for (const c of refs.reward.cases) {
    it(`rewards at the last real token, Bradley-Terry loss and gradients (margin ${JSON.stringify(c.margin)})`, async () => {
      const rm = await rewardModel();
      const withMargin = c.margin ? pairs.map((p, i) => ({ ...p, margin: c.margin[i] })) : pairs;
      const batch = preferenceCollator()(withMargin);
      expectClose(await rm.rewards(rows), c.rewards, 1e-4, 1e-5);
      rm.train();
      const loss = tidy(() => {
        const l = rewardModelLoss(rm, batch);
        l.backward();
        return l.itemSync();
      });
      expectClose([loss], [c.loss], 1e-5);
      expectClose(rm.score.weight.grad!.dataSync(), c.grad_score_weight.flat(), 1e-4, 1e-6);
      const body = (rm as unknown as { transformer: GPT2LMHeadModel['transformer'] }).transformer;
      expectClose(body.ln_f.weight!.grad!.dataSync(), c.grad_ln_f_weight, 1e-4, 1e-6);
      expectClose(body.h[0].attn.c_attn.weight.grad!.dataSync(), c.grad_h0_c_attn_weight.flat(), 1e-4, 1e-6);
      rm.dispose();
    });
  }

  it('bradleyTerryLoss is -logsigmoid(c - r - m), stable for large gaps', () => {
    const l = bradleyTerryLoss(tensor([100, -100]), tensor([0, 0]), 0).itemSync();
    expect(l).toBeCloseTo(50, 4); // (0 + 100) / 2
    expect(() => bradleyTerryLoss(tensor([1, 2]), tensor([1]))).toThrow(/same length/);
  });
});
