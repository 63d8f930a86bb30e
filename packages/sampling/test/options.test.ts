// Issue 22's generate() findings (abort, option validation, numReturnSequences, maxNewTokens 0,
// +Infinity and NaN logits), the option fuzzer, and issue 13's generation_config merge.
import '@attnkit/backend-cpu';
import { type CausalLM, type GenerationConfig, generate, stream } from '@attnkit/sampling';
import { Generator, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { BigramModel, PrefixHashModel, TABLE } from './toy-models.js';

/** A model whose every step returns the same logits row (for +Infinity / NaN cases). */
function constant(row: number[]): CausalLM {
  return {
    forward({ inputIds }) {
      const [b, l] = inputIds.shape;
      const out = new Float32Array(b * l * row.length);
      for (let i = 0; i < b * l; i++) out.set(row, i * row.length);
      return { logits: tensor(out, [b, l, row.length]) };
    },
  };
}

describe('AbortSignal', () => {
  /** A synchronous model that takes about 1 ms per step, so a 10 ms timeout fires mid-run. */
  class Slow extends BigramModel {
    override forward(inputs: Parameters<BigramModel['forward']>[0]) {
      const until = performance.now() + 1;
      while (performance.now() < until);
      return super.forward(inputs);
    }
  }
  for (const [name, extra] of [
    ['greedy', {}],
    ['sampling', { doSample: true, seed: 1 }],
    ['beam search', { numBeams: 2 }],
    ['speculative', { assistantModel: new BigramModel(TABLE), numAssistantTokens: 2 }],
  ] as const) {
    it(`generate() (${name}) stops when the signal fires, with its reason`, async () => {
      const model = new Slow(TABLE);
      const signal = AbortSignal.timeout(10);
      await expect(generate(model, [[0]], { maxNewTokens: 75, signal, ...extra })).rejects.toBe(
        await new Promise((r) => signal.addEventListener('abort', () => r(signal.reason))),
      );
      expect(model.calls).toBeLessThan(60);
    });
  }
});

describe('results', () => {
  it('numReturnSequences with sampling returns that many rows per prompt (HF repeats each prompt)', async () => {
    const m = new BigramModel(TABLE);
    const cfg = { maxNewTokens: 6, doSample: true, seed: 3 };
    const out = await generate(m, [[0], [1, 2]], { ...cfg, numReturnSequences: 3 });
    expect(out.sequences).toHaveLength(6);
    const same = await generate(m, [[0], [0], [0], [1, 2], [1, 2], [1, 2]], cfg);
    expect(out.sequences).toEqual(same.sequences);
    expect(new Set(out.sequences.slice(0, 3).map(String)).size).toBeGreaterThan(1);
  });
  it('maxNewTokens 0 returns the prompts (padded), from generate() and beam search', async () => {
    const m = new BigramModel(TABLE);
    for (const extra of [{}, { numBeams: 2 }]) {
      const out = await generate(m, [[0, 1], [3]], { maxNewTokens: 0, padTokenId: 5, ...extra });
      expect(out.sequences).toEqual([
        [0, 1],
        [5, 3],
      ]);
    }
  });
  it('a +Infinity logit is the pick of greedy, sampling and beam search alike', async () => {
    const m = constant([0, 1, Number.POSITIVE_INFINITY, 3, 2]);
    for (const cfg of [
      {},
      { doSample: true, seed: 1 },
      { doSample: true, seed: 2, topP: 0.9, temperature: 0.7 },
      { doSample: true, seed: 3, topK: 2 },
      { numBeams: 2 },
    ]) {
      const out = await generate(m, [[0]], { maxNewTokens: 3, ...cfg });
      expect(out.sequences[0], JSON.stringify(cfg)).toEqual([0, 2, 2, 2]);
    }
    // two +Infinity tokens share the probability: sampling picks only those, both of them
    const two = constant([0, Number.POSITIVE_INFINITY, 5, Number.POSITIVE_INFINITY]);
    const seen = new Set<number>();
    const out = await generate(two, [[0]], { maxNewTokens: 40, doSample: true, seed: 4 });
    for (const t of out.sequences[0].slice(1)) seen.add(t);
    expect([...seen].sort()).toEqual([1, 3]);
  });
  it('NaN logits are an error naming the step and token', async () => {
    const m = constant([0, Number.NaN, 1]);
    for (const cfg of [{}, { doSample: true }, { numBeams: 2 }]) {
      await expect(generate(m, [[0]], { maxNewTokens: 2, ...cfg })).rejects.toThrow(
        'generate: the model returned NaN logits (step 0, ',
      );
    }
  });
});

describe('every option is validated by name', () => {
  const m = new BigramModel(TABLE);
  it.each([
    [{ presencePenalty: Number.NaN }, 'presencePenalty must be a number in [-2, 2], got NaN'],
    [{ frequencyPenalty: 3 }, 'frequencyPenalty must be a number in [-2, 2], got 3'],
    [{ stopStrings: [5] }, 'stopStrings must be a non-empty string or a list of them, got an array'],
    [{ signal: 'nope' }, 'signal must be an AbortSignal, got "nope"'],
    [{ doSample: 'yes' }, 'doSample must be a boolean, got "yes"'],
    [{ earlyStopping: 'sometimes' }, "earlyStopping must be true, false or 'never'"],
    [{ logitBias: { 2: Number.POSITIVE_INFINITY } }, 'logitBias must be an object (or Map)'],
    [{ logitsProcessors: [{}] }, 'logitsProcessors must be a list of LogitsProcessors'],
    [{ generator: 1 }, 'generator must be a Generator'],
    [{ tokenizer: {} }, 'tokenizer must be a tokenizer'],
    [{ forcedBosTokenId: 99 }, "forcedBosTokenId holds token id 99, beyond the model's vocabulary of 6"],
    [{ logitBias: { 6: 1 } }, "logitBias holds token id 6, beyond the model's vocabulary of 6"],
  ])('%j', async (cfg, msg) => {
    await expect(generate(m, [[0]], cfg as unknown as GenerationConfig)).rejects.toThrow(msg);
  });
});

describe('fuzzing generate() options (seeded, 1,000 random option objects)', () => {
  it('each ends in a result or an error that names an option it was given', async () => {
    const g = new Generator(2026);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(g.uniform() * xs.length)];
    const real: (keyof GenerationConfig)[] = [
      'maxNewTokens',
      'maxLength',
      'minLength',
      'minNewTokens',
      'doSample',
      'temperature',
      'topK',
      'topP',
      'minP',
      'typicalP',
      'repetitionPenalty',
      'presencePenalty',
      'frequencyPenalty',
      'noRepeatNgramSize',
      'badWordsIds',
      'logitBias',
      'forcedBosTokenId',
      'forcedEosTokenId',
      'numBeams',
      'lengthPenalty',
      'earlyStopping',
      'numReturnSequences',
      'eosTokenId',
      'padTokenId',
      'bosTokenId',
      'stopStrings',
      'seed',
      'generator',
      'useCache',
      'outputScores',
      'logitsProcessors',
      'tokenizer',
      'assistantModel',
      'numAssistantTokens',
      'signal',
      'traceTopN',
    ];
    const junk = ['top_p', 'max_new_tokens', 'foo', '', 'toString', 'attention_mask'];
    const td = new TextDecoder();
    const values: unknown[] = [
      undefined,
      null,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1,
      0,
      0.5,
      1,
      2,
      3,
      1.5,
      1e9,
      -0.0,
      'x',
      '',
      'never',
      true,
      false,
      [],
      [1],
      [[1]],
      [[]],
      [['a']],
      [0, 'a'],
      {},
      { 1: 2 },
      { 1: Number.NEGATIVE_INFINITY },
      { '-1': 2 },
      () => 1,
      new Map([[1, 1]]),
      Symbol('s'),
      10n,
      new Generator(1),
      { decode: (ids: readonly number[]) => td.decode(Uint8Array.from(ids, (i) => 97 + i)) },
      [{ name: 'mine', process: (_: unknown, s: Float32Array) => void s }],
      new BigramModel(TABLE),
      new AbortController().signal,
      AbortSignal.abort(new Error('fuzz abort')),
      ['ab'],
    ];
    // values that are valid for each option, drawn more often so that many runs succeed
    const valid: Record<string, unknown[]> = {
      maxNewTokens: [0, 1, 4],
      maxLength: [1, 3, 5],
      minLength: [0, 3, 9],
      minNewTokens: [0, 2],
      doSample: [true, false],
      temperature: [0, 0.5, 1, 2],
      topK: [0, 1, 3],
      topP: [0.3, 0.9, 1],
      minP: [0, 0.1, 0.5],
      typicalP: [0.5, 1],
      repetitionPenalty: [0.5, 1.2],
      presencePenalty: [-2, 0.5],
      frequencyPenalty: [0, 1.5],
      noRepeatNgramSize: [0, 1, 2],
      badWordsIds: [[[1]], [[0, 1], [2]]],
      logitBias: [{ 1: 3 }, { 0: Number.NEGATIVE_INFINITY }],
      forcedBosTokenId: [0, 5],
      forcedEosTokenId: [1, [2, 3]],
      numBeams: [1, 2, 3],
      lengthPenalty: [-1, 1],
      earlyStopping: [true, 'never'],
      numReturnSequences: [1, 2],
      eosTokenId: [0, [1, 5]],
      padTokenId: [0, 5],
      bosTokenId: [1],
      stopStrings: ['b'],
      seed: [0, 7.5],
      useCache: [true, false],
      outputScores: [true],
      numAssistantTokens: [1, 3],
      traceTopN: [2],
    };
    // sizes that scale the work (tokens, beams, rows) stay small: a run of 1e9 tokens is no bug
    const sizes = new Set([
      'maxNewTokens',
      'maxLength',
      'numBeams',
      'numReturnSequences',
      'numAssistantTokens',
    ]);
    const models = [new BigramModel(TABLE), new PrefixHashModel(6)];
    let results = 0;
    let errors = 0;
    for (let n = 0; n < 1000; n++) {
      const config: Record<string, unknown> = { maxNewTokens: 3 };
      const count = 1 + Math.floor(g.uniform() * 4);
      for (let j = 0; j < count; j++) {
        const key = g.uniform() < 0.9 ? pick(real) : pick(junk);
        let v = key in valid && g.uniform() < 0.6 ? pick(valid[key]) : pick(values);
        if (sizes.has(key) && typeof v === 'number' && v > 4) v = 4;
        config[key] = v;
      }
      const prompts = pick([[[0]], [[1, 2]], [[0], [3, 4, 5]]]);
      const run = async () => {
        if (g.uniform() < 0.2) {
          const out: number[][] = [];
          for await (const c of stream(pick(models), prompts, config as GenerationConfig))
            out.push(c.tokenIds);
          return out;
        }
        return (await generate(pick(models), prompts, config as GenerationConfig)).sequences;
      };
      try {
        const seqs = await run();
        const pad = [config.padTokenId, config.eosTokenId].flat();
        for (const s of seqs)
          for (const t of s) expect(Number.isInteger(t) && (t < 6 || pad.includes(t))).toBe(true);
        results++;
      } catch (e) {
        errors++;
        const err = e as Error;
        if (err.message === 'fuzz abort') continue;
        const keys = Object.keys(config);
        const named = keys.some((k) => err.message.includes(k === '' ? "key ''" : k));
        expect(
          err instanceof Error && /^(generate|stream)\b/.test(err.message) && named,
          `${JSON.stringify(config, (_, v) => (typeof v === 'bigint' || typeof v === 'symbol' ? String(v) : v))}: ${err.stack}`,
        ).toBe(true);
      }
    }
    expect(results).toBeGreaterThan(100);
    expect(errors).toBeGreaterThan(100);
  }, 30000);
});

describe('the model generationConfig (generation_config.json) under the caller options', () => {
  const withDefaults = (gc: GenerationConfig | null) => {
    const m = new BigramModel(TABLE) as BigramModel & { generationConfig?: GenerationConfig | null };
    m.generationConfig = gc;
    return m;
  };
  it('its values are the defaults; the caller overrides them; null and undefined count as unset', async () => {
    const plain = new BigramModel(TABLE);
    const gc = { doSample: true, temperature: 0.7, topK: 4, maxNewTokens: 5, padTokenId: undefined };
    const a = await generate(withDefaults(gc), [[0]], { seed: 9 });
    const b = await generate(plain, [[0]], {
      doSample: true,
      temperature: 0.7,
      topK: 4,
      maxNewTokens: 5,
      seed: 9,
    });
    expect(a.sequences).toEqual(b.sequences);
    const greedy = await generate(withDefaults(gc), [[0]], {
      doSample: false,
      maxNewTokens: 3,
      topK: null as unknown as number,
    });
    expect(greedy.sequences).toEqual((await generate(plain, [[0]], { maxNewTokens: 3 })).sequences);
    expect((await generate(withDefaults(null), [[0]], { maxNewTokens: 2 })).sequences[0]).toHaveLength(3);
  });
  it('eos and pad ids come from it', async () => {
    // greedy: 0 -> 0, 1 -> 2, 2 -> 0 (a tie), 3 -> 0
    const m = withDefaults({ eosTokenId: 0, padTokenId: 4 });
    const out = await generate(m, [[3], [1, 2]], { maxNewTokens: 4 });
    // both rows end at EOS (0) after one token, so generation stops there
    expect(out.sequences).toEqual([
      [4, 3, 0],
      [1, 2, 0],
    ]);
    const over = await generate(m, [[3]], { maxNewTokens: 3, eosTokenId: 5 });
    expect(over.sequences).toEqual([[3, 0, 0, 0]]);
  });
  it('maxNewTokens takes precedence over maxLength wherever each comes from (as transformers)', async () => {
    const len = async (gc: GenerationConfig, cfg: GenerationConfig) =>
      (await generate(withDefaults(gc), [[1, 2]], cfg)).sequences[0].length;
    expect(await len({ maxNewTokens: 3 }, {})).toBe(5);
    expect(await len({ maxNewTokens: 3 }, { maxNewTokens: 1 })).toBe(3);
    expect(await len({ maxLength: 6 }, {})).toBe(6);
    expect(await len({ maxLength: 6 }, { maxNewTokens: 1 })).toBe(3);
    expect(await len({ maxNewTokens: 3 }, { maxLength: 3 })).toBe(5);
    expect(await len({ maxLength: 3 }, { maxLength: 4 })).toBe(4);
  });
  it('stream() and beam search read it too', async () => {
    const m = withDefaults({ numBeams: 3, numReturnSequences: 2, maxNewTokens: 4 });
    const beam = await generate(m, [[1]], {});
    expect(beam.sequences).toEqual(
      (await generate(new BigramModel(TABLE), [[1]], { numBeams: 3, numReturnSequences: 2, maxNewTokens: 4 }))
        .sequences,
    );
    let steps = 0;
    for await (const _ of stream(withDefaults({ maxNewTokens: 7 }), [[1]], {})) steps++;
    expect(steps).toBe(7);
  });
  it('a bad value in it is an error naming model.generationConfig and the option', async () => {
    await expect(generate(withDefaults({ topP: 2 }), [[0]], {})).rejects.toThrow(
      'generate (model.generationConfig): topP must be in (0, 1], got 2',
    );
  });
});
