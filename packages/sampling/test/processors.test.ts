import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import {
  applyProcessors,
  buildProcessors,
  type GenerationConfig,
  PresenceFrequencyPenaltyProcessor,
} from '@attnkit/sampling';
import { describe, expect, it } from 'vitest';

// Expected scores come from scripts/reference/logits_processors.py, which re-implements Hugging
// Face's processor math in torch. Tolerance: 1e-6 relative (float32 arithmetic on both sides).
interface Case {
  name: string;
  processor: string;
  settings: Record<string, unknown>;
  input_ids: number[];
  prompt_length: number;
  scores: (number | null)[];
  expected: (number | null)[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/processors.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};
const toArr = (xs: (number | null)[]) =>
  Float32Array.from(xs, (v) => (v === null ? Number.NEGATIVE_INFINITY : v));

describe('logits processors equal Hugging Face (reference script)', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const scores = toArr(c.scores);
      const ctx = { promptLength: c.prompt_length, maxLength: 100 };
      const config = { doSample: true, ...c.settings } as GenerationConfig;
      const processors =
        c.processor === 'presenceFrequency'
          ? [
              new PresenceFrequencyPenaltyProcessor(
                c.settings.presencePenalty as number,
                c.settings.frequencyPenalty as number,
              ),
            ]
          : buildProcessors(config);
      expect(processors.length).toBeGreaterThan(0);
      applyProcessors(processors, c.input_ids, scores, ctx);
      const want = toArr(c.expected);
      for (let i = 0; i < want.length; i++) {
        if (want[i] === Number.NEGATIVE_INFINITY)
          expect(scores[i], `token ${i}`).toBe(Number.NEGATIVE_INFINITY);
        else
          expect(Math.abs(scores[i] - want[i]), `token ${i}`).toBeLessThanOrEqual(
            1e-6 * Math.max(1, Math.abs(want[i])),
          );
      }
    });
  }
});

describe('processor order and teaching trace', () => {
  it('builds processors in HF order', () => {
    const names = buildProcessors({
      doSample: true,
      temperature: 0.7,
      topK: 5,
      topP: 0.9,
      minP: 0.1,
      repetitionPenalty: 1.1,
      noRepeatNgramSize: 3,
      logitBias: { 1: 2 },
    }).map((p) => p.name);
    expect(names).toEqual([
      'logitBias',
      'repetitionPenalty',
      'noRepeatNgramSize',
      'temperature',
      'topK',
      'topP',
      'minP',
    ]);
  });

  it('traces the top candidates before and after each processor', () => {
    const scores = Float32Array.from([2, 1, 0, -1]);
    const trace = applyProcessors(
      buildProcessors({ doSample: true, temperature: 0.5, topK: 2 }),
      [0],
      scores,
      { promptLength: 1, maxLength: 10 },
      3,
    )!;
    expect(trace.map((t) => t.processor)).toEqual(['temperature', 'topK']);
    // hand-derived: softmax([2,1,0]) over 4 tokens incl. -1
    const z = Math.exp(2) + Math.exp(1) + Math.exp(0) + Math.exp(-1);
    expect(trace[0].before[0]).toMatchObject({ tokenId: 0, score: 2 });
    expect(trace[0].before[0].prob).toBeCloseTo(Math.exp(2) / z, 6);
    expect(trace[1].after.map((c) => c.tokenId)).toEqual([0, 1, 2]);
    expect(trace[1].after[2].prob).toBe(0);
    expect(trace[1].after[0].prob).toBeCloseTo(Math.exp(4) / (Math.exp(4) + Math.exp(2)), 6);
  });
});

describe('temperature equals torch bit for bit', () => {
  // scripts/reference/logits_processors.py: torch divides float32 scores by the temperature cast to
  // float32; 1,024 scores and four temperatures, compared exactly (tolerance 0).
  const bits = JSON.parse(
    readFileSync(new URL('./fixtures/temperature_bits.json', import.meta.url), 'utf8'),
  ) as { scores: number[]; temperatures: Record<string, number[]> };
  for (const [t, want] of Object.entries(bits.temperatures)) {
    it(`temperature ${t}`, () => {
      const scores = Float32Array.from(bits.scores);
      applyProcessors(buildProcessors({ doSample: true, temperature: Number(t) }), [], scores, {
        promptLength: 0,
        maxLength: 1,
      });
      expect(Array.from(scores)).toEqual(want);
    });
  }
});
