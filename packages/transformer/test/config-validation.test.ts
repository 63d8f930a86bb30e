// config.json validation: transformers 5 spellings read as the 4 ones, keys that change the
// computation refused by name, absurd sizes refused before allocating, architectures that disagree
// with model_type refused, maxParameters; then a seeded fuzz over mutated fixture configs.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@attnkit/hub';
import { Generator, memory } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  BertModel,
  CLIPModel,
  CLIPTextModel,
  CLIPVisionModel,
  EncoderDecoderModel,
  GPT2LMHeadModel,
  LlamaForCausalLM,
  loadPretrained,
  ViTForImageClassification,
} from '../src/index.js';
import { modelClassFor } from '../src/loading.js';
import { closeness, loadFixture } from './helpers.js';

const configOf = (name: string) =>
  JSON.parse(readFileSync(join(loadFixture(name).dir, 'config.json'), 'utf8')) as Record<string, unknown>;
const weightsOf = (name: string) =>
  new Uint8Array(readFileSync(join(loadFixture(name).dir, 'model.safetensors')));
const files = (config: unknown, weights: Uint8Array) => ({
  'config.json': new TextEncoder().encode(JSON.stringify(config)),
  'model.safetensors': weights,
});

async function llamaLogits(model: LlamaForCausalLM, fixture: string): Promise<Float32Array> {
  const ids = loadFixture(fixture).tensor('input_ids');
  const out = model.forward({ inputIds: ids, useCache: false });
  const d = out.logits.dataSync() as Float32Array;
  out.logits.dispose();
  ids.dispose();
  return d;
}

describe('config.json spellings of transformers 4 and 5', () => {
  for (const fixture of ['llama-rope-llama3', 'llama-rope-linear']) {
    it(`${fixture}: rope_parameters (transformers 5) gives the fixture's logits, as rope_theta + rope_scaling`, async () => {
      const v4 = configOf(fixture);
      const { rope_theta, rope_scaling, ...rest } = v4;
      const v5 = { ...rest, rope_parameters: { ...(rope_scaling as object), rope_theta }, dtype: 'float32' };
      const model = (await loadPretrained(files(v5, weightsOf(fixture)))) as LlamaForCausalLM;
      expect(model.config.ropeTheta).toBe(rope_theta);
      const got = await llamaLogits(model, fixture);
      expect(closeness(got, loadFixture(fixture).array('logits').data).ratio).toBeLessThanOrEqual(1);
      model.dispose();
    });
  }
});

describe('config.json refusals', () => {
  const refused: [string, Record<string, unknown>, RegExp][] = [
    [
      'llama-tiny',
      { sliding_window: 4096 },
      /'sliding_window' = 4096, which attnkit does not implement \(sliding-window attention\)/,
    ],
    [
      'llama-tiny',
      { rope_scaling: { rope_type: 'proportional', factor: 4 } },
      /rope_type 'proportional', which attnkit does not implement/,
    ],
    [
      'llama-tiny',
      { rope_parameters: { rope_type: 'proportional', rope_theta: 1e4 } },
      /'rope_parameters' asks for rope_type 'proportional'/,
    ],
    [
      'llama-tiny',
      { quantization_config: { quant_method: 'gptq', bits: 4 } },
      /'quantization_config'.*quantized weights/,
    ],
    ['llama-tiny', { partial_rotary_factor: 0.5 }, /'partial_rotary_factor' = 0.5/],
    ['gpt2-tiny', { add_cross_attention: true }, /'add_cross_attention' = true.*cross-attention/],
    ['bert-tiny', { is_decoder: true }, /'is_decoder' = true.*causal decoder/],
    [
      'llama-tiny',
      { num_hidden_layers: 1e9 },
      /'numHiddenLayers' \(num_hidden_layers\) = 1000000000 is out of range/,
    ],
    ['llama-tiny', { head_dim: 1e6 }, /\(head_dim\) = 1000000 is out of range/],
    ['gpt2-tiny', { vocab_size: 1e12 }, /\(vocab_size\) = 1000000000000 is out of range/],
    ['gpt2-tiny', { n_embd: 0 }, /\(n_embd\) = 0 is out of range: it must be a positive integer/],
    ['gpt2-tiny', { n_embd: 30, n_head: 4 }, /n_embd 30 must be divisible by n_head 4/],
    [
      'llama-tiny',
      { vocab_size: 4_000_000, hidden_size: 65536, num_attention_heads: 1 },
      /the token embedding would hold .*vocab_size 4000000 × hidden_size 65536/,
    ],
    ['bert-tiny', { hidden_dropout_prob: 2 }, /\(hidden_dropout_prob\) = 2 is out of range/],
    [
      'gpt2-tiny',
      { layer_norm_epsilon: -1 },
      /\(layer_norm_epsilon\) = -1 is out of range: it must be a finite number > 0/,
    ],
  ];
  for (const [fixture, patch, message] of refused) {
    it(`${fixture} + ${JSON.stringify(patch)}`, async () => {
      const before = memory().cpu?.numTensors ?? 0;
      const err = await loadPretrained(files({ ...configOf(fixture), ...patch }, weightsOf(fixture))).catch(
        (e) => e,
      );
      // a model that loaded after all is named, not printed (its object graph is too deep to report)
      if (!(err instanceof Error)) (err as { dispose?: () => void }).dispose?.();
      expect(err instanceof Error ? err.name : `loaded a ${err?.constructor?.name}`).toBe('ConfigError');
      expect((err as Error).message).toMatch(
        /^loadPretrained\(<files: config\.json, model\.safetensors>\): config\.json: /,
      );
      expect((err as Error).message).toMatch(message);
      expect(memory().cpu?.numTensors ?? 0).toBe(before); // refused before allocating
    });
  }

  it('refuses architectures that disagree with model_type instead of building the other family', () => {
    const config = { ...configOf('gpt2-tiny'), architectures: ['LlamaForCausalLM'] };
    expect(() => modelClassFor(config)).toThrow(
      /names the architecture 'LlamaForCausalLM' \(a llama model\) but model_type 'gpt2' \(a gpt2 model\)/,
    );
    // the same family under another class is fine (a BERT MLM checkpoint's architectures)
    expect(modelClassFor({ ...configOf('bert-tiny'), architectures: ['BertForMaskedLM'] })).not.toBe(
      GPT2LMHeadModel,
    );
  });

  it('maxParameters refuses a config that describes more parameters, before allocating', async () => {
    const config = configOf('gpt2-tiny');
    const n = GPT2LMHeadModel.approxParameters(config);
    await expect(
      loadPretrained(files(config, weightsOf('gpt2-tiny')), { maxParameters: n / 2 }),
    ).rejects.toThrow(/the config describes about .* parameters, above maxParameters/);
    const ok = await loadPretrained(files(config, weightsOf('gpt2-tiny')), { maxParameters: n * 2 });
    ok.dispose();
  });

  it('approxParameters is within 10% of the built model for every family', () => {
    const cases: [
      {
        approxParameters(j: Record<string, unknown>): number;
        fromConfigJson(j: Record<string, unknown>): { numParameters(): number; dispose(): void };
      },
      Record<string, unknown>,
    ][] = [
      [GPT2LMHeadModel, configOf('gpt2-tiny')],
      [LlamaForCausalLM, configOf('llama-gqa-batch')],
      [BertModel, configOf('bert-tiny')],
      [ViTForImageClassification, configOf('vit-tiny')],
      [CLIPTextModel, configOf('clip-text-sd')],
      [CLIPVisionModel, configOf('hfclip-vision')],
      [CLIPModel, configOf('hfclip-model')],
      [
        EncoderDecoderModel,
        {
          vocab_size: 50,
          d_model: 32,
          nhead: 4,
          num_encoder_layers: 2,
          num_decoder_layers: 2,
          dim_feedforward: 64,
          max_position_embeddings: 16,
        },
      ],
    ];
    for (const [cls, config] of cases) {
      const model = cls.fromConfigJson(config);
      const real = model.numParameters();
      model.dispose();
      expect(Math.abs(cls.approxParameters(config) - real) / real).toBeLessThan(0.1);
    }
  });
});

// ---------------------------------------------------------------- fuzz

const WEIRD: unknown[] = [
  1e9,
  1e12,
  2 ** 40,
  -1,
  -1e6,
  0,
  0.5,
  3.7,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '12',
  'abc',
  '',
  true,
  false,
  null,
  [],
  [1, 2],
  {},
  { rope_type: 'yarn' },
  { type: 'linear', factor: -2 },
  'LlamaForCausalLM',
  ['LlamaForCausalLM'],
  ['GPT2LMHeadModel'],
  ['Nope'],
  'gpt2',
  'llama',
  'bert',
  '__proto__',
];
const EXTRA_KEYS = [
  'sliding_window',
  'quantization_config',
  'rope_parameters',
  'rope_scaling',
  'head_dim',
  'architectures',
  'model_type',
  'text_config',
  'pruned_heads',
  'torch_dtype',
];

/**
 * An error attnkit raised on purpose: its message (and that of every error in its cause chain) starts
 * with the name of the function or class that refused ("LlamaConfig: …", "loadPretrained(…): …"),
 * never an engine error such as "Cannot read properties of undefined" or "Invalid array length".
 */
function isAttnkitError(e: unknown): boolean {
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && depth < 5; depth++) {
    if (!(cur instanceof Error)) return false;
    if (!/^[A-Za-z][\w.]*(\([^)]*\))?: /.test(cur.message)) return false;
    cur = cur.cause;
  }
  return true;
}

describe('config.json fuzz (seeded, bounded)', () => {
  const bases = ['gpt2-tiny', 'llama-tiny', 'llama-rope-llama3', 'bert-tiny', 'vit-tiny', 'clip-text-sd'].map(
    (n) => ({
      config: configOf(n),
      weights: weightsOf(n),
    }),
  );
  const BUDGET = 3e5; // parameters a mutated config may build (maxParameters)

  it('1,200 mutated configs each load or end in an attnkit error, without huge allocations', async () => {
    const gen = new Generator(20261202); // seeded: the same mutations on every run
    const rand = () => gen.uniform();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    let loaded = 0;
    let refused = 0;
    for (let i = 0; i < 1200; i++) {
      const base = pick(bases);
      const config: Record<string, unknown> = structuredClone(base.config);
      const keys = [...Object.keys(config), ...EXTRA_KEYS];
      const n = 1 + Math.floor(rand() * 3);
      for (let m = 0; m < n; m++) {
        const key = pick(keys);
        if (rand() < 0.3) delete config[key];
        else config[key] = structuredClone(pick(WEIRD));
      }
      // half through loadPretrained (the JSON text: NaN/Infinity become null), half through fromConfigJson (NaN kept)
      const viaFiles = i % 2 === 0;
      let model: { numParameters(): number; dispose(): void } | null = null;
      try {
        if (viaFiles) {
          model = await loadPretrained(files(config, base.weights), { maxParameters: BUDGET });
        } else {
          const cls = modelClassFor(config) as unknown as {
            approxParameters(j: Record<string, unknown>): number;
            fromConfigJson(j: Record<string, unknown>): { numParameters(): number; dispose(): void };
          };
          if (cls.approxParameters(config) > BUDGET) throw new ConfigError('fuzz: above the budget');
          model = cls.fromConfigJson(config);
        }
        expect(model.numParameters()).toBeLessThanOrEqual(BUDGET * 1.1);
        loaded++;
      } catch (e) {
        if (!isAttnkitError(e)) {
          throw new Error(
            `mutation ${i} (${JSON.stringify(config)}) threw a non-attnkit error: ${String(e)}`,
            { cause: e },
          );
        }
        refused++;
      } finally {
        model?.dispose();
      }
    }
    // both outcomes occur (the mutations are neither all harmless nor all fatal)
    expect(loaded).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(500);
  }, 120_000);
});
