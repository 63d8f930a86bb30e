/**
 * A small convolutional classifier (LeNet-shaped: two conv → ReLU → 2×2 max-pool stages, then two
 * linear layers) for small grayscale images. attnkit trains one on {@link makeShapes} images and
 * uses it to check that a class-conditional diffusion model draws the class it was asked for.
 */
import { parseJsonObject, readFile } from '@attnkit/hub';
import { argmax, maxPool2d, relu, type Tensor, tidy } from '@attnkit/tensor-core';
import { type ByteSource, readSafetensors } from '@attnkit/tensor-core/io';
import { Conv2d, Linear, Module } from '@attnkit/tensor-core/nn';

/** Config of {@link ShapeClassifier} (its `config.json`, camelCase or snake_case keys). */
export interface ShapeClassifierConfig {
  /** Image channels. Default 1. */
  inChannels: number;
  /** Image side (square images); must be divisible by 4. Default 16. */
  sampleSize: number;
  /** Output channels of the two conv layers. Default [16, 32]. */
  channels: [number, number];
  /** Width of the hidden linear layer. Default 64. */
  hiddenSize: number;
  /** Number of classes. Default 10. */
  numClasses: number;
  /** Optional class names, index = label. */
  id2label?: Record<string, string>;
}

const DEFAULTS: ShapeClassifierConfig = {
  inChannels: 1,
  sampleSize: 16,
  channels: [16, 32],
  hiddenSize: 64,
  numClasses: 10,
};

const SNAKE: Record<string, keyof ShapeClassifierConfig> = {
  in_channels: 'inChannels',
  sample_size: 'sampleSize',
  hidden_size: 'hiddenSize',
  num_classes: 'numClasses',
};

function readConfig(op: string, raw: Record<string, unknown>): ShapeClassifierConfig {
  const c: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(raw ?? {})) {
    const key = SNAKE[k] ?? k;
    if (key in DEFAULTS || key === 'id2label') c[key] = v;
  }
  const cfg = c as unknown as ShapeClassifierConfig;
  const positive = (name: string, v: unknown) => {
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new Error(`${op}: config.${name} must be a positive integer, got ${JSON.stringify(v)}`);
  };
  positive('inChannels', cfg.inChannels);
  positive('sampleSize', cfg.sampleSize);
  positive('hiddenSize', cfg.hiddenSize);
  positive('numClasses', cfg.numClasses);
  if (!Array.isArray(cfg.channels) || cfg.channels.length !== 2) {
    throw new Error(`${op}: config.channels must be two integers, got ${JSON.stringify(cfg.channels)}`);
  }
  for (const [i, ch] of cfg.channels.entries()) positive(`channels[${i}]`, ch);
  if (cfg.sampleSize % 4 !== 0) {
    throw new Error(
      `${op}: config.sampleSize must be divisible by 4 (two 2×2 poolings), got ${cfg.sampleSize}`,
    );
  }
  return cfg;
}

/**
 * `conv1` (3×3, pad 1) → ReLU → max-pool 2 → `conv2` (3×3, pad 1) → ReLU → max-pool 2 → flatten →
 * `fc1` → ReLU → `fc2` → logits. Parameter names as a torch module with those attributes would
 * write them (`conv1.weight`, `fc2.bias`, ...).
 *
 * @example
 * ```ts
 * const clf = await loadShapeClassifier();
 * const { images } = makeShapes(10, { generator: new Generator(0) }); // classes 0, 1, ..., 9
 * const predicted = await clf.predict(images); // Int32Array, one class per image
 * predicted; // => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
 * ```
 */
export class ShapeClassifier extends Module {
  readonly config: Readonly<ShapeClassifierConfig>;
  conv1: Conv2d;
  conv2: Conv2d;
  fc1: Linear;
  fc2: Linear;

  /** Builds an untrained classifier (weights from the global generator; see `manualSeed`). */
  constructor(config: Partial<ShapeClassifierConfig> | Record<string, unknown> = {}) {
    super();
    const c = readConfig('ShapeClassifier', config as Record<string, unknown>);
    this.config = Object.freeze(c);
    const [c1, c2] = c.channels;
    const side = c.sampleSize / 4;
    this.conv1 = new Conv2d(c.inChannels, c1, 3, { padding: 1 });
    this.conv2 = new Conv2d(c1, c2, 3, { padding: 1 });
    this.fc1 = new Linear(c2 * side * side, c.hiddenSize);
    this.fc2 = new Linear(c.hiddenSize, c.numClasses);
  }

  /** images [B, inChannels, S, S] (S = sampleSize) → logits [B, numClasses]. */
  override forward(images: Tensor): Tensor {
    const c = this.config;
    if (
      images?.isTensor !== true ||
      images.rank !== 4 ||
      images.shape[1] !== c.inChannels ||
      images.shape[2] !== c.sampleSize ||
      images.shape[3] !== c.sampleSize
    ) {
      throw new Error(
        `ShapeClassifier.forward: expected images [B, ${c.inChannels}, ${c.sampleSize}, ${c.sampleSize}], got ${images?.shape ? `[${images.shape.join(', ')}]` : String(images)}`,
      );
    }
    let x = maxPool2d(relu(this.conv1.forward(images)), 2);
    x = maxPool2d(relu(this.conv2.forward(x)), 2);
    x = x.reshape([images.shape[0], -1]);
    return this.fc2.forward(relu(this.fc1.forward(x)));
  }

  /** The most likely class of each image (no gradients kept). */
  async predict(images: Tensor): Promise<Int32Array> {
    const pred = tidy(() => argmax(this.forward(images.detach()), 1));
    const v = await pred.data();
    pred.dispose();
    return Int32Array.from(v as ArrayLike<number>);
  }

  /**
   * Loads a classifier from `config.json` + `model.safetensors` in a folder (Node path or URL
   * prefix), or from `{ config, weights }` (a config object or JSON text, and safetensors bytes).
   */
  static async fromPretrained(
    source: string | URL | { config: unknown; weights: ByteSource },
  ): Promise<ShapeClassifier> {
    const op = 'ShapeClassifier.fromPretrained';
    let config: unknown;
    let weights: ByteSource;
    if (typeof source === 'string' || source instanceof URL) {
      const base = String(source).replace(/\/+$/, '');
      const text = await readTextFile(`${base}/config.json`, op);
      config = parseJsonObject(text, 'config.json', op, base);
      weights = await readBinaryFile(`${base}/model.safetensors`, op);
    } else if (source && typeof source === 'object' && 'config' in source && 'weights' in source) {
      config = typeof source.config === 'string' ? JSON.parse(source.config) : source.config;
      weights = source.weights;
    } else {
      throw new TypeError(`${op}: expected a folder path/URL or { config, weights }, got ${typeof source}`);
    }
    const model = new ShapeClassifier(config as Record<string, unknown>);
    const state = await readSafetensors(weights, { float16: 'float32' });
    try {
      model.loadStateDict(state);
    } catch (e) {
      model.dispose();
      throw new Error(`${op}: ${(e as Error).message}`);
    } finally {
      for (const t of Object.values(state)) t.dispose();
    }
    model.eval();
    return model;
  }
}

/** Reads a file by path or URL (@attnkit/hub's `readFile`). @internal */
export async function readBinaryFile(location: string | URL, op: string): Promise<Uint8Array> {
  return readFile(location, op);
}

/** Reads a text file by path or URL (see {@link readBinaryFile}). @internal */
export async function readTextFile(location: string | URL, op: string): Promise<string> {
  return new TextDecoder().decode(await readFile(location, op));
}
