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

/**
 * Normalises prompts into left-padded rows (HF pads decoder-only prompts on the left).
 *
 * The attention mask is, in order: `attentionMask` when given (for a tensor or for equal-length
 * lists of ids); for lists of different lengths, the left padding added here; for a tensor without
 * a mask, as transformers infers it: 0 where the ids equal `padTokenId`, when `padTokenId` is set,
 * occurs in the ids and is not an EOS id; otherwise all ones.
 */
export async function toBatch(
  ids: PromptIds,
  padTokenId: number,
  attentionMask?: Tensor,
  infer?: { padTokenId?: number; eos: readonly number[] },
): Promise<Batch> {
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
    const pad = infer?.padTokenId;
    if (!attentionMask && pad !== undefined && !infer?.eos.includes(pad) && data.includes(pad))
      masks = rows.map((r) => r.map((v) => (v === pad ? 0 : 1)));
  } else if (Array.isArray(ids)) {
    const list = (ids.length > 0 && Array.isArray(ids[0]) ? ids : [ids]) as number[][];
    for (const r of list) {
      if (!Array.isArray(r) || r.some((v) => !Number.isInteger(v) || v < 0)) {
        throw new TypeError('generate: prompts must be lists of non-negative integer token ids');
      }
    }
    const width = Math.max(...list.map((r) => r.length));
    if (attentionMask && list.some((r) => r.length !== width))
      throw new Error(
        'generate: with an attentionMask, the prompts must already be padded to one length (or pass prompts of different lengths without a mask: generate() pads them on the left)',
      );
    rows = list.map((r) => [...new Array<number>(width - r.length).fill(padTokenId), ...r]);
    if (!attentionMask)
      masks = list.map((r) => [
        ...new Array<number>(width - r.length).fill(0),
        ...new Array<number>(r.length).fill(1),
      ]);
  } else {
    throw new TypeError('generate: inputIds must be an int32 Tensor [batch, seq] or arrays of token ids');
  }
  if (rows.length === 0 || rows[0].length === 0)
    throw new Error('generate: the prompt must hold at least one token');
  if (attentionMask) masks = await maskRows(attentionMask, rows.length, rows[0].length);
  masks ??= rows.map((r) => r.map(() => 1));
  const promptLengths = masks.map((m) => m.reduce((a, b) => a + b, 0));
  const empty = promptLengths.indexOf(0);
  if (empty >= 0) throw new Error(`generate: row ${empty} of attentionMask is all zeros (no real token)`);
  return { rows, masks, promptLengths };
}

async function maskRows(attentionMask: Tensor, b: number, l: number): Promise<number[][]> {
  if (!attentionMask || !(attentionMask as Tensor).isTensor)
    throw new TypeError('generate: attentionMask must be a Tensor [batch, seq] of 0/1');
  if (attentionMask.rank !== 2 || attentionMask.shape[0] !== b || attentionMask.shape[1] !== l)
    throw new Error(
      `generate: attentionMask shape [${attentionMask.shape.join(',')}] must match inputIds [${b},${l}]`,
    );
  const m = await attentionMask.data();
  return Array.from({ length: b }, (_, i) => Array.from(m.subarray(i * l, (i + 1) * l), (v) => (v ? 1 : 0)));
}

/**
 * The source batch of an encoder-decoder model as int32 tensors: a tensor as given (its mask as
 * given, else inferred as {@link toBatch} does), lists padded on the right with `padTokenId`.
 * `dispose()` frees only the tensors made here.
 */
export async function sourceBatch(
  ids: PromptIds,
  padTokenId: number,
  attentionMask: Tensor | undefined,
  infer: { padTokenId?: number; eos: readonly number[] },
): Promise<{ ids: Tensor; mask: Tensor; dispose: () => void }> {
  let rows: number[][];
  let masks: number[][];
  if (ids && (ids as Tensor).isTensor) {
    ({ rows, masks } = await toBatch(ids, padTokenId, attentionMask, infer));
  } else if (Array.isArray(ids)) {
    const list = (ids.length > 0 && Array.isArray(ids[0]) ? ids : [ids]) as number[][];
    const lengths = list.map((r) => (Array.isArray(r) ? r.length : 0));
    const width = Math.max(...lengths);
    // validates the ids (and an explicit mask) as prompts are validated, then pads on the right
    const checked = await toBatch(
      list.map((r) => [...r, ...new Array<number>(width - r.length).fill(padTokenId)]),
      padTokenId,
      attentionMask,
      infer,
    );
    rows = checked.rows;
    masks = attentionMask
      ? checked.masks
      : lengths.map((n) => Array.from({ length: width }, (_, j) => (j < n ? 1 : 0)));
  } else {
    throw new TypeError('generate: inputIds must be an int32 Tensor [batch, seq] or arrays of token ids');
  }
  const b = rows.length;
  const l = rows[0].length;
  const made: Tensor[] = [];
  const idsT =
    ids && (ids as Tensor).isTensor ? (ids as Tensor) : tensor(Int32Array.from(rows.flat()), [b, l], 'int32');
  if (idsT !== ids) made.push(idsT);
  const maskT = tensor(Int32Array.from(masks.flat()), [b, l], 'int32');
  made.push(maskT);
  return {
    ids: idsT,
    mask: maskT,
    dispose: () => {
      for (const t of made) t.dispose();
    },
  };
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
    // padding positions are masked: their ids cannot change the result, so they are fed as 0 (a
    // pad id the vocabulary lacks then cannot break the embedding lookup)
    for (let j = 0; j < l; j++) ids[i * l + j] = masks[i][total - l + j] ? rows[i][total - l + j] : 0;
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
