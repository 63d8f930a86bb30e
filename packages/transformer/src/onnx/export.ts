// ONNX export (opset 17) by tracing the model's own forward pass (./trace.ts): no architecture is
// written twice. Causal LMs (GPT-2, Llama, Mistral, Qwen2, ...) map input_ids [batch, seq] to
// logits, optionally with a KV cache in the Optimum / transformers.js layout; BERT encoders map
// input_ids, attention_mask and token_type_ids to last_hidden_state and pooler_output.
import { type CachedKeysValues, KVCache, LayerKVCache } from '@attnkit/attention';
import { writeFolder } from '@attnkit/hub';
import { concat, noGrad, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe } from '../internal.js';
import { PreTrainedModel } from '../models/base.js';
import { BertForMaskedLM, BertModel } from '../models/bert.js';
import { CLIPTextModel, CLIPTextModelWithProjection } from '../models/clip.js';
import { T5EncoderModel } from '../models/t5.js';
import { ViTForImageClassification, ViTModel } from '../models/vit.js';
import { ONNX_FLOAT, ONNX_INT32, ONNX_INT64, type OnnxGraph } from './graph.js';
import { type BoundTensor, type GraphInput, type TraceRun, traceToOnnx } from './trace.js';

/** Sizes of the two traces: batch, sequence and past lengths, distinct in each pair and between them. */
const SIZES = [
  { batch: 2, seq: 5, past: 3 },
  { batch: 3, seq: 7, past: 4 },
];

/** A model whose forward follows `@attnkit/sampling`'s CausalLM interface. */
interface CausalLMLike {
  forward(inputs: {
    inputIds: Tensor;
    attentionMask?: Tensor | null;
    positionIds?: Tensor | null;
    pastKeyValues?: unknown;
    useCache?: boolean;
  }): { logits: Tensor; pastKeyValues: unknown };
  reorderCache(cache: unknown, beamIndices: readonly number[]): unknown;
}

function isCausalLM(model: unknown): model is CausalLMLike & PreTrainedModel {
  return (
    model instanceof PreTrainedModel &&
    typeof (model as unknown as CausalLMLike).reorderCache === 'function' &&
    // encoder-decoders (T5, BART, Whisper) reorder caches too, but are not causal LMs
    typeof (model as unknown as { seq2seqDecoder?: unknown }).seq2seqDecoder !== 'function' &&
    typeof (model as unknown as CausalLMLike).forward === 'function'
  );
}

/** Parameters and buffers under their checkpoint names. */
function parameterNames(model: PreTrainedModel): Map<Tensor, string> {
  const out = new Map<Tensor, string>();
  for (const [name, p] of model.namedParameters()) if (!out.has(p as Tensor)) out.set(p as Tensor, name);
  for (const [name, b] of model.namedBuffers()) if (!out.has(b)) out.set(b, name);
  return out;
}

/** Values 0 .. n-1 repeated in every row of an int32 [rows, n] tensor. */
function ramp(rows: number, n: number, start = 0): Tensor {
  const v = new Int32Array(rows * n);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) v[r * n + i] = start + i;
  return tensor(v, [rows, n], 'int32');
}

/** Token ids below `vocab`, int32 [rows, n]. */
function someIds(rows: number, n: number, vocab: number): Tensor {
  const v = new Int32Array(rows * n);
  for (let i = 0; i < v.length; i++) v[i] = (i * 7 + 3) % vocab;
  return tensor(v, [rows, n], 'int32');
}

/** An int64 graph input cast to the int32 tensor attnkit is fed. */
function int64Input(name: string, dims: string[], t: Tensor): { input: GraphInput; bound: BoundTensor } {
  return {
    input: { name, type: ONNX_INT64, dims, shape: t.shape },
    bound: { tensor: t, value: (g: OnnxGraph) => g.node('Cast', [name], { to: ONNX_INT32 }) },
  };
}

/** Positions 0 .. T-1 for every row of `ids` [B, T], computed in the graph. */
function positionsOf(ids: string): (g: OnnxGraph) => string {
  return (g) => {
    const t = g.node('Squeeze', [g.node('Shape', [ids], { start: 1, end: 2 })]);
    const r = g.node('Range', [g.int64([0], true), t, g.int64([1], true)]);
    const full = g.node('Expand', [g.node('Unsqueeze', [r, g.int64([0])]), g.node('Shape', [ids])]);
    return g.node('Cast', [full], { to: ONNX_INT32 });
  };
}

/** One layer of the cache a traced forward appends to: past keys/values concatenated with the step's. */
class TracedLayerCache extends LayerKVCache {
  present: CachedKeysValues | null = null;
  constructor(
    private readonly pastKeys: Tensor,
    private readonly pastValues: Tensor,
  ) {
    super();
  }
  override get length(): number {
    return this.pastKeys.shape[2];
  }
  override get position(): number {
    return this.pastKeys.shape[2];
  }
  override append(k: Tensor, v: Tensor): CachedKeysValues {
    this.present = { keys: concat([this.pastKeys, k], 2), values: concat([this.pastValues, v], 2) };
    return this.present;
  }
}

/** The KV cache a traced forward gets: every layer a {@link TracedLayerCache}. */
class TracedCache extends KVCache {
  constructor(readonly traced: TracedLayerCache[]) {
    super();
  }
  override layer(i: number): LayerKVCache {
    return this.traced[i];
  }
  override get numLayers(): number {
    return this.traced.length;
  }
  override get length(): number {
    return this.traced[0]?.length ?? 0;
  }
  override get position(): number {
    return this.traced[0]?.position ?? 0;
  }
}

/** Shapes [B, Hkv, ·, D] of every layer's keys and values, from one untraced step of one token. */
function cacheShapes(model: CausalLMLike & PreTrainedModel): { keys: number[]; values: number[] }[] {
  return noGrad(() => {
    const ids = tensor([[0]], undefined, 'int32');
    const out = model.forward({ inputIds: ids, useCache: true });
    const cache = out.pastKeyValues as KVCache;
    const shapes = Array.from({ length: cache.numLayers }, (_, i) => {
      const l = cache.layer(i);
      return { keys: [...(l.keys as Tensor).shape], values: [...(l.values as Tensor).shape] };
    });
    out.logits.dispose();
    cache.dispose();
    ids.dispose();
    return shapes;
  });
}

function causalRun(model: CausalLMLike & PreTrainedModel, past: boolean, k: number): () => TraceRun {
  const vocab = (model as unknown as { config: { vocabSize: number } }).config.vocabSize;
  const shapes = past ? cacheShapes(model) : [];
  return () => {
    const { batch, seq, past: p } = SIZES[k];
    const ids = someIds(batch, seq, vocab);
    if (!past) {
      const positions = ramp(batch, seq);
      return {
        inputs: [{ name: 'input_ids', type: ONNX_INT32, dims: ['batch', 'sequence'], shape: ids.shape }],
        bound: [
          { tensor: ids, value: () => 'input_ids' },
          { tensor: positions, value: positionsOf('input_ids') },
        ],
        forward: () => {
          const out = model.forward({ inputIds: ids, positionIds: positions, useCache: false });
          return [['logits', out.logits]];
        },
      };
    }
    // a padded first key keeps the padding-mask path in the trace (an all-ones mask skips it)
    const am = tensor(
      Int32Array.from({ length: batch * (p + seq) }, (_, i) => (i === 0 ? 0 : 1)),
      [batch, p + seq],
      'int32',
    );
    const items = [
      int64Input('input_ids', ['batch', 'sequence'], ids),
      int64Input('attention_mask', ['batch', 'total_sequence'], am),
      int64Input('position_ids', ['batch', 'sequence'], ramp(batch, seq, p)),
    ];
    const layers = shapes.map((s, i) => {
      const kv = (kind: 'key' | 'value', shape: number[]) => {
        const t = tensor(new Float32Array(batch * shape[1] * p * shape[3]), [batch, shape[1], p, shape[3]]);
        const name = `past_key_values.${i}.${kind}`;
        items.push({
          input: {
            name,
            type: ONNX_FLOAT,
            dims: ['batch', shape[1], 'past_sequence', shape[3]],
            shape: t.shape,
          },
          bound: { tensor: t, value: () => name },
        });
        return t;
      };
      return new TracedLayerCache(kv('key', s.keys), kv('value', s.values));
    });
    const cache = new TracedCache(layers);
    return {
      inputs: items.map((x) => x.input),
      bound: items.map((x) => x.bound),
      forward: () => {
        const out = model.forward({
          inputIds: ids,
          attentionMask: am,
          positionIds: items[2].bound.tensor,
          pastKeyValues: cache,
        });
        const presents: [string, Tensor][] = layers.flatMap((l, i) => {
          if (!l.present) throw new Error(`exportOnnx: layer ${i} of the model did not use its KV cache`);
          return [
            [`present.${i}.key`, l.present.keys],
            [`present.${i}.value`, l.present.values],
          ] as [string, Tensor][];
        });
        return [...presents, ['logits', out.logits]];
      },
    };
  };
}

/** Graph output names of a forward's outputs object: its tensors under snake_case names, in order. */
function namedOutputs(out: Record<string, unknown>): [string, Tensor][] {
  return Object.entries(out)
    .filter(([, v]) => (v as Tensor | null)?.isTensor === true)
    .map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v as Tensor]);
}

/** Text encoders (BERT, CLIP's text tower, T5's encoder): int32 input_ids, attention_mask (and token_type_ids). */
function textEncoderRun(
  model: BertModel | BertForMaskedLM | CLIPTextModel | CLIPTextModelWithProjection | T5EncoderModel,
  k: number,
): () => TraceRun {
  const withTypes = model instanceof BertModel || model instanceof BertForMaskedLM;
  return () => {
    const { batch, seq } = SIZES[k];
    const ids = someIds(batch, seq, model.config.vocabSize);
    const am = paddedMask(batch, seq);
    const tt = withTypes ? someIds(batch, seq, (model as BertModel).config.typeVocabSize) : null;
    const positional = !(model instanceof T5EncoderModel); // T5 has no position ids (relative bias)
    const positions = ramp(batch, seq);
    const dims = ['batch', 'sequence'];
    const given: [string, Tensor][] = [
      ['input_ids', ids],
      ['attention_mask', am],
    ];
    if (tt) given.push(['token_type_ids', tt]);
    return {
      inputs: given.map(([name]) => ({ name, type: ONNX_INT32, dims, shape: ids.shape })),
      bound: [
        ...given.map(([name, t]) => ({ tensor: t, value: () => name })),
        ...(positional ? [{ tensor: positions, value: positionsOf('input_ids') }] : []),
      ],
      forward: () => {
        const inputs = { inputIds: ids, attentionMask: am, positionIds: positions };
        const out = withTypes
          ? (model as BertModel).forward({ ...inputs, tokenTypeIds: tt })
          : model instanceof T5EncoderModel
            ? model.forward({ inputIds: ids, attentionMask: am })
            : (model as CLIPTextModel).forward(inputs);
        return namedOutputs(out as unknown as Record<string, unknown>);
      },
    };
  };
}

/** Vision encoders (ViT): float32 pixel_values [batch, channels, size, size]. */
function visionRun(model: ViTModel | ViTForImageClassification, k: number): () => TraceRun {
  return () => {
    const { batch } = SIZES[k];
    const { numChannels: c, imageSize: s } = model.config;
    const shape = [batch, c, s, s];
    const pixels = tensor(
      Float32Array.from({ length: batch * c * s * s }, (_, i) => Math.sin(i)),
      shape,
    );
    return {
      inputs: [{ name: 'pixel_values', type: ONNX_FLOAT, dims: ['batch', c, s, s], shape }],
      bound: [{ tensor: pixels, value: () => 'pixel_values' }],
      forward: () =>
        namedOutputs(model.forward({ pixelValues: pixels }) as unknown as Record<string, unknown>),
    };
  };
}

/** An encoder-decoder's forward (T5, BART, Whisper, the 2017 model), as the exporter calls it. */
interface Seq2SeqLike extends PreTrainedModel {
  config: { vocabSize: number; numMelBins?: number; maxSourcePositions?: number };
  forward(inputs: {
    inputIds?: Tensor;
    inputFeatures?: Tensor;
    attentionMask?: Tensor | null;
    decoderInputIds: Tensor;
    encoderOutputs?: Tensor | null;
    useCache?: boolean;
  }): { logits: Tensor; encoderLastHiddenState: Tensor };
  seq2seqDecoder(...args: unknown[]): unknown;
}

function isSeq2Seq(model: unknown): model is Seq2SeqLike {
  return (
    model instanceof PreTrainedModel && typeof (model as unknown as Seq2SeqLike).seq2seqDecoder === 'function'
  );
}

/** Whisper's encoder input: float32 log-mel features [batch, mel bins, 2 · max_source_positions]. */
function audioFeatures(model: Seq2SeqLike, batch: number): { input: GraphInput; features: Tensor } {
  const mels = model.config.numMelBins as number;
  const frames = 2 * (model.config.maxSourcePositions as number);
  const shape = [batch, mels, frames];
  const features = tensor(
    Float32Array.from({ length: batch * mels * frames }, (_, i) => Math.sin(i) * 0.5),
    shape,
  );
  return {
    input: { name: 'input_features', type: ONNX_FLOAT, dims: ['batch', mels, frames], shape },
    features,
  };
}

/**
 * A padding mask [batch, n] with the last key of the first row masked: it keeps the padding-mask
 * path in the trace (an all-ones mask skips it).
 */
function paddedMask(batch: number, n: number): Tensor {
  return tensor(
    Int32Array.from({ length: batch * n }, (_, i) => (i === n - 1 ? 0 : 1)),
    [batch, n],
    'int32',
  );
}

/**
 * An encoder-decoder's encoder (Optimum's `encoder_model.onnx`): `input_ids` + `attention_mask`
 * (text) or `input_features` (Whisper) → `last_hidden_state`. The decoder the forward also runs
 * is pruned from the graph (nothing reads it).
 */
function seq2seqEncoderRun(model: Seq2SeqLike, k: number): () => TraceRun {
  return () => {
    const { batch, seq } = SIZES[k];
    const start = tensor(new Int32Array(batch), [batch, 1], 'int32');
    if (model.config.numMelBins !== undefined) {
      const { input, features } = audioFeatures(model, batch);
      return {
        inputs: [input],
        bound: [{ tensor: features, value: () => 'input_features' }],
        forward: () => [
          [
            'last_hidden_state',
            model.forward({ inputFeatures: features, decoderInputIds: start, useCache: false })
              .encoderLastHiddenState,
          ],
        ],
      };
    }
    const ids = someIds(batch, seq, model.config.vocabSize);
    const am = paddedMask(batch, seq);
    return {
      inputs: [
        { name: 'input_ids', type: ONNX_INT32, dims: ['batch', 'encoder_sequence'], shape: ids.shape },
        { name: 'attention_mask', type: ONNX_INT32, dims: ['batch', 'encoder_sequence'], shape: am.shape },
      ],
      bound: [
        { tensor: ids, value: () => 'input_ids' },
        { tensor: am, value: () => 'attention_mask' },
      ],
      forward: () => [
        [
          'last_hidden_state',
          model.forward({ inputIds: ids, attentionMask: am, decoderInputIds: start, useCache: false })
            .encoderLastHiddenState,
        ],
      ],
    };
  };
}

/**
 * An encoder-decoder's decoder without a cache (Optimum's `decoder_model.onnx`): `input_ids`
 * (the decoder tokens), `encoder_hidden_states` (and `encoder_attention_mask` for text encoders)
 * → `logits`.
 */
function seq2seqDecoderRun(model: Seq2SeqLike, k: number): () => TraceRun {
  return () => {
    const { batch, seq, past: dec } = SIZES[k];
    const audio = model.config.numMelBins !== undefined;
    const encLen = audio ? (model.config.maxSourcePositions as number) : seq;
    const width = hiddenWidth(model);
    const hidden = tensor(
      Float32Array.from({ length: batch * encLen * width }, (_, i) => Math.cos(i) * 0.5),
      [batch, encLen, width],
    );
    const ids = someIds(batch, dec, model.config.vocabSize);
    const items: { input: GraphInput; bound: BoundTensor }[] = [
      {
        input: { name: 'input_ids', type: ONNX_INT32, dims: ['batch', 'decoder_sequence'], shape: ids.shape },
        bound: { tensor: ids, value: () => 'input_ids' },
      },
      {
        input: {
          name: 'encoder_hidden_states',
          type: ONNX_FLOAT,
          dims: ['batch', audio ? encLen : 'encoder_sequence', width],
          shape: hidden.shape,
        },
        bound: { tensor: hidden, value: () => 'encoder_hidden_states' },
      },
    ];
    const am = audio ? null : paddedMask(batch, encLen);
    if (am) {
      items.push({
        input: {
          name: 'encoder_attention_mask',
          type: ONNX_INT32,
          dims: ['batch', 'encoder_sequence'],
          shape: am.shape,
        },
        bound: { tensor: am, value: () => 'encoder_attention_mask' },
      });
    }
    return {
      inputs: items.map((x) => x.input),
      bound: items.map((x) => x.bound),
      forward: () => [
        [
          'logits',
          model.forward({ decoderInputIds: ids, encoderOutputs: hidden, attentionMask: am, useCache: false })
            .logits,
        ],
      ],
    };
  };
}

/** The width of an encoder-decoder's hidden states (d_model). */
function hiddenWidth(model: Seq2SeqLike): number {
  const c = model.config as unknown as { dModel?: number; hiddenSize?: number };
  const w = c.dModel ?? c.hiddenSize;
  if (!w) throw new TypeError(`exportOnnx: cannot tell the hidden size of ${describe(model)}`);
  return w;
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
  /**
   * Encoder-decoders (T5, BART, Whisper, the 2017 model): which graph to export, as Optimum lays
   * them out. `'encoder'` (`encoder_model.onnx`): `input_ids` + `attention_mask`, or Whisper's
   * `input_features`, → `last_hidden_state`. `'decoder'` (`decoder_model.onnx`, no cache):
   * `input_ids`, `encoder_hidden_states` (+ `encoder_attention_mask` for text encoders) → `logits`.
   */
  part?: 'encoder' | 'decoder';
}

/**
 * Exports a model as an ONNX file (opset 17) by tracing its own forward pass: the ops it runs
 * become ONNX nodes, its parameters float32 initializers under their Hugging Face names, and the
 * batch and sequence sizes stay dynamic. Causal LMs (GPT-2, Llama, Mistral, Mixtral, Qwen2) take
 * `input_ids` (int32 [batch, sequence]) and give `logits`, the whole sequence recomputed (no
 * padding input); `{ pastKeyValues: true }` gives the cached decoder graph instead. BertModel (and BertForMaskedLM, giving `logits`; T5EncoderModel without token types) takes
 * `input_ids`, `attention_mask` and `token_type_ids`, CLIP's text models `input_ids` and
 * `attention_mask` (int32), and they give `last_hidden_state`, `pooler_output` (and
 * `text_embeds`); ViT models take `pixel_values` (float32 [batch, channels, size, size]) and give
 * `last_hidden_state` / `pooler_output` or `logits`; encoder-decoders export their
 * encoder and their decoder as two graphs (`part`). The model is traced in eval mode.
 *
 * A forward the trace cannot follow is refused with the reason: host code whose tensors or sizes
 * depend on the input size in a way no input dimension gives, a path that changes with the size,
 * a rope whose frequencies follow the sequence length (dynamic, longrope), or an op without an
 * ONNX translation.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-web';
 * const model = (await loadPretrained('packages/transformer/test/fixtures/gpt2-tiny')).eval();
 * const bytes = exportOnnx(model);
 * const session = await ort.InferenceSession.create(bytes);
 * const ids = Int32Array.from([4, 6, 8]);
 * const { logits } = await session.run({ input_ids: new ort.Tensor('int32', ids, [1, ids.length]) });
 * logits.dims; // => [1, 3, 64]
 * ```
 */
export function exportOnnx(model: PreTrainedModel, options: ExportOnnxOptions = {}): Uint8Array {
  const past = options.pastKeyValues ?? false;
  if (typeof past !== 'boolean') {
    throw new TypeError(`exportOnnx: 'pastKeyValues' must be a boolean, got ${describe(past)}`);
  }
  const who = 'exportOnnx';
  let runs: ((k: number) => () => TraceRun) | null = null;
  if (isCausalLM(model)) runs = (k) => causalRun(model, past, k);
  else if (past) throw new TypeError(`exportOnnx: pastKeyValues is for causal LMs, got ${describe(model)}`);
  else if (
    model instanceof BertModel ||
    model instanceof BertForMaskedLM ||
    model instanceof T5EncoderModel ||
    model instanceof CLIPTextModel ||
    model instanceof CLIPTextModelWithProjection
  ) {
    runs = (k) => textEncoderRun(model, k);
  } else if (model instanceof ViTModel || model instanceof ViTForImageClassification) {
    runs = (k) => visionRun(model, k);
  } else if (isSeq2Seq(model)) {
    const part = options.part;
    if (part !== 'encoder' && part !== 'decoder') {
      throw new TypeError(
        `exportOnnx: an encoder-decoder exports in two graphs, as Optimum lays them out: pass { part: 'encoder' } or { part: 'decoder' }, got part ${describe(part)}`,
      );
    }
    runs = (k) => (part === 'encoder' ? seq2seqEncoderRun(model, k) : seq2seqDecoderRun(model, k));
  }
  if (options.part !== undefined && !isSeq2Seq(model)) {
    throw new TypeError(
      `exportOnnx: 'part' is for encoder-decoders (T5, BART, Whisper), got it for ${describe(model)}`,
    );
  }
  if (!runs) {
    throw new TypeError(
      `exportOnnx: 'model' must be a causal LM (GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM, MixtralForCausalLM, Qwen2ForCausalLM), a BertModel or BertForMaskedLM, a T5EncoderModel, a CLIPTextModel (with or without projection), a ViT model or an encoder-decoder (T5, BART, Whisper, with part 'encoder' or 'decoder'), got ${describe(model)}`,
    );
  }
  const make = runs;
  const training = model.training;
  model.eval();
  try {
    return noGrad(() => traceToOnnx(who, model.modelType, parameterNames(model), make(0), make(1)));
  } finally {
    if (training) model.train();
  }
}

/**
 * The files of a causal LM as transformers.js and Optimum lay them out: `config.json`,
 * `generation_config.json` and `onnx/model.onnx` (the graph with a KV cache, see
 * {@link ExportOnnxOptions.pastKeyValues}). Write them with {@link saveOnnxFolder} (Node) or serve
 * them as they are.
 *
 * @example
 * ```ts
 * const model = new GPT2LMHeadModel({ nLayer: 2, nEmbd: 64, nHead: 4, vocabSize: 100 }).eval();
 * const files = onnxFolderFiles(model);
 * Object.keys(files); // => ['config.json', 'generation_config.json', 'onnx/model.onnx']
 * ```
 */
export function onnxFolderFiles(model: PreTrainedModel): Record<string, Uint8Array> {
  if (!isCausalLM(model)) {
    throw new TypeError(
      `onnxFolderFiles: 'model' must be a causal LM (GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM, ...), got ${describe(model)}`,
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
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const { model } = await loadTinyGPT();
 * await saveOnnxFolder(model, join(mkdtempSync(join(tmpdir(), 'attnkit-')), 'tiny-gpt-onnx'));
 * ```
 */
export async function saveOnnxFolder(model: PreTrainedModel, dir: string): Promise<void> {
  await writeFolder(dir, onnxFolderFiles(model), 'saveOnnxFolder');
}
