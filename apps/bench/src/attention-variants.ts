import { bigBirdLayout, DiffAttention, LayerKVCache, scaledDotProductAttention } from '@attnkit/attention';
import {
  type Backend,
  findBackend,
  Generator,
  getBackend,
  memory,
  noGrad,
  randn,
  registerBackend,
  setBackend,
  type Tensor,
  tidy,
} from '@attnkit/tensor-core';
import { countingBackend, medianMs } from './attention.js';
import { benchBackends, fullWorkload, printUnavailable } from './backends.js';
import { progressStep, progressTotal } from './cli/progress.js';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';

/** The attention variants of the suite, in table order. */
const VARIANTS = ['dense', 'flash', 'sliding window', 'block-sparse', 'differential'] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * Attention variants against sequence length, bidirectional (encoder-style), B = 1, 4 score maps
 * of head size 64 per call, float32, on every backend of {@link benchBackends}:
 *  - dense: the reference composition (q kᵀ, softmax, · v: materialises [B, H, L, L]);
 *  - flash: the backend's fused kernel over every key;
 *  - sliding window: the fused kernel with `windowSize` 256 (|i − j| < 256);
 *  - block-sparse: the fused kernel with a BigBird layout (blocks of 64; window 1, global block 0,
 *    2 random blocks per row): the block-sparse kernel walks only the visible blocks (a backend
 *    without it gets the equivalent boolean mask, said in the table);
 *  - differential: a DiffAttention layer (E = 256, 2 differential heads = 4 softmax maps of width
 *    64, values 128 wide), projections included.
 *
 * For each: median ms of one forward (`await data()` included) and the peak bytes of backend
 * storage alive beyond the inputs during one forward (a counting wrapper around the backend, exact).
 * Lengths 1K to 16K (ATTN_VARIANTS_MAX_L); software backends (SwiftShader, gpu.js CPU mode) stop at
 * ATTN_VARIANTS_SLOW_MAX_L (default 1024) unless ATTNKIT_BENCH_FULL=1; dense stops where its scores
 * would pass ATTN_VARIANTS_DENSE_MAX_MIB (default 2048 MiB, counting 4 L×L buffers). The tables say
 * where a cap applied. `--quick`: L = 128 and 256, blocks of 16, window 32, one timed run.
 *
 * Then multi-query attention's KV-cache saving: bytes per cached token of one layer's
 * {@link LayerKVCache} with 32 query heads of 128, for MHA (32 key/value heads), GQA (8) and MQA (1),
 * read from `memory()`.
 */
export async function benchAttentionVariants(): Promise<void> {
  const quick = settings.quick;
  const maxL = Number(process.env.ATTN_VARIANTS_MAX_L ?? (quick ? 256 : 16384));
  const slowMaxL = Number(process.env.ATTN_VARIANTS_SLOW_MAX_L ?? 1024);
  const denseMaxBytes = Number(process.env.ATTN_VARIANTS_DENSE_MAX_MIB ?? 2048) * 2 ** 20;
  const firstL = quick ? 128 : 1024;
  const blockSize = quick ? 16 : 64;
  const window = quick ? 32 : 256;
  const H = 4;
  const d = 64;
  const backends = await benchBackends();
  const original = getBackend().name;
  console.log(
    `\n## attention variants: B = 1, H = ${H}, d = ${d}, float32, bidirectional, forward on each backend`,
  );
  console.log(
    `dense = reference composition (L×L scores); flash = fused kernel; sliding window = fused, window ${window}; ` +
      `block-sparse = fused, BigBird layout (blocks of ${blockSize}, window 1, global block 0, 2 random blocks); ` +
      `differential = DiffAttention layer, E = ${H * d}, 2 heads (4 softmax maps), projections included`,
  );
  const lengths = (cap: number) => {
    const out: number[] = [];
    for (let L = firstL; L <= cap; L *= 2) out.push(L);
    return out;
  };
  const plan = backends.available.map((b) => {
    const counter = countingBackend(findBackend(b.name) as Backend, 'variants');
    registerBackend(counter.backend.name, () => counter.backend, -1);
    const cap = b.slow && !fullWorkload() ? Math.min(maxL, slowMaxL) : maxL;
    return { b, counter, cap, Ls: lengths(cap) };
  });
  progressTotal(plan.reduce((n, p) => n + p.Ls.length * VARIANTS.length, 0) + 3);
  const rows: string[] = [];
  const notes: string[] = [];
  try {
    for (const { b, counter, cap, Ls } of plan) {
      if (cap < maxL) {
        notes.push(
          `${b.label}: capped at L = ${cap} (runs in software here; ATTNKIT_BENCH_FULL=1 lifts the cap)`,
        );
      }
      setBackend(counter.backend.name);
      const fused = typeof counter.backend.attention === 'function';
      const sparseKernel = typeof counter.backend.blockSparseAttention === 'function';
      if (fused && !sparseKernel)
        notes.push(`${b.label}: no block-sparse kernel, the layout runs as a dense mask`);
      const g = new Generator(0);
      const diff = new DiffAttention({
        hiddenSize: H * d,
        numHeads: H / 2,
        layerIndex: 0,
        causal: false,
        generator: g,
      });
      for (const L of Ls) {
        const [q, k, v] = [0, 1, 2].map(() => randn([1, H, L, d], { generator: g }));
        const x = randn([1, L, H * d], { generator: g });
        const layout = bigBirdLayout(L / blockSize, blockSize, {
          window: 1,
          globalBlocks: [0],
          randomBlocks: 2,
        });
        const visible = layout.visible.reduce((n, r) => n + r.length, 0);
        const runs = quick ? 1 : L >= 4096 || b.slow ? 2 : 3;
        const cells: string[] = [];
        for (const variant of VARIANTS) {
          progressStep(`${b.label} L=${L} ${variant}`);
          let skip: string | null = null;
          if (variant === 'dense' && 4 * H * L * L * 4 > denseMaxBytes) skip = 'skipped (scores too large)';
          else if (variant !== 'dense' && variant !== 'differential' && !fused) skip = 'n/a';
          if (skip) {
            cells.push(skip, '');
            continue;
          }
          const forward = (): Tensor =>
            noGrad(() =>
              tidy(() => {
                switch (variant as Variant) {
                  case 'dense':
                    return scaledDotProductAttention(q, k, v, { implementation: 'reference' });
                  case 'flash':
                    return scaledDotProductAttention(q, k, v, { implementation: 'fused' });
                  case 'sliding window':
                    return scaledDotProductAttention(q, k, v, {
                      windowSize: window,
                      implementation: 'fused',
                    });
                  case 'block-sparse':
                    return scaledDotProductAttention(q, k, v, { layout, implementation: 'fused' });
                  default:
                    return diff.forward(x).output;
                }
              }),
            );
          const base = counter.live;
          counter.resetPeak();
          const y0 = forward();
          await y0.data();
          y0.dispose();
          const peak = counter.peak - base;
          const ms = await medianMs(runs, async () => {
            const y = forward();
            await y.data();
            y.dispose();
          });
          const implementation = `${b.label} ${variant}`;
          const params = { L, backend: b.name };
          record({
            suite: 'attention-variants',
            case: `L=${L}`,
            implementation,
            metric: 'time',
            value: ms,
            unit: 'ms',
            params,
          });
          record({
            suite: 'attention-variants',
            case: `L=${L}`,
            implementation,
            metric: 'peak memory',
            value: peak / 2 ** 20,
            unit: 'MiB',
            params: variant === 'block-sparse' ? { ...params, visibleBlocks: visible } : params,
          });
          cells.push(ms.toFixed(1), (peak / 2 ** 20).toFixed(2));
        }
        rows.push(`| ${b.label} | ${L} | ${cells.map((c) => c || '-').join(' | ')} |`);
        for (const t of [q, k, v, x]) t.dispose();
      }
      diff.dispose();
    }
    console.log('\n### time (median ms of one forward, read back included) and peak MiB beyond the inputs');
    console.log(`| backend | L | ${VARIANTS.map((v) => `${v} ms | ${v} MiB`).join(' | ')} |`);
    console.log(`|---|---|${VARIANTS.map(() => '---|---|').join('')}`);
    for (const r of rows) console.log(r);
    console.log(
      `- dense L×L scores for reference: ${lengths(maxL)
        .map((L) => `L = ${L}: ${((H * L * L * 4) / 2 ** 20).toFixed(1)} MiB`)
        .join(', ')}`,
    );
    for (const n of notes) console.log(`- ${n}`);
    printUnavailable(backends);

    // KV-cache bytes per token: MHA vs GQA vs MQA
    setBackend(plan[0]?.b.name ?? original);
    const backendName = getBackend().name;
    const Hq = 32;
    const hd = 128;
    const T = quick ? 64 : 1024;
    console.log(
      `\n### KV cache of one layer, ${Hq} query heads of ${hd}, float32, ${T} tokens cached (${getBackend().name}, memory())`,
    );
    console.log('| attention | key/value heads | bytes per token | MHA ÷ this |');
    console.log('|---|---|---|---|');
    let mha = 0;
    for (const [name, kvHeads] of [
      ['MHA', Hq],
      ['GQA', 8],
      ['MQA', 1],
    ] as const) {
      progressStep(`kv cache ${name}`);
      const cache = new LayerKVCache({ initialCapacity: T });
      const before = memory()[backendName]?.numBytes ?? 0;
      tidy(() => {
        const kk = randn([1, kvHeads, T, hd]);
        const vv = randn([1, kvHeads, T, hd]);
        cache.append(kk, vv);
      });
      const perToken = ((memory()[backendName]?.numBytes ?? 0) - before) / T;
      cache.dispose();
      if (name === 'MHA') mha = perToken;
      record({
        suite: 'attention-variants',
        case: 'kv cache',
        implementation: name,
        metric: 'kv-cache bytes per token',
        value: perToken,
        unit: 'B',
        params: { kvHeads, headDim: hd, queryHeads: Hq },
      });
      console.log(`| ${name} | ${kvHeads} | ${perToken.toFixed(0)} | ${(mha / perToken).toFixed(1)}x |`);
    }
  } finally {
    setBackend(original);
  }
}
