import { type Tensor, tensor } from '@attnkit/tensor-core';
import type { CausalLM } from './model.js';

/** Prompts as generate() accepts them: an int32 tensor [batch, seq], one list of ids, or a batch of lists. */
export type PromptIds = Tensor | readonly number[] | readonly (readonly number[])[];

/** Left-padded rows and their attention masks. */
export interface Batch {
  rows: number[][];
  masks: number[][];
  /** Real (unpadded) prompt length of each row. */
  promptLengths: number[];
}

/** Normalises prompts into left-padded rows (HF pads decoder-only prompts on the left). */
export async function toBatch(ids: PromptIds, padTokenId: number, attentionMask?: Tensor): Promise<Batch> {
  let rows: number[][];
  let masks: number[][] | undefined;
  if (ids && (ids as Tensor).isTensor) {
    const t = ids as Tensor;
    if (t.rank !== 2)
      throw new Error(`generate: inputIds must be [batch, seq], got shape [${t.shape.join(',')}]`);
    if (t.dtype !== 'int32') throw new TypeError(`generate: inputIds must be int32, got ${t.dtype}`);
    const data = await t.data();
    const [b, l] = t.shape;
    rows = Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * l, (i + 1) * l)));
    if (attentionMask) {
      const m = await attentionMask.data();
      if (attentionMask.size !== b * l)
        throw new Error(
          `generate: attentionMask shape [${attentionMask.shape.join(',')}] must match inputIds [${b},${l}]`,
        );
      masks = Array.from({ length: b }, (_, i) =>
        Array.from(m.subarray(i * l, (i + 1) * l), (v) => (v ? 1 : 0)),
      );
    }
  } else if (Array.isArray(ids)) {
    const list = (ids.length > 0 && Array.isArray(ids[0]) ? ids : [ids]) as number[][];
    for (const r of list) {
      if (!Array.isArray(r) || r.some((v) => !Number.isInteger(v) || v < 0)) {
        throw new TypeError('generate: prompts must be lists of non-negative integer token ids');
      }
    }
    const width = Math.max(...list.map((r) => r.length));
    rows = list.map((r) => [...new Array<number>(width - r.length).fill(padTokenId), ...r]);
    masks = list.map((r) => [
      ...new Array<number>(width - r.length).fill(0),
      ...new Array<number>(r.length).fill(1),
    ]);
  } else {
    throw new TypeError('generate: inputIds must be an int32 Tensor [batch, seq] or arrays of token ids');
  }
  if (rows.length === 0 || rows[0].length === 0)
    throw new Error('generate: the prompt must hold at least one token');
  masks ??= rows.map((r) => r.map(() => 1));
  return { rows, masks, promptLengths: masks.map((m) => m.reduce((a, b) => a + b, 0)) };
}

/**
 * Runs one forward step over the rows (all tokens, or only the last one when `past` is given) and
 * returns the last position's logits of each row, plus the new cache.
 */
export async function forwardLast(
  model: CausalLM,
  rows: readonly (readonly number[])[],
  masks: readonly (readonly number[])[],
  past: unknown,
  feedLast: number,
): Promise<{ logits: Float32Array[]; past: unknown }> {
  const b = rows.length;
  const total = rows[0].length;
  const l = feedLast;
  const ids = new Int32Array(b * l);
  const mask = new Int32Array(b * total);
  const pos = new Int32Array(b * l);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < l; j++) ids[i * l + j] = rows[i][total - l + j];
    let c = 0;
    for (let j = 0; j < total; j++) {
      mask[i * total + j] = masks[i][j];
      c += masks[i][j];
      // HF: position_ids = cumsum(mask) - 1, with padded positions set to 1
      const p = masks[i][j] ? c - 1 : 1;
      if (j >= total - l) pos[i * l + (j - total + l)] = p;
    }
  }
  const inputIds = tensor(ids, [b, l], 'int32');
  const attentionMask = tensor(mask, [b, total], 'int32');
  const positionIds = tensor(pos, [b, l], 'int32');
  try {
    const out = await model.forward({ inputIds, attentionMask, positionIds, pastKeyValues: past });
    const logits = out.logits;
    if (logits?.rank !== 3 || logits.shape[0] !== b) {
      throw new Error(
        `generate: model.forward must return logits [batch, seq, vocab]; got ${logits ? `[${logits.shape.join(',')}]` : String(logits)}`,
      );
    }
    const v = logits.shape[2];
    const last = logits.sliceDim(1, logits.shape[1] - 1);
    const data = (await last.data()) as Float32Array;
    last.dispose();
    logits.dispose();
    const rowsOut = Array.from({ length: b }, (_, i) => data.slice(i * v, (i + 1) * v));
    return { logits: rowsOut, past: out.pastKeyValues };
  } finally {
    inputIds.dispose();
    attentionMask.dispose();
    positionIds.dispose();
  }
}
