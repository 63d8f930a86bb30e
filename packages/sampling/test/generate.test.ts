import '@attnkit/backend-cpu';
import { type GenerationConfig, generate, stream } from '@attnkit/sampling';
import { memory } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  BigramModel,
  CHI2_CRIT_0_001,
  chiSquare,
  HistoryModel,
  PrefixHashModel,
  TABLE,
} from './toy-models.js';

const V = 6;
const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

/** Samples N first tokens after prompt [prev] in one batched call and returns the counts. */
async function firstTokenCounts(config: GenerationConfig, prev: number, n: number): Promise<number[]> {
  const model = new BigramModel(TABLE);
  const prompts = Array.from({ length: n }, () => [prev]);
  const { sequences } = await generate(model, prompts, {
    maxNewTokens: 1,
    doSample: true,
    seed: 12345,
    ...config,
  });
  const counts = new Array<number>(V).fill(0);
  for (const s of sequences) counts[s[1]]++;
  return counts;
}

function expectChi2(counts: number[], probs: number[], n: number) {
  const { stat, df } = chiSquare(counts, probs, n);
  expect(df).toBeGreaterThan(0);
  expect(stat, `chi-square ${stat.toFixed(2)} with ${df} df; counts ${counts}`).toBeLessThan(
    CHI2_CRIT_0_001[df],
  );
}

describe('sampling follows the renormalised distribution (chi-square, p = 0.001, 20,000 draws)', () => {
  const N = 20000;
  it('multinomial with temperature 0.8', async () => {
    const probs = softmax(TABLE[0].map((x) => x / 0.8));
    expectChi2(await firstTokenCounts({ temperature: 0.8 }, 0, N), probs, N);
  });
  it('topK = 3', async () => {
    // hand-derived: keep tokens 0, 1, 2 of row 0 and renormalise
    const p = softmax(TABLE[0].slice(0, 3));
    expectChi2(await firstTokenCounts({ topK: 3 }, 0, N), [...p, 0, 0, 0], N);
  });
  it('topP = 0.8', async () => {
    // row 1 sorted: token 2 (2.5), 3 (1.0), 1 (0.3), 4 (0.2), 0 (0.0), 5 (-0.5)
    const full = softmax(TABLE[1]);
    const order = [2, 3, 1, 4, 0, 5];
    const kept: number[] = [];
    let mass = 0;
    for (const t of order) {
      if (mass >= 0.8) break;
      kept.push(t);
      mass += full[t];
    }
    const probs = full.map((p, t) => (kept.includes(t) ? p / mass : 0));
    expect(kept.length).toBeGreaterThan(1);
    expectChi2(await firstTokenCounts({ topP: 0.8 }, 1, N), probs, N);
  });
  it('minP = 0.2', async () => {
    const full = softmax(TABLE[3]);
    const top = Math.max(...full);
    const keep = full.map((p) => p >= 0.2 * top);
    const z = full.reduce((s, p, i) => s + (keep[i] ? p : 0), 0);
    expectChi2(
      await firstTokenCounts({ minP: 0.2 }, 3, N),
      full.map((p, i) => (keep[i] ? p / z : 0)),
      N,
    );
  });
  it('same seed gives the same tokens', async () => {
    const a = await firstTokenCounts({}, 4, 200);
    const b = await firstTokenCounts({}, 4, 200);
    expect(a).toEqual(b);
  });
});

describe('greedy, cache and batching', () => {
  it('greedy follows the argmax chain', async () => {
    const { sequences } = await generate(new BigramModel(TABLE), [[1]], { maxNewTokens: 4 });
    // 1 -> 2 (2.5) -> 0 (ties: first) -> 0 -> 0
    expect(sequences[0]).toEqual([1, 2, 0, 0, 0]);
  });
  it('generation with the KV cache equals generation without it (greedy and sampled, batched with left padding)', async () => {
    const m = new PrefixHashModel(11);
    const prompts = [[1, 2, 3], [4], [5, 6]];
    for (const cfg of [
      { maxNewTokens: 12 },
      { maxNewTokens: 12, doSample: true, seed: 7, topK: 5 },
    ] as GenerationConfig[]) {
      const a = await generate(m, prompts, { ...cfg, useCache: true });
      const b = await generate(m, prompts, { ...cfg, useCache: false });
      expect(a.sequences).toEqual(b.sequences);
      // left padding: row 1 padded with two pad tokens (eos undefined -> 0)
      expect(a.sequences[1].slice(0, 3)).toEqual([0, 0, 4]);
    }
  });
  it('a model that returns pastKeyValues: null is fed the whole sequence each step', async () => {
    const m = new PrefixHashModel(11);
    const noCache = {
      async forward(inputs: Parameters<PrefixHashModel['forward']>[0]) {
        const out = await m.forward({ ...inputs, pastKeyValues: undefined });
        (out.pastKeyValues as { dispose(): void }).dispose();
        return { logits: out.logits, pastKeyValues: null };
      },
    };
    const a = await generate(noCache, [[1, 2, 3]], { maxNewTokens: 6 });
    const b = await generate(m, [[1, 2, 3]], { maxNewTokens: 6, useCache: false });
    expect(a.sequences).toEqual(b.sequences);
  });
  it('stops rows at EOS and pads them', async () => {
    const { sequences } = await generate(new BigramModel(TABLE), [[4], [1]], {
      maxNewTokens: 5,
      eosTokenId: 5,
      padTokenId: 9,
    });
    // row 0: 4 -> 3 -> 0 -> 0 ...; row 1: 1 -> 2 -> 0 ...; with eos 5 never argmax here except after 5
    expect(sequences[0]).toEqual([4, 3, 0, 0, 0, 0]);
    const r = await generate(new BigramModel(TABLE), [[4]], {
      maxNewTokens: 5,
      eosTokenId: 3,
      padTokenId: 9,
    });
    expect(r.sequences[0]).toEqual([4, 3]);
  });
  it('memory stays flat over 1,000 generated tokens', async () => {
    const m = new PrefixHashModel(7);
    const before = memory().cpu.numTensors;
    const bytes = memory().cpu.numBytes;
    let peak = 0;
    const probe = {
      name: 'probe',
      process: () => {
        peak = Math.max(peak, memory().cpu.numTensors - before);
      },
    };
    const { sequences } = await generate(m, [[1, 2]], {
      maxNewTokens: 1000,
      doSample: true,
      seed: 3,
      logitsProcessors: [probe],
    });
    expect(sequences[0].length).toBe(1002);
    expect(memory().cpu.numTensors).toBe(before);
    expect(memory().cpu.numBytes).toBe(bytes);
    expect(peak).toBeLessThan(10);
  });
});

describe('beam search', () => {
  // token 0 = start. Greedy takes 1 (p .6) then a flat row (max .25); beam takes 2 (p .4) then 3 (p .9).
  const lg = Math.log;
  const table = [
    [-50, lg(0.6), lg(0.4), -50, -50],
    [-50, lg(0.25), lg(0.25), lg(0.25), lg(0.25)],
    [-50, lg(0.05), lg(0.03), lg(0.9), lg(0.02)],
    [-50, lg(0.25), lg(0.25), lg(0.25), lg(0.25)],
    [-50, lg(0.25), lg(0.25), lg(0.25), lg(0.25)],
  ];
  it('finds the better sequence that greedy misses', async () => {
    const m = new BigramModel(table);
    const greedy = await generate(m, [[0]], { maxNewTokens: 2 });
    expect(greedy.sequences[0]).toEqual([0, 1, 1]);
    const beam = await generate(m, [[0]], { maxNewTokens: 2, numBeams: 2, numReturnSequences: 2 });
    expect(beam.sequences[0]).toEqual([0, 2, 3]);
    // score = log(0.4 * 0.9) / 2 (length penalty 1 over 2 generated tokens)
    expect(beam.sequencesScores![0]).toBeCloseTo(Math.log(0.36) / 2, 5);
    expect(beam.sequencesScores![1]).toBeCloseTo(Math.log(0.6 * 0.25) / 2, 5);
  });
  it('beam search with a reorderable cache equals beam search without it', async () => {
    const m = new PrefixHashModel(9);
    const a = await generate(m, [[1, 2]], { maxNewTokens: 6, numBeams: 3, numReturnSequences: 3 });
    const b = await generate(m, [[1, 2]], {
      maxNewTokens: 6,
      numBeams: 3,
      numReturnSequences: 3,
      useCache: false,
    });
    expect(a.sequences).toEqual(b.sequences);
  });
});

describe('speculative decoding', () => {
  it('keeps the target distribution exactly (chi-square on the first two tokens, 20,000 runs)', async () => {
    const target = new BigramModel(TABLE);
    const draftTable = TABLE.map((r) => r.map((x, i) => x * 0.5 + (i % 2))); // a different, imperfect draft
    const draft = new BigramModel(draftTable);
    const N = 20000;
    const counts = new Array<number>(V * V).fill(0);
    let acc = 0;
    const seedGen = { seed: 99 };
    const { Generator } = await import('@attnkit/tensor-core');
    const g = new Generator(seedGen.seed);
    for (let r = 0; r < N; r++) {
      const out = await generate(target, [[0]], {
        maxNewTokens: 2,
        doSample: true,
        assistantModel: draft,
        numAssistantTokens: 2,
        generator: g,
      });
      const s = out.sequences[0];
      counts[s[1] * V + s[2]]++;
      acc += out.acceptanceRate!;
    }
    const p1 = softmax(TABLE[0]);
    const probs: number[] = [];
    for (let a = 0; a < V; a++) {
      const p2 = softmax(TABLE[a]);
      for (let b = 0; b < V; b++) probs.push(p1[a] * p2[b]);
    }
    // merge rare bins (expected < 5) into one to keep chi-square valid
    const merged: number[] = [];
    const mergedP: number[] = [];
    let restC = 0;
    let restP = 0;
    probs.forEach((p, i) => {
      if (p * N < 5) {
        restC += counts[i];
        restP += p;
      } else {
        merged.push(counts[i]);
        mergedP.push(p);
      }
    });
    merged.push(restC);
    mergedP.push(restP);
    const { stat, df } = chiSquare(merged, mergedP, N);
    const crit = CHI2_CRIT_0_001[df] ?? df + 3.29 * Math.sqrt(2 * df) + 2; // tables above cover the usual df
    expect(stat).toBeLessThan(crit);
    const rate = acc / N;
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThan(1);
  });
  it('greedy speculative decoding equals greedy decoding of the target', async () => {
    const target = new PrefixHashModel(13);
    const draft = new BigramModel(
      Array.from({ length: 13 }, (_, i) => Array.from({ length: 13 }, (_, j) => Math.cos(i + j))),
    );
    const a = await generate(target, [[3, 4]], { maxNewTokens: 15 });
    const b = await generate(target, [[3, 4]], {
      maxNewTokens: 15,
      assistantModel: draft,
      numAssistantTokens: 3,
    });
    expect(b.sequences).toEqual(a.sequences);
  });
});

describe('speculative decoding with KV caches on both models (cropped after each round)', () => {
  it('greedy: exactly the target greedy output, feeding each model only what its cache lacks', async () => {
    for (const [gamma, salt] of [
      [1, 1],
      [3, 2],
      [5, 0],
    ]) {
      const target = new HistoryModel(11);
      const draft = new HistoryModel(11, salt); // salt 0: the draft is the target (acceptance 1)
      const plain = await generate(new HistoryModel(11), [[3, 4]], { maxNewTokens: 30 });
      const out = await generate(target, [[3, 4]], {
        maxNewTokens: 30,
        assistantModel: draft,
        numAssistantTokens: gamma,
      });
      expect(out.sequences).toEqual(plain.sequences);
      if (salt === 0) expect(out.acceptanceRate).toBe(1);
      else expect(out.acceptanceRate).toBeLessThan(1);
      // uncached, each round re-reads the whole sequence; cached, only the new token and the proposals
      const uncached = new HistoryModel(11);
      await generate(uncached, [[3, 4]], {
        maxNewTokens: 30,
        assistantModel: new HistoryModel(11, salt),
        numAssistantTokens: gamma,
        useCache: false,
      });
      expect(target.fed).toBeLessThan(uncached.fed / 3);
      // all accepted: the 2 prompt tokens and the 30 new ones are each read once (the last round's
      // proposals may run past the end by up to gamma)
      if (salt === 0) expect(target.fed).toBeLessThanOrEqual(32 + gamma);
    }
  });
  it('sampling keeps the target distribution (chi-square on the first three tokens, 20,000 runs)', async () => {
    const V4 = 4;
    const target = new HistoryModel(V4, 0, 0.6);
    const draft = new HistoryModel(V4, 5, 0.6);
    const N = 20000;
    const { Generator } = await import('@attnkit/tensor-core');
    const g = new Generator(7);
    const counts = new Array<number>(V4 ** 3).fill(0);
    let acc = 0;
    for (let r = 0; r < N; r++) {
      const out = await generate(target, [[1]], {
        maxNewTokens: 3,
        doSample: true,
        assistantModel: draft,
        numAssistantTokens: 2,
        generator: g,
      });
      const [a, b, c] = out.sequences[0].slice(1);
      counts[a * 16 + b * 4 + c]++;
      acc += out.acceptanceRate!;
    }
    // the target's probability of each three-token continuation, exactly
    const probs: number[] = [];
    for (let a = 0; a < V4; a++)
      for (let b = 0; b < V4; b++)
        for (let c = 0; c < V4; c++) {
          const p = (prefix: number[], t: number) => softmax(Array.from(target.logitsFor(prefix)))[t];
          probs.push(p([1], a) * p([1, a], b) * p([1, a, b], c));
        }
    const merged: number[] = [];
    const mergedP: number[] = [];
    let restC = 0;
    let restP = 0;
    probs.forEach((p, i) => {
      if (p * N < 20) {
        restC += counts[i];
        restP += p;
      } else {
        merged.push(counts[i]);
        mergedP.push(p);
      }
    });
    merged.push(restC);
    mergedP.push(restP);
    const { stat, df } = chiSquare(merged, mergedP, N);
    // p = 0.001 critical value (Wilson-Hilferty approximation for df beyond the table)
    const crit = CHI2_CRIT_0_001[df] ?? df * (1 - 2 / (9 * df) + 3.090232 * Math.sqrt(2 / (9 * df))) ** 3;
    expect(stat, `chi-square ${stat.toFixed(1)}, df ${df}`).toBeLessThan(crit);
    expect(acc / N).toBeGreaterThan(0.2);
    expect(acc / N).toBeLessThan(1);
  }, 30000);
});

describe('streaming', () => {
  // a byte-level toy tokenizer: token id = byte value, decode = UTF-8
  const td = new TextDecoder();
  const tokenizer = { decode: (ids: readonly number[]) => td.decode(Uint8Array.from(ids)) };
  const bytes = Array.from(new TextEncoder().encode('añ€😀!'));
  const scripted = {
    async forward({
      inputIds,
      attentionMask,
    }: {
      inputIds: import('@attnkit/tensor-core').Tensor;
      attentionMask?: import('@attnkit/tensor-core').Tensor;
    }) {
      const { tensor } = await import('@attnkit/tensor-core');
      const pos = attentionMask!.shape[1] - 1; // prompt is one token
      const next = bytes[Math.min(pos, bytes.length - 1)];
      const logits = new Float32Array(256).fill(-10);
      logits[next] = 10;
      void inputIds;
      return { logits: tensor(logits, [1, 1, 256]) };
    },
  };
  it('emits only whole UTF-8 characters and reassembles the text', async () => {
    const chunks: string[] = [];
    for await (const c of stream(scripted, [[32]], {
      maxNewTokens: bytes.length,
      tokenizer,
      useCache: false,
    }))
      chunks.push(c.text![0]);
    expect(chunks.join('')).toBe('añ€😀!');
    for (const c of chunks) expect(c).not.toContain('\uFFFD');
    expect(chunks.filter((c) => c.length > 0).length).toBe(5);
  });
  it('with traceTopN, each chunk carries the same trace generate() returns for that step', async () => {
    const config = { maxNewTokens: 6, doSample: true, temperature: 0.7, topK: 3, seed: 5, traceTopN: 4 };
    const whole = await generate(new BigramModel(TABLE), [[0]], config);
    const steps: unknown[] = [];
    const tokens: number[] = [];
    for await (const c of stream(new BigramModel(TABLE), [[0]], config)) {
      steps.push(c.trace);
      tokens.push(c.tokenIds[0]);
    }
    expect(tokens).toEqual(whole.sequences[0].slice(1));
    expect(steps).toEqual(whole.trace);
    expect(whole.trace?.[0][0].map((t) => t.processor)).toEqual(['temperature', 'topK']);
  });
  it('an AbortSignal cancels', async () => {
    const ctl = new AbortController();
    let n = 0;
    await expect(async () => {
      for await (const _ of stream(new BigramModel(TABLE), [[0]], { maxNewTokens: 50, signal: ctl.signal })) {
        if (++n === 3) ctl.abort(new Error('stop now'));
      }
    }).rejects.toThrow('stop now');
    expect(n).toBe(3);
  });
  it('stopStrings end generation', async () => {
    const r = await generate(scripted, [[32]], {
      maxNewTokens: 20,
      tokenizer,
      stopStrings: '€',
      useCache: false,
    });
    expect(tokenizer.decode(r.sequences[0].slice(1))).toBe('añ€');
  });
});

describe('bad config gives clear errors', () => {
  const m = new BigramModel(TABLE);
  it.each([
    [{ topP: 0 }, 'topP must be in (0, 1], got 0'],
    [{ topP: 1.5 }, 'topP must be in (0, 1]'],
    [{ temperature: -1 }, 'temperature must be a finite number >= 0, got -1'],
    [{ numBeams: 0 }, 'numBeams must be an integer >= 1, got 0'],
    [{ maxNewTokens: -1 }, 'maxNewTokens must be an integer >= 0, got -1'],
    [{ top_p: 0.5 }, "unknown config key 'top_p' (did you mean 'topP'?)"],
    [{ stopStrings: 'x' }, 'stopStrings needs a tokenizer'],
  ])('%j', async (cfg, msg) => {
    await expect(generate(m, [[0]], cfg as GenerationConfig)).rejects.toThrow(msg);
  });
});
