import { describe, expect, it } from 'vitest';
import {
  ACTIVATIONS,
  COMMON_REFUSED,
  ConfigError,
  canonicalActivation,
  check,
  checkProduct,
  configToJson,
  describe as describeValue,
  type FieldTable,
  fmtShape,
  LIMITS,
  resolveConfig,
  sizeField,
  standardRope,
} from '../src/index.js';

interface Cfg {
  hiddenSize: number;
  numHiddenLayers: number;
  headDim: number | null;
  eps: number;
  act: string;
  tie: boolean;
  dtype: string | null;
  extra: Record<string, unknown>;
}

const TABLE: FieldTable = {
  hiddenSize: sizeField('hidden_size', 64, LIMITS.hidden, { aliases: ['n_embd'] }),
  numHiddenLayers: sizeField('num_hidden_layers', 2, LIMITS.layers, { aliases: ['n_layer'] }),
  headDim: sizeField('head_dim', null, LIMITS.headDim),
  eps: { json: 'layer_norm_eps', default: 1e-5, kind: 'number', min: 0, exclusiveMin: true },
  act: { json: 'hidden_act', default: 'gelu', kind: 'string', values: ['gelu', 'silu'] },
  tie: { json: 'tie_word_embeddings', default: true, kind: 'bool' },
  dtype: { json: 'dtype', default: null, kind: 'string', nullable: true, aliases: ['torch_dtype'] },
};
const read = (json: Record<string, unknown>, refuse = {}) =>
  resolveConfig<Cfg>('TestConfig', TABLE, json, true, { refuse });

describe('resolveConfig', () => {
  it('fills defaults, reads legacy aliases and keeps unknown keys for saving', () => {
    const c = read({ n_embd: 32, torch_dtype: 'float16', architectures: ['X'], use_cache: true });
    expect(c).toEqual({
      hiddenSize: 32,
      numHiddenLayers: 2,
      headDim: null,
      eps: 1e-5,
      act: 'gelu',
      tie: true,
      dtype: 'float16',
      extra: { architectures: ['X'], use_cache: true },
    });
    // the primary (transformers 5) spelling wins over a legacy one
    expect(read({ dtype: 'bfloat16', torch_dtype: 'float16' }).dtype).toBe('bfloat16');
    // saving writes the primary spellings and the extras
    expect(configToJson(TABLE, c as unknown as Record<string, unknown>)).toEqual({
      architectures: ['X'],
      use_cache: true,
      hidden_size: 32,
      num_hidden_layers: 2,
      head_dim: null,
      layer_norm_eps: 1e-5,
      hidden_act: 'gelu',
      tie_word_embeddings: true,
      dtype: 'float16',
    });
  });

  it('refuses absurd sizes by key before allocating', () => {
    for (const [key, value] of [
      ['num_hidden_layers', 1e9],
      ['head_dim', 1e6],
      ['hidden_size', 1e12],
      ['n_layer', 5000],
    ] as const) {
      let err: unknown;
      try {
        read({ [key]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
      expect((err as Error).message).toMatch(
        new RegExp(`\\(${key}\\) = ${value} is out of range: it must be >= 1 and <= \\d+`),
      );
    }
  });

  it('refuses zero, negative, fractional, NaN-like and mistyped values, naming the field', () => {
    expect(() => read({ hidden_size: 0 })).toThrow(/'hiddenSize' \(hidden_size\) = 0 is out of range/);
    expect(() => read({ hidden_size: -4 })).toThrow(/= -4 is out of range/);
    expect(() => read({ hidden_size: 2.5 })).toThrow(
      /'hiddenSize' \(hidden_size\) must be an integer >= 1 and <= \d+, got number 2.5/,
    );
    expect(() => read({ hidden_size: '64' })).toThrow(/must be an integer .* got string "64"/);
    expect(() => read({ hidden_size: null })).toThrow(/got null/);
    expect(() => read({ layer_norm_eps: 0 })).toThrow(
      /'eps' \(layer_norm_eps\) = 0 is out of range: it must be > 0/,
    );
    expect(() => read({ layer_norm_eps: Number.POSITIVE_INFINITY })).toThrow(/must be a finite number > 0/);
    expect(() => read({ tie_word_embeddings: 'yes' })).toThrow(/must be a boolean, got string "yes"/);
    expect(() => read({ hidden_act: 'mish' })).toThrow(
      /'act' \(hidden_act\) = string "mish" is not supported; supported: "gelu", "silu"/,
    );
    expect(() => read([] as never)).toThrow(/TestConfig: expected a config object, got an array/);
    expect(read({ head_dim: null }).headDim).toBeNull();
  });

  it('refuses keys that change the computation unless off', () => {
    const refuse = {
      ...COMMON_REFUSED,
      sliding_window: { why: 'sliding-window attention', allowed: [false] },
    };
    expect(read({ sliding_window: null, pruned_heads: {} }, refuse).hiddenSize).toBe(64);
    expect(read({ sliding_window: false }, refuse).extra.sliding_window).toBe(false);
    expect(() => read({ sliding_window: 4096 }, refuse)).toThrow(
      /TestConfig: config.json sets 'sliding_window' = 4096, which attnkit does not implement \(sliding-window attention\); accepted: false or absent/,
    );
    expect(() => read({ quantization_config: { quant_method: 'gptq' } }, refuse)).toThrow(
      /'quantization_config'.*quantized weights/,
    );
    // camelCase options: unknown keys are errors, refused keys in extra too
    expect(() => resolveConfig('TestConfig', TABLE, { hiddenSiz: 3 }, false)).toThrow(
      /unknown config option 'hiddenSiz'/,
    );
    expect(() =>
      resolveConfig('TestConfig', TABLE, { extra: { sliding_window: 8 } }, false, { refuse }),
    ).toThrow(/sliding_window/);
  });

  it('checkProduct refuses a table too large to allocate, naming the keys', () => {
    expect(() =>
      checkProduct('X', { vocab_size: 1 << 22, hidden_size: 1 << 17 }, 2 ** 31, 'the token embedding'),
    ).toThrow(
      /X: the token embedding would hold 5\.50e\+11 values \(vocab_size 4194304 × hidden_size 131072\)/,
    );
    expect(() => checkProduct('X', { a: 10, b: 10 }, 100, 't')).not.toThrow();
  });
});

describe('standardRope (transformers 4 and 5 spellings)', () => {
  it('reads both spellings into the same transformers 5 dict', () => {
    const v4 = standardRope(
      {
        rope_theta: 500000,
        rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 },
        max_position_embeddings: 8192,
      },
      'LlamaConfig',
    );
    const v5 = standardRope(
      {
        rope_parameters: {
          rope_type: 'llama3',
          rope_theta: 500000,
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
        },
        max_position_embeddings: 131072,
      },
      'LlamaConfig',
      { maxPositionEmbeddings: 8192 },
    );
    expect(v4).toEqual({
      rope_type: 'llama3',
      rope_theta: 500000,
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
    });
    expect(v5).toEqual({ ...v4, original_max_position_embeddings: 8192 });
    // the oldest spelling: "type"; and no rope keys at all: the default with the family's theta
    expect(standardRope({ rope_scaling: { type: 'linear', factor: 2 } }, 'L')).toEqual({
      type: 'linear',
      rope_type: 'linear',
      factor: 2,
      rope_theta: 10000,
    });
    expect(standardRope({}, 'L', { defaultTheta: 1e6 })).toEqual({ rope_type: 'default', rope_theta: 1e6 });
  });

  it('refuses types not implemented, per-layer dicts and bad numbers by key', () => {
    const supported = ['default', 'linear', 'llama3'];
    expect(() =>
      standardRope({ rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'LlamaConfig', { supported }),
    ).toThrow(
      /LlamaConfig: config field 'rope_scaling' asks for rope_type 'yarn', which attnkit does not implement \(supported: default, linear, llama3\)/,
    );
    expect(() =>
      standardRope({ rope_parameters: { full_attention: { rope_type: 'default' } } }, 'G'),
    ).toThrow(/per layer type/);
    expect(() => standardRope({ rope_theta: -1 }, 'G')).toThrow(
      /'rope_theta' must be a positive number, got number -1/,
    );
    expect(() => standardRope({ rope_scaling: { rope_type: 'linear', factor: 'x' } }, 'G')).toThrow(
      /factor string "x"/,
    );
    expect(() => standardRope({ rope_scaling: 3 }, 'G')).toThrow(/'rope_scaling' must be an object or null/);
  });
});

describe('activations and messages', () => {
  it('maps Hugging Face names to the function each denotes', () => {
    expect(canonicalActivation('gelu_new')).toBe('gelu_tanh');
    expect(canonicalActivation('gelu_pytorch_tanh')).toBe('gelu_tanh');
    expect(canonicalActivation('gelu')).toBe('gelu');
    expect(canonicalActivation('swish')).toBe('silu');
    expect(canonicalActivation('linear')).toBe('identity');
    expect(() => canonicalActivation('toString')).toThrow(/unknown activation 'toString'/);
    expect(Object.isFrozen(ACTIVATIONS)).toBe(true);
  });

  it('describe, fmtShape and check', () => {
    expect(fmtShape([2, 3])).toBe('[2, 3]');
    expect(describeValue({ isTensor: true, dtype: 'float32', shape: [2, 3] })).toBe(
      'a float32 Tensor [2, 3]',
    );
    expect(describeValue(Number.NaN)).toBe('number NaN');
    expect(describeValue([1])).toBe('an array of length 1');
    expect(describeValue(new Map())).toBe('Map');
    expect(describeValue('x'.repeat(50))).toBe(`string "${'x'.repeat(40)}…"`);
    expect(() => check(false, 'f', 'bad')).toThrow(/^f: bad$/);
  });
});
