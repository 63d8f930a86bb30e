// Test helpers: the reference fixtures written by scripts/reference/transformer_gen_refs.py (transformers)
// (one folder per case: a Hugging Face checkpoint plus meta.json and little-endian .f32/.i32 arrays).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KVCache } from '@attnkit/attention';
import { concat, fromValues, type Tensor } from '@attnkit/tensor-core';
import { expect } from 'vitest';
import {
  BertForMaskedLM,
  BertModel,
  GPT2LMHeadModel,
  LlamaForCausalLM,
  type PreTrainedModel,
} from '../src/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Parity tolerance against PyTorch on CPU: 1e-4 relative, with a small absolute floor for values near 0. */
export const RTOL = 1e-4;
export const ATOL = 1e-5;

export interface FixtureArray {
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface Fixture {
  name: string;
  dir: string;
  meta: Record<string, unknown>;
  has(key: string): boolean;
  array(key: string): FixtureArray;
  tensor(key: string): Tensor;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES).filter((n) => {
    try {
      readFileSync(join(FIXTURES, n, 'meta.json'));
      return true;
    } catch {
      return false;
    }
  });
}

export function loadFixture(name: string): Fixture {
  const dir = join(FIXTURES, name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  const has = (key: string) => {
    const e = meta[key];
    return !!e && typeof e === 'object' && 'file' in (e as object);
  };
  const array = (key: string): FixtureArray => {
    if (!has(key)) throw new Error(`fixture ${name}: no array '${key}'`);
    const e = meta[key] as { file: string; shape: number[] };
    const buf = readFileSync(join(dir, e.file));
    const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = e.file.endsWith('.i32') ? new Int32Array(bytes) : new Float32Array(bytes);
    return { shape: e.shape, data };
  };
  return {
    name,
    dir,
    meta,
    has,
    array,
    tensor(key) {
      const a = array(key);
      return fromValues(a.data, a.shape, a.data instanceof Int32Array ? 'int32' : 'float32');
    },
  };
}

/**
 * Largest violation of |got - want| <= ATOL + RTOL·|want| (≤ 1 passes), over the elements where
 * `keep(i)` is true. Also returns the worst index for messages.
 */
export function closeness(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  keep: (i: number) => boolean = () => true,
  rtol = RTOL,
  atol = ATOL,
): { ratio: number; worst: number; compared: number } {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let ratio = 0;
  let worst = -1;
  let compared = 0;
  for (let i = 0; i < got.length; i++) {
    if (!keep(i)) continue;
    compared++;
    const r = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(r <= ratio)) {
      ratio = r;
      worst = i;
    }
  }
  return { ratio, worst, compared };
}

/** Rows [b, t] of a [B, T, ...] array that are real tokens per a [B, T] mask (all when no mask). */
export function realTokens(mask: FixtureArray | null, inner: number): (i: number) => boolean {
  if (!mask) return () => true;
  return (i) => mask.data[Math.floor(i / inner)] !== 0;
}

/** The causal LMs of the parity fixtures. */
export type LM = GPT2LMHeadModel | LlamaForCausalLM;

/** The fixture's model inputs, made on the current backend; `positionIds` may be given instead. */
export function modelInputs(fx: Fixture, positionIds?: Tensor): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = { inputIds: fx.tensor('input_ids') };
  if (fx.has('attention_mask')) inputs.attentionMask = fx.tensor('attention_mask');
  if (fx.has('position_ids')) inputs.positionIds = positionIds ?? fx.tensor('position_ids');
  if (fx.has('token_type_ids')) inputs.tokenTypeIds = fx.tensor('token_type_ids');
  return inputs;
}

/**
 * Runs the fixture's model (checking its class) and returns the outputs to compare with torch's:
 * [fixture key, tensor, compare only real (unpadded) tokens].
 */
export function forwardOutputs(
  fx: Fixture,
  model: PreTrainedModel,
  inputs: Record<string, Tensor>,
): [string, Tensor, boolean][] {
  const kind = fx.meta.model;
  if (kind === 'gpt2' || kind === 'llama') {
    expect(model).toBeInstanceOf(kind === 'gpt2' ? GPT2LMHeadModel : LlamaForCausalLM);
    const out = (model as LM).forward(inputs as never);
    out.pastKeyValues?.dispose();
    return [['logits', out.logits, true]];
  }
  if (fx.meta.mlm) {
    expect(model).toBeInstanceOf(BertForMaskedLM);
    return [['logits', (model as BertForMaskedLM).forward(inputs as never).logits, false]];
  }
  expect(model).toBeInstanceOf(BertModel);
  const out = (model as BertModel).forward(inputs as never);
  return [
    ['last_hidden_state', out.lastHiddenState, false],
    ['pooler_output', out.poolerOutput as Tensor, false],
  ];
}

/**
 * Feeds `ids` [B, T] through the KV cache in chunks of the given sizes (the prompt, then single
 * tokens); returns the logits of every step concatenated along the sequence.
 */
export function chunked(
  model: LM,
  ids: Tensor,
  sizes: number[],
  mask: Tensor | null,
  pos: Tensor | null,
): Tensor {
  let past: KVCache | null = null;
  let start = 0;
  const parts: Tensor[] = [];
  for (const n of sizes) {
    const out: { logits: Tensor; pastKeyValues: KVCache | null } = model.forward({
      inputIds: ids.sliceDim(1, start, start + n),
      attentionMask: mask ? mask.sliceDim(1, 0, start + n) : null,
      positionIds: pos ? pos.sliceDim(1, start, start + n) : null,
      pastKeyValues: past,
    });
    if (past) expect(out.pastKeyValues).toBe(past); // grows in place
    past = out.pastKeyValues;
    parts.push(out.logits);
    start += n;
  }
  expect(start).toBe(ids.shape[1]);
  expect(past?.length).toBe(start);
  past?.dispose();
  const all = concat(parts, 1);
  for (const p of parts) p.dispose();
  return all;
}
