// ONNX export (opset 17) of GPT-2, Llama and BERT: the same forward pass written as an ONNX graph
// whose initializers are the model's weights (Hugging Face names), so onnxruntime (web, node,
// server GPUs) runs it. The graphs take the whole sequence (no KV cache inputs): causal LMs map
// input_ids [batch, seq] (int32) → logits [batch, seq, vocab]; BERT maps input_ids,
// attention_mask, token_type_ids → last_hidden_state and pooler_output.
import { writeFolder } from '@attnkit/hub';
import { noGrad, type Tensor } from '@attnkit/tensor-core';
import type { Linear } from '@attnkit/tensor-core/nn';
import { describe } from '../internal.js';
import { BertModel } from '../models/bert.js';
import { GPT2LMHeadModel } from '../models/gpt2.js';
import { LlamaForCausalLM } from '../models/llama.js';
import { ONNX_BOOL, ONNX_FLOAT, ONNX_INT32, ONNX_INT64, OnnxGraph } from './graph.js';

/** A tensor's values on the host. @internal */
export function host(t: Tensor): Float32Array {
  return noGrad(() => Float32Array.from(t.dataSync()));
}

/** A [rows, cols] matrix transposed on the host (nn.Linear's [out, in] → MatMul's [in, out]). */
export function transposed(t: Tensor): Float32Array {
  const [r, c] = t.shape;
  const d = host(t);
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = d[i * c + j];
  return out;
}

/** Builds ONNX nodes for the pieces the exported models share. @internal */
export class Builder {
  readonly g = new OnnxGraph();

  weight(name: string, t: Tensor): string {
    return this.g.float(name, host(t), t.shape);
  }

  /** x @ W (+ b) with W given as [in, out]. */
  matmulIn(x: string, w: string, b: string | null): string {
    const y = this.g.node('MatMul', [x, w]);
    return b ? this.g.node('Add', [y, b]) : y;
  }

  /** An nn.Linear: x Wᵀ + b (the weight stored transposed under its own name). */
  linear(x: string, prefix: string, lin: Linear): string {
    const [out, inp] = lin.weight.shape;
    const w = this.g.float(`${prefix}.weight`, transposed(lin.weight), [inp, out]);
    const b = lin.bias ? this.weight(`${prefix}.bias`, lin.bias) : null;
    return this.matmulIn(x, w, b);
  }

  layerNorm(x: string, prefix: string, w: Tensor, b: Tensor, eps: number): string {
    return this.g.node(
      'LayerNormalization',
      [x, this.weight(`${prefix}.weight`, w), this.weight(`${prefix}.bias`, b)],
      {
        axis: -1,
        epsilon: { f: eps },
      },
    );
  }

  rmsNorm(x: string, prefix: string, w: Tensor, eps: number): string {
    const g = this.g;
    const ms = g.node('ReduceMean', [g.node('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const r = g.node('Sqrt', [g.node('Add', [ms, g.scalar(eps)])]);
    return g.node('Mul', [g.node('Div', [x, r]), this.weight(`${prefix}.weight`, w)]);
  }

  act(x: string, name: string): string {
    const g = this.g;
    if (name === 'relu') return g.node('Relu', [x]);
    if (name === 'silu' || name === 'swish') return g.node('Mul', [x, g.node('Sigmoid', [x])]);
    if (name === 'gelu') {
      const e = g.node('Erf', [g.node('Mul', [x, g.scalar(Math.SQRT1_2)])]);
      return g.node('Mul', [g.node('Mul', [x, g.scalar(0.5)]), g.node('Add', [e, g.scalar(1)])]);
    }
    if (name === 'gelu_new' || name === 'gelu_pytorch_tanh' || name === 'gelu_fast') {
      const x3 = g.node('Mul', [g.node('Mul', [x, x]), x]);
      const inner = g.node('Mul', [
        g.node('Add', [x, g.node('Mul', [x3, g.scalar(0.044715)])]),
        g.scalar(Math.sqrt(2 / Math.PI)),
      ]);
      return g.node('Mul', [
        g.node('Mul', [x, g.scalar(0.5)]),
        g.node('Add', [g.node('Tanh', [inner]), g.scalar(1)]),
      ]);
    }
    throw new Error(`exportOnnx: the activation '${name}' has no ONNX translation here`);
  }

  /** [B, T, H·D] → [B, H, T, D] */
  heads(x: string, h: number, d: number): string {
    const r = this.g.node('Reshape', [x, this.g.int64([0, 0, h, d])]);
    return this.g.node('Transpose', [r], { perm: [0, 2, 1, 3] });
  }

  /** [B, H, T, D] → [B, T, H·D] */
  merge(x: string, width: number): string {
    const t = this.g.node('Transpose', [x], { perm: [0, 2, 1, 3] });
    return this.g.node('Reshape', [t, this.g.int64([0, 0, width])]);
  }

  /** softmax(q kᵀ · scale + mask) v with q [B, H, T, D], k, v [B, H, T, D]; mask broadcastable. */
  attention(q: string, k: string, v: string, scale: number, mask: string | null): string {
    const g = this.g;
    const kt = g.node('Transpose', [k], { perm: [0, 1, 3, 2] });
    let s = g.node('Mul', [g.node('MatMul', [q, kt]), g.scalar(scale)]);
    if (mask) s = g.node('Add', [s, mask]);
    return g.node('MatMul', [g.node('Softmax', [s], { axis: -1 }), v]);
  }

  /** seq length as a 1-D int64 [T], from input_ids [B, T]. */
  seqLen(ids: string): string {
    return this.g.node('Slice', [this.g.node('Shape', [ids]), this.g.int64([1]), this.g.int64([2])]);
  }

  /** positions 0 .. T-1 (int64 [T]). */
  positions(t1: string): string {
    const g = this.g;
    return g.node('Range', [g.int64([0], true), g.node('Squeeze', [t1]), g.int64([1], true)]);
  }

  /**
   * The inputs of a graph with a KV cache (Optimum / transformers.js layout): input_ids,
   * attention_mask [batch, past + sequence] and position_ids, all int64; and the additive mask
   * [B, 1, T, past + T] they define (causal over absolute positions, padding keys masked).
   */
  pastInputs(): { ids: string; positions: string; mask: string } {
    const g = this.g;
    const ids = g.input('input_ids', ONNX_INT64, ['batch', 'sequence']);
    const am = g.input('attention_mask', ONNX_INT64, ['batch', 'total_sequence']);
    const positions = g.input('position_ids', ONNX_INT64, ['batch', 'sequence']);
    const s1 = g.node('Slice', [g.node('Shape', [am]), g.int64([1]), g.int64([2])]); // [1]: past + T
    const p1 = g.node('Sub', [s1, this.seqLen(ids)]); // [1]: past
    const keys = g.node('Range', [g.int64([0], true), g.node('Squeeze', [s1]), g.int64([1], true)]);
    const queries = g.node('Range', [g.node('Squeeze', [p1]), g.node('Squeeze', [s1]), g.int64([1], true)]);
    const causal = g.node('LessOrEqual', [
      g.node('Unsqueeze', [keys, g.int64([0])]), // [1, S]
      g.node('Unsqueeze', [queries, g.int64([1])]), // [T, 1]
    ]); // [T, S]: key j is at or before query i's position
    const pad = g.node('Cast', [g.node('Unsqueeze', [am, g.int64([1, 2])])], { to: ONNX_BOOL }); // [B, 1, 1, S]
    const mask = g.node('Where', [g.node('And', [causal, pad]), g.scalar(0), g.scalar(-1e9)]); // [B, 1, T, S]
    return { ids, positions, mask };
  }

  /** Appends this step's keys or values to the cache input of layer `i`: `present.i.<kind>`. */
  withPast(x: string, i: number, kind: 'key' | 'value', heads: number, d: number): string {
    const g = this.g;
    const past = g.input(`past_key_values.${i}.${kind}`, ONNX_FLOAT, ['batch', heads, 'past_sequence', d]);
    const out = g.node('Concat', [past, x], { axis: 2 }, `present.${i}.${kind}`);
    g.output(out, ONNX_FLOAT, ['batch', heads, 'total_sequence', d]);
    return out;
  }

  /** An additive causal mask [T, T] (0 on and below the diagonal, -1e9 above), sliced from [P, P]. */
  causalMask(maxPositions: number, t1: string): string {
    const p = maxPositions;
    const m = new Float32Array(p * p);
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) m[i * p + j] = -1e9;
    const full = this.g.float(this.g.fresh('causal_mask'), m, [p, p]);
    const ends = this.g.node('Concat', [t1, t1], { axis: 0 });
    return this.g.node('Slice', [full, this.g.int64([0, 0]), ends, this.g.int64([0, 1])]);
  }
}

function gpt2(model: GPT2LMHeadModel, past: boolean): Uint8Array {
  const b = new Builder();
  const g = b.g;
  const c = model.config;
  const e = c.nEmbd;
  const h = c.nHead;
  const d = e / h;
  const tr = model.transformer;
  // without a cache: int32 ids, positions 0 .. T-1, a causal [T, T] mask; with one: the Optimum inputs
  let ids: string;
  let positions: string;
  let mask: string;
  if (past) ({ ids, positions, mask } = b.pastInputs());
  else {
    ids = g.input('input_ids', ONNX_INT32, ['batch', 'sequence']);
    const t1 = b.seqLen(ids);
    positions = b.positions(t1);
    mask = b.causalMask(c.nPositions, t1);
  }
  const wte = b.weight('transformer.wte.weight', tr.wte.weight);
  let x = g.node('Add', [
    g.node('Gather', [wte, ids], { axis: 0 }),
    g.node('Gather', [b.weight('transformer.wpe.weight', tr.wpe.weight), positions], { axis: 0 }),
  ]);
  tr.h.forEach((blk, i) => {
    const p = `transformer.h.${i}`;
    const a = b.layerNorm(
      x,
      `${p}.ln_1`,
      blk.ln_1.weight as Tensor,
      blk.ln_1.bias as Tensor,
      c.layerNormEpsilon,
    );
    const qkv = b.matmulIn(
      a,
      b.weight(`${p}.attn.c_attn.weight`, blk.attn.c_attn.weight),
      b.weight(`${p}.attn.c_attn.bias`, blk.attn.c_attn.bias),
    );
    const [q, k, v] = g.nodeN('Split', [qkv, g.int64([e, e, e])], 3, { axis: -1 });
    let scale = c.scaleAttnWeights ? 1 / Math.sqrt(d) : 1;
    if (c.scaleAttnByInverseLayerIdx) scale /= i + 1;
    let kh = b.heads(k, h, d);
    let vh = b.heads(v, h, d);
    if (past) {
      kh = b.withPast(kh, i, 'key', h, d);
      vh = b.withPast(vh, i, 'value', h, d);
    }
    const o = b.attention(b.heads(q, h, d), kh, vh, scale, mask);
    const proj = b.matmulIn(
      b.merge(o, e),
      b.weight(`${p}.attn.c_proj.weight`, blk.attn.c_proj.weight),
      b.weight(`${p}.attn.c_proj.bias`, blk.attn.c_proj.bias),
    );
    x = g.node('Add', [x, proj]);
    const m = b.layerNorm(
      x,
      `${p}.ln_2`,
      blk.ln_2.weight as Tensor,
      blk.ln_2.bias as Tensor,
      c.layerNormEpsilon,
    );
    const fc = b.matmulIn(
      m,
      b.weight(`${p}.mlp.c_fc.weight`, blk.mlp.c_fc.weight),
      b.weight(`${p}.mlp.c_fc.bias`, blk.mlp.c_fc.bias),
    );
    const out = b.matmulIn(
      b.act(fc, c.activationFunction),
      b.weight(`${p}.mlp.c_proj.weight`, blk.mlp.c_proj.weight),
      b.weight(`${p}.mlp.c_proj.bias`, blk.mlp.c_proj.bias),
    );
    x = g.node('Add', [x, out]);
  });
  x = b.layerNorm(
    x,
    'transformer.ln_f',
    tr.ln_f.weight as Tensor,
    tr.ln_f.bias as Tensor,
    c.layerNormEpsilon,
  );
  const head = c.tieWordEmbeddings
    ? g.node('Transpose', [wte], { perm: [1, 0] })
    : g.float('lm_head.weight', transposed(model.lm_head.weight), [e, c.vocabSize]);
  g.node('MatMul', [x, head], {}, 'logits');
  g.output('logits', ONNX_FLOAT, ['batch', 'sequence', c.vocabSize]);
  return g.toModel('gpt2');
}

function llama(model: LlamaForCausalLM, past: boolean): Uint8Array {
  const b = new Builder();
  const g = b.g;
  const c = model.config;
  const heads = c.numAttentionHeads;
  const kv = c.numKeyValueHeads ?? heads;
  const d = c.headDim ?? c.hiddenSize / heads;
  let ids: string;
  let positions: string | null = null;
  let mask: string;
  let t1 = '';
  if (past) ({ ids, positions, mask } = b.pastInputs());
  else {
    ids = g.input('input_ids', ONNX_INT32, ['batch', 'sequence']);
    t1 = b.seqLen(ids);
    mask = b.causalMask(c.maxPositionEmbeddings, t1);
  }
  const emb = b.weight('model.embed_tokens.weight', model.model.embed_tokens.weight);
  let x = g.node('Gather', [emb, ids], { axis: 0 });
  // rotary tables [P, D] (rotate-half layout: the half-size table repeated), sliced to [T, D]
  const inv = model.model.rotary.invFreq;
  const p = c.maxPositionEmbeddings;
  const cos = new Float32Array(p * d);
  const sin = new Float32Array(p * d);
  for (let pos = 0; pos < p; pos++) {
    for (let i = 0; i < d / 2; i++) {
      const a = pos * inv[i];
      cos[pos * d + i] = cos[pos * d + i + d / 2] = Math.cos(a);
      sin[pos * d + i] = sin[pos * d + i + d / 2] = Math.sin(a);
    }
  }
  // [T, D] rows 0 .. T-1 without a cache; [B, 1, T, D] rows at position_ids with one
  const sliceT = (name: string) =>
    positions
      ? g.node('Unsqueeze', [g.node('Gather', [name, positions], { axis: 0 }), g.int64([1])])
      : g.node('Slice', [name, g.int64([0]), t1, g.int64([0])]);
  const cosT = sliceT(g.float('rope_cos', cos, [p, d]));
  const sinT = sliceT(g.float('rope_sin', sin, [p, d]));
  const rope = (t: string) => {
    const x1 = g.node('Slice', [t, g.int64([0]), g.int64([d / 2]), g.int64([3])]);
    const x2 = g.node('Slice', [t, g.int64([d / 2]), g.int64([d]), g.int64([3])]);
    const rot = g.node('Concat', [g.node('Neg', [x2]), x1], { axis: 3 });
    return g.node('Add', [g.node('Mul', [t, cosT]), g.node('Mul', [rot, sinT])]);
  };
  const repeatKV = (t: string) => {
    if (kv === heads) return t;
    const u = g.node('Unsqueeze', [t, g.int64([2])]); // [B, KV, 1, T, D]
    const ex = g.node('Expand', [u, g.int64([1, 1, heads / kv, 1, 1])]);
    return g.node('Reshape', [ex, g.int64([0, heads, -1, d])]);
  };
  model.model.layers.forEach((layer, i) => {
    const pre = `model.layers.${i}`;
    const a = b.rmsNorm(x, `${pre}.input_layernorm`, layer.input_layernorm.weight as Tensor, c.rmsNormEps);
    const at = layer.self_attn;
    const q = rope(b.heads(b.linear(a, `${pre}.self_attn.q_proj`, at.q_proj), heads, d));
    let k = rope(b.heads(b.linear(a, `${pre}.self_attn.k_proj`, at.k_proj), kv, d));
    let v = b.heads(b.linear(a, `${pre}.self_attn.v_proj`, at.v_proj), kv, d);
    if (past) {
      k = b.withPast(k, i, 'key', kv, d);
      v = b.withPast(v, i, 'value', kv, d);
    }
    const o = b.attention(q, repeatKV(k), repeatKV(v), 1 / Math.sqrt(d), mask);
    x = g.node('Add', [x, b.linear(b.merge(o, heads * d), `${pre}.self_attn.o_proj`, at.o_proj)]);
    const m = b.rmsNorm(
      x,
      `${pre}.post_attention_layernorm`,
      layer.post_attention_layernorm.weight as Tensor,
      c.rmsNormEps,
    );
    const mlp = layer.mlp;
    const gate = b.act(b.linear(m, `${pre}.mlp.gate_proj`, mlp.gate_proj), c.hiddenAct);
    const up = b.linear(m, `${pre}.mlp.up_proj`, mlp.up_proj);
    x = g.node('Add', [x, b.linear(g.node('Mul', [gate, up]), `${pre}.mlp.down_proj`, mlp.down_proj)]);
  });
  x = b.rmsNorm(x, 'model.norm', model.model.norm.weight as Tensor, c.rmsNormEps);
  const head = c.tieWordEmbeddings
    ? g.node('Transpose', [emb], { perm: [1, 0] })
    : g.float('lm_head.weight', transposed(model.lm_head.weight), [c.hiddenSize, c.vocabSize]);
  g.node('MatMul', [x, head], {}, 'logits');
  g.output('logits', ONNX_FLOAT, ['batch', 'sequence', c.vocabSize]);
  return g.toModel('llama');
}

function bert(model: BertModel): Uint8Array {
  const b = new Builder();
  const g = b.g;
  const c = model.config;
  const e = c.hiddenSize;
  const h = c.numAttentionHeads;
  const d = e / h;
  const ids = g.input('input_ids', ONNX_INT32, ['batch', 'sequence']);
  const am = g.input('attention_mask', ONNX_INT32, ['batch', 'sequence']);
  const tt = g.input('token_type_ids', ONNX_INT32, ['batch', 'sequence']);
  const t1 = b.seqLen(ids);
  const emb = model.embeddings;
  let x = g.node('Add', [
    g.node('Add', [
      g.node('Gather', [b.weight('embeddings.word_embeddings.weight', emb.word_embeddings.weight), ids], {
        axis: 0,
      }),
      g.node(
        'Gather',
        [b.weight('embeddings.position_embeddings.weight', emb.position_embeddings.weight), b.positions(t1)],
        {
          axis: 0,
        },
      ),
    ]),
    g.node(
      'Gather',
      [b.weight('embeddings.token_type_embeddings.weight', emb.token_type_embeddings.weight), tt],
      {
        axis: 0,
      },
    ),
  ]);
  x = b.layerNorm(
    x,
    'embeddings.LayerNorm',
    emb.LayerNorm.weight as Tensor,
    emb.LayerNorm.bias as Tensor,
    c.layerNormEps,
  );
  // additive key mask [B, 1, 1, T]: 0 for tokens, -1e9 for padding
  const mf = g.node('Cast', [am], { to: ONNX_FLOAT });
  const mask = g.node('Reshape', [
    g.node('Mul', [g.node('Sub', [g.scalar(1), mf]), g.scalar(-1e9)]),
    g.int64([0, 1, 1, -1]),
  ]);
  model.encoder.layer.forEach((layer, i) => {
    const p = `encoder.layer.${i}`;
    const sa = layer.attention.self;
    const q = b.heads(b.linear(x, `${p}.attention.self.query`, sa.query), h, d);
    const k = b.heads(b.linear(x, `${p}.attention.self.key`, sa.key), h, d);
    const v = b.heads(b.linear(x, `${p}.attention.self.value`, sa.value), h, d);
    const ctx = b.merge(b.attention(q, k, v, 1 / Math.sqrt(d), mask), e);
    const ao = layer.attention.output;
    const a = b.layerNorm(
      g.node('Add', [b.linear(ctx, `${p}.attention.output.dense`, ao.dense), x]),
      `${p}.attention.output.LayerNorm`,
      ao.LayerNorm.weight as Tensor,
      ao.LayerNorm.bias as Tensor,
      c.layerNormEps,
    );
    const mid = b.act(b.linear(a, `${p}.intermediate.dense`, layer.intermediate.dense), c.hiddenAct);
    const out = layer.output;
    x = b.layerNorm(
      g.node('Add', [b.linear(mid, `${p}.output.dense`, out.dense), a]),
      `${p}.output.LayerNorm`,
      out.LayerNorm.weight as Tensor,
      out.LayerNorm.bias as Tensor,
      c.layerNormEps,
    );
  });
  g.node('Identity', [x], {}, 'last_hidden_state');
  g.output('last_hidden_state', ONNX_FLOAT, ['batch', 'sequence', e]);
  if (model.pooler) {
    const first = g.node('Gather', [x, g.int64([0], true)], { axis: 1 }); // [B, E]
    g.node('Tanh', [b.linear(first, 'pooler.dense', model.pooler.dense)], {}, 'pooler_output');
    g.output('pooler_output', ONNX_FLOAT, ['batch', e]);
  }
  return g.toModel('bert');
}

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * Causal LMs: export the graph with a KV cache in the layout of Optimum and transformers.js:
   * inputs `input_ids`, `attention_mask` [batch, past + sequence], `position_ids` (int64) and
   * `past_key_values.N.key` / `.value` (float32 [batch, kv heads, past, head dim]; an empty past of
   * length 0 for the prompt), outputs `logits` and `present.N.key` / `.value` (the cache with this
   * step appended). Default false.
   */
  pastKeyValues?: boolean;
}

/**
 * Exports a model as an ONNX file (opset 17): GPT2LMHeadModel and LlamaForCausalLM take
 * `input_ids` (int32 [batch, sequence]) and give `logits`; BertModel takes `input_ids`,
 * `attention_mask` and `token_type_ids` (int32) and gives `last_hidden_state` and
 * `pooler_output`. By default the graph recomputes the whole sequence (no KV-cache inputs) and has
 * no padding input for the causal LMs; `{ pastKeyValues: true }` gives the cached decoder graph. Weights are stored as float32 initializers under their
 * Hugging Face names.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-web';
 * const bytes = exportOnnx(model);
 * const session = await ort.InferenceSession.create(bytes);
 * const { logits } = await session.run({ input_ids: new ort.Tensor('int32', ids, [1, ids.length]) });
 * ```
 */
export function exportOnnx(
  model: GPT2LMHeadModel | LlamaForCausalLM | BertModel,
  options: ExportOnnxOptions = {},
): Uint8Array {
  const past = options.pastKeyValues ?? false;
  if (typeof past !== 'boolean') {
    throw new TypeError(`exportOnnx: 'pastKeyValues' must be a boolean, got ${describe(past)}`);
  }
  if (model instanceof GPT2LMHeadModel) return gpt2(model, past);
  if (model instanceof LlamaForCausalLM) return llama(model, past);
  if (past)
    throw new TypeError(`exportOnnx: pastKeyValues is for causal LMs (GPT-2, Llama), got ${describe(model)}`);
  if (model instanceof BertModel) return bert(model);
  throw new TypeError(
    `exportOnnx: 'model' must be a GPT2LMHeadModel, LlamaForCausalLM or BertModel, got ${describe(model)}`,
  );
}

/**
 * The files of a causal LM as transformers.js and Optimum lay them out: `config.json`,
 * `generation_config.json` and `onnx/model.onnx` (the graph with a KV cache, see
 * {@link ExportOnnxOptions.pastKeyValues}). Write them with {@link saveOnnxFolder} (Node) or serve
 * them as they are.
 *
 * @example
 * ```ts
 * const files = onnxFolderFiles(model); // { 'config.json': …, 'generation_config.json': …, 'onnx/model.onnx': … }
 * ```
 */
export function onnxFolderFiles(model: GPT2LMHeadModel | LlamaForCausalLM): Record<string, Uint8Array> {
  if (!(model instanceof GPT2LMHeadModel) && !(model instanceof LlamaForCausalLM)) {
    throw new TypeError(
      `onnxFolderFiles: 'model' must be a GPT2LMHeadModel or LlamaForCausalLM, got ${describe(model)}`,
    );
  }
  const config: Record<string, unknown> = { ...model.configJson(), use_cache: true };
  const generation: Record<string, unknown> = {};
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id']) {
    if (config[key] !== undefined && config[key] !== null) generation[key] = config[key];
  }
  const text = (o: unknown) => new TextEncoder().encode(`${JSON.stringify(o, null, 2)}\n`);
  return {
    'config.json': text(config),
    'generation_config.json': text(generation),
    'onnx/model.onnx': exportOnnx(model, { pastKeyValues: true }),
  };
}

/**
 * Writes {@link onnxFolderFiles} into `dir` (Node): a folder transformers.js loads as a local model.
 *
 * @example
 * ```ts
 * await saveOnnxFolder(model, './tiny-gpt-onnx');
 * ```
 */
export async function saveOnnxFolder(model: GPT2LMHeadModel | LlamaForCausalLM, dir: string): Promise<void> {
  await writeFolder(dir, onnxFolderFiles(model), 'saveOnnxFolder');
}
