// ONNX export (opset 17) of GPT-2, Llama and BERT: the same forward pass written as an ONNX graph
// whose initializers are the model's weights (Hugging Face names), so onnxruntime (web, node,
// server GPUs) runs it. The graphs take the whole sequence (no KV cache inputs): causal LMs map
// input_ids [batch, seq] (int32) → logits [batch, seq, vocab]; BERT maps input_ids,
// attention_mask, token_type_ids → last_hidden_state and pooler_output.
import { noGrad, type Tensor } from '@attnkit/tensor-core';
import type { Linear } from '@attnkit/tensor-core/nn';
import { describe } from '../internal.js';
import { BertModel } from '../models/bert.js';
import { GPT2LMHeadModel } from '../models/gpt2.js';
import { LlamaForCausalLM } from '../models/llama.js';
import { ONNX_FLOAT, ONNX_INT32, OnnxGraph } from './graph.js';

function host(t: Tensor): Float32Array {
  return noGrad(() => Float32Array.from(t.dataSync()));
}

/** A [rows, cols] matrix transposed on the host (nn.Linear's [out, in] → MatMul's [in, out]). */
function transposed(t: Tensor): Float32Array {
  const [r, c] = t.shape;
  const d = host(t);
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = d[i * c + j];
  return out;
}

class Builder {
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

function gpt2(model: GPT2LMHeadModel): Uint8Array {
  const b = new Builder();
  const g = b.g;
  const c = model.config;
  const e = c.nEmbd;
  const h = c.nHead;
  const d = e / h;
  const tr = model.transformer;
  const ids = g.input('input_ids', ONNX_INT32, ['batch', 'sequence']);
  const t1 = b.seqLen(ids);
  const wte = b.weight('transformer.wte.weight', tr.wte.weight);
  let x = g.node('Add', [
    g.node('Gather', [wte, ids], { axis: 0 }),
    g.node('Gather', [b.weight('transformer.wpe.weight', tr.wpe.weight), b.positions(t1)], { axis: 0 }),
  ]);
  const mask = b.causalMask(c.nPositions, t1);
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
    const o = b.attention(b.heads(q, h, d), b.heads(k, h, d), b.heads(v, h, d), scale, mask);
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

function llama(model: LlamaForCausalLM): Uint8Array {
  const b = new Builder();
  const g = b.g;
  const c = model.config;
  const heads = c.numAttentionHeads;
  const kv = c.numKeyValueHeads ?? heads;
  const d = c.headDim ?? c.hiddenSize / heads;
  const ids = g.input('input_ids', ONNX_INT32, ['batch', 'sequence']);
  const t1 = b.seqLen(ids);
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
  const sliceT = (name: string) => g.node('Slice', [name, g.int64([0]), t1, g.int64([0])]);
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
  const mask = b.causalMask(p, t1);
  model.model.layers.forEach((layer, i) => {
    const pre = `model.layers.${i}`;
    const a = b.rmsNorm(x, `${pre}.input_layernorm`, layer.input_layernorm.weight as Tensor, c.rmsNormEps);
    const at = layer.self_attn;
    const q = rope(b.heads(b.linear(a, `${pre}.self_attn.q_proj`, at.q_proj), heads, d));
    const k = rope(b.heads(b.linear(a, `${pre}.self_attn.k_proj`, at.k_proj), kv, d));
    const v = b.heads(b.linear(a, `${pre}.self_attn.v_proj`, at.v_proj), kv, d);
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

/**
 * Exports a model as an ONNX file (opset 17): GPT2LMHeadModel and LlamaForCausalLM take
 * `input_ids` (int32 [batch, sequence]) and give `logits`; BertModel takes `input_ids`,
 * `attention_mask` and `token_type_ids` (int32) and gives `last_hidden_state` and
 * `pooler_output`. The graph recomputes the whole sequence (no KV-cache inputs) and has no
 * padding input for the causal LMs. Weights are stored as float32 initializers under their
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
export function exportOnnx(model: GPT2LMHeadModel | LlamaForCausalLM | BertModel): Uint8Array {
  if (model instanceof GPT2LMHeadModel) return gpt2(model);
  if (model instanceof LlamaForCausalLM) return llama(model);
  if (model instanceof BertModel) return bert(model);
  throw new TypeError(
    `exportOnnx: 'model' must be a GPT2LMHeadModel, LlamaForCausalLM or BertModel, got ${describe(model)}`,
  );
}
