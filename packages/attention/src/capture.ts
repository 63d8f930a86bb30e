// Capturing attention weights for visualisation. When no capture is active, attention code pays a
// single null check: the fused path stays in use and no Lq×Lk matrix is kept.
import { keep, type Tensor } from '@attnkit/tensor-core';

/** One captured attention call: where it came from and its weights. */
export interface AttentionRecord {
  /** The label of the call: the module's name (e.g. `layers.3.attn`) or `attention.<n>` in call order. */
  name: string;
  /** Softmax weights [B, H, Lq, Lk] (after masking, before dropout), detached from any graph. */
  weights: Tensor;
}

/** The weights captured by {@link captureAttention}, with a way to free them. */
export interface CapturedAttention<T> {
  /** What the function returned. */
  result: T;
  /** One record per attention call, in call order. */
  attentions: AttentionRecord[];
  /** Disposes every captured weight tensor. */
  dispose(): void;
}

let active: AttentionRecord[] | null = null;

/** True while {@link captureAttention} is collecting weights. */
export function isCapturingAttention(): boolean {
  return active !== null;
}

/** @internal Called by attention code with the weights of one call. */
export function recordAttention(name: string | undefined, weights: Tensor): void {
  if (!active) return;
  const label = name ?? `attention.${active.length}`;
  active.push({ name: label, weights: keep(weights.detach()) });
}

/**
 * Runs `fn` (a model forward) and collects the attention weights of every
 * {@link scaledDotProductAttention} call inside it (and so of every {@link MultiHeadAttention}
 * layer), per layer and per head. Outside a capture nothing is recorded and nothing is computed
 * for it. The captured tensors survive enclosing `tidy` scopes; free them with `dispose()`.
 *
 * `fn` may be async; captures do not nest, and concurrent async captures are refused.
 *
 * @example
 * ```ts
 * const mha = new MultiHeadAttention({ embedDim: 16, numHeads: 4 });
 * const x = randn([1, 5, 16]);
 * const { result, attentions, dispose } = captureAttention(() => mha.forward(x, x, x));
 * attentions.map(({ name, weights }) => [name, weights.shape]); // => [['attention.0', [1, 4, 5, 5]]]
 * dispose();
 * ```
 */
export function captureAttention<T>(
  fn: () => T,
): T extends Promise<infer U> ? Promise<CapturedAttention<U>> : CapturedAttention<T>;
export function captureAttention<T>(fn: () => T): CapturedAttention<T> | Promise<CapturedAttention<unknown>> {
  if (typeof fn !== 'function') {
    throw new TypeError(`captureAttention: 'fn' must be a function, got ${typeof fn}`);
  }
  if (active) throw new Error('captureAttention: a capture is already running (captures do not nest)');
  const attentions: AttentionRecord[] = [];
  const dispose = () => {
    for (const r of attentions) r.weights.dispose();
  };
  active = attentions;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    active = null;
    dispose();
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => {
        active = null;
        return { result: value, attentions, dispose };
      },
      (e) => {
        active = null;
        dispose();
        throw e;
      },
    );
  }
  active = null;
  return { result, attentions, dispose };
}
