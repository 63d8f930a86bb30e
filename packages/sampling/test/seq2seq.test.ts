// generate() and stream() driving an encoder-decoder (a toy Seq2SeqLM): the encoder runs once, the
// decoder starts from the decoder start token (options, then generation_config, then the model),
// beams see their source's encoder output, lists of sources are padded on the right, and the bound
// decoder is disposed once. Parity with transformers for T5 and BART is tested in
// @attnkit/transformer (t5.test.ts, bart.test.ts).
import '@attnkit/backend-cpu';
import { type CausalLM, type ConditionedDecoder, generate, type Seq2SeqLM, stream } from '@attnkit/sampling';
import { type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

const V = 7;

/** The decoder's next token after t: (t + shift + 1) mod V, shift being the sum of the real source ids. */
class ToySeq2Seq implements Seq2SeqLM {
  encodes = 0;
  disposed = 0;
  sources: number[][] = [];
  masks: number[][] = [];
  decoderRows: number[] = [];
  generationConfig: Seq2SeqLM['generationConfig'] = null;
  constructor(readonly decoderStartTokenId: number | null = 0) {}

  seq2seqDecoder(inputIds: Tensor, attentionMask: Tensor): ConditionedDecoder {
    this.encodes++;
    const [b, l] = inputIds.shape;
    const ids = Array.from(inputIds.dataSync());
    const mask = Array.from(attentionMask.dataSync());
    this.sources = Array.from({ length: b }, (_, i) => ids.slice(i * l, (i + 1) * l));
    this.masks = Array.from({ length: b }, (_, i) => mask.slice(i * l, (i + 1) * l));
    const shift = this.sources.map((r, i) => r.reduce((a, x, j) => a + x * this.masks[i][j], 0));
    return {
      forward: ({ inputIds: dec }) => {
        const [rows, len] = dec.shape;
        this.decoderRows.push(rows);
        const k = rows / b;
        const d = dec.dataSync();
        const out = new Float32Array(rows * len * V);
        for (let r = 0; r < rows; r++)
          for (let t = 0; t < len; t++) {
            const next = (d[r * len + t] + shift[Math.floor(r / k)] + 1) % V;
            out[(r * len + t) * V + next] = 5;
          }
        return { logits: tensor(out, [rows, len, V]) };
      },
      dispose: () => {
        this.disposed++;
      },
    };
  }
}

const expected = (shift: number, start: number, n: number) => {
  const s = [start];
  for (let i = 0; i < n; i++) s.push((s[s.length - 1] + shift + 1) % V);
  return s;
};

describe('generate() with an encoder-decoder', () => {
  it('encodes once and decodes from the start token (greedy and beams)', async () => {
    for (const numBeams of [1, 2]) {
      const m = new ToySeq2Seq(3);
      const { sequences } = await generate(m, [[1, 2], [4]], { maxNewTokens: 4, numBeams });
      expect(sequences).toEqual([expected(3, 3, 4), expected(4, 3, 4)]);
      expect(m.encodes).toBe(1);
      expect(m.disposed).toBe(1);
      // sources of different lengths are padded on the right
      expect(m.masks).toEqual([
        [1, 1],
        [1, 0],
      ]);
      expect(new Set(m.decoderRows)).toEqual(new Set([2 * numBeams]));
    }
  });

  it('takes decoderStartTokenId from the options, then generationConfig, then the model', async () => {
    const m = new ToySeq2Seq(3);
    m.generationConfig = { decoderStartTokenId: 5 };
    expect((await generate(m, [[1]], { maxNewTokens: 1 })).sequences[0][0]).toBe(5);
    expect((await generate(m, [[1]], { maxNewTokens: 1, decoderStartTokenId: 6 })).sequences[0][0]).toBe(6);
    m.generationConfig = null;
    expect((await generate(m, [[1]], { maxNewTokens: 1 })).sequences[0][0]).toBe(3);
    await expect(generate(new ToySeq2Seq(null), [[1]], { maxNewTokens: 1 })).rejects.toThrow(
      /decoderStartTokenId/,
    );
  });

  it('starts from decoderPromptIds (the start token put first when missing)', async () => {
    const m = new ToySeq2Seq(3);
    const withStart = await generate(m, [[1]], { maxNewTokens: 2, decoderPromptIds: [3, 5] });
    const without = await generate(m, [[1]], { maxNewTokens: 2, decoderPromptIds: [5] });
    const next = (t: number) => (t + 1 + 1) % V;
    expect(withStart.sequences).toEqual([[3, 5, next(5), next(next(5))]]);
    expect(without.sequences).toEqual(withStart.sequences);
    await expect(generate(m, [[1]], { decoderPromptIds: [] })).rejects.toThrow(/decoderPromptIds/);
  });

  it('suppressTokens (always) and beginSuppressTokens (first generated token only)', async () => {
    const m = new ToySeq2Seq(3);
    // source [1]: shift 1, so 3 → 5 → 0 → 2 → 4 unsuppressed (ties go to the lowest id)
    const run = async (o: object) => (await generate(m, [[1]], { maxNewTokens: 4, ...o })).sequences[0];
    expect(await run({})).toEqual([3, 5, 0, 2, 4]);
    expect(await run({ beginSuppressTokens: [5] })).toEqual([3, 0, 2, 4, 6]);
    expect(await run({ suppressTokens: [0] })).toEqual([3, 5, 1, 3, 5]);
    expect(await run({ suppressTokens: [5], beginSuppressTokens: [0] })).toEqual([3, 1, 3, 0, 2]);
  });

  it('streams, and refuses what does not apply', async () => {
    const m = new ToySeq2Seq(0);
    const tokens: number[] = [];
    for await (const c of stream(m, [[2]], { maxNewTokens: 3 })) tokens.push(c.tokenIds[0]);
    expect([0, ...tokens]).toEqual(expected(2, 0, 3));
    expect(m.disposed).toBe(1);
    const causal: CausalLM = { forward: () => ({ logits: tensor(new Float32Array(V), [1, 1, V]) }) };
    await expect(generate(causal, [[1]], { maxNewTokens: 1, decoderStartTokenId: 0 })).rejects.toThrow(
      /decoderStartTokenId applies to encoder-decoder models/,
    );
    await expect(generate(m, [[1]], { maxNewTokens: 1, assistantModel: causal })).rejects.toThrow(
      /assistantModel/,
    );
  });
});
