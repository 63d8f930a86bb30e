import type { CpuBackend } from '@attnkit/backend-cpu';
import { Generator, getBackend, manualSeed, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { quantize } from '@attnkit/tensor-core/nn';
import { exportOnnx, GPT2LMHeadModel } from '@attnkit/transformer';
import { benchBackends, fullWorkload, printUnavailable } from './backends.js';
import { progressStep } from './cli/progress.js';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';
import { benchMoE } from './moe.js';

/**
 * A GPT-2-124M-shaped model (12 layers, 768 wide, 12 heads, vocab 50257) with random weights:
 * prefill of 128 tokens and per-token decode with the KV cache, in tokens/s, on every backend of
 * {@link benchBackends} (cpu, webgpu, gpujs; logits read with `await data()`, so asynchronous
 * backends finish their work inside the timing), beside onnxruntime-web (wasm, 2 threads) running
 * the same weights through exportOnnx, when the `onnxruntime-web` package can be imported: the
 * plain graph for prefill, and the graph with past key values (`{ pastKeyValues: true }`, the
 * transformers.js layout) for prefill plus KV-cached decode. The reference machine's onnxruntime
 * figures (REFERENCES.md) are printed for the order of magnitude.
 *
 * Settings: ATTNKIT_BENCH_GPT2_LAYERS (default 12) shrinks the model for quick runs. On software
 * backends (SwiftShader, gpu.js CPU mode) the model keeps ATTNKIT_BENCH_SLOW_GPT2_LAYERS layers
 * (default 2; embeddings and the 50257-way head unchanged), decodes 4 tokens instead of 16 and is
 * timed once after the warm-up, unless ATTNKIT_BENCH_FULL=1; the table's "layers" column says so.
 *
 * On the CPU a second table sweeps the prompt length (prefill only, the same contenders), and every
 * decode step's time is recorded, for the report's plots of prefill time against prompt length and
 * ms/token against tokens generated. `--quick`: a tiny model (2 layers, 128 wide, 4 heads, vocab
 * 4096), 8 decode tokens, prompts of 16 to 128 tokens, and no MoE table.
 */
export async function benchTransformer(): Promise<void> {
  const layers = Number(process.env.ATTNKIT_BENCH_GPT2_LAYERS ?? (settings.quick ? 2 : 12));
  const shape = settings.quick
    ? { nEmbd: 128, nHead: 4, vocabSize: 4096 }
    : { nEmbd: 768, nHead: 12, vocabSize: 50257 };
  const slowLayers = Math.min(layers, Number(process.env.ATTNKIT_BENCH_SLOW_GPT2_LAYERS ?? 2));
  const prompt = 128;
  const backends = await benchBackends();
  const original = getBackend().name;
  console.log(
    `\n## transformer: GPT-2-124M shape (${layers} layers, ${shape.nEmbd} wide, ${shape.nHead} heads, vocab ${shape.vocabSize}), random weights, float32, on each backend`,
  );
  console.log(
    '| backend | layers | prefill 128 tokens ms | prefill tokens/s | decode ms/token (after 128) | decode tokens/s |',
  );
  console.log('|---|---|---|---|---|---|');
  let printSweep: (() => void) | undefined;
  for (const b of backends.available) {
    const capped = b.slow && !fullWorkload();
    const nLayer = capped ? slowLayers : layers;
    const decodeTokens = capped ? 4 : settings.quick ? 8 : 16;
    setBackend(b.name);
    manualSeed(0);
    const model = new GPT2LMHeadModel({ nLayer, ...shape }).eval();
    const g = new Generator(1);
    const ids = Int32Array.from({ length: prompt }, () => g.randint(0, shape.vocabSize));
    const run = async (m: GPT2LMHeadModel = model): Promise<RunTimes> => {
      const input = tensor(ids, [1, prompt], 'int32');
      const t0 = performance.now();
      const out = m.forward({ inputIds: input });
      await out.logits.data();
      const prefillMs = performance.now() - t0;
      out.logits.dispose();
      input.dispose();
      const past = out.pastKeyValues;
      let tok = 0;
      const stepMs: number[] = [];
      const t1 = performance.now();
      for (let i = 0; i < decodeTokens; i++) {
        const s0 = performance.now();
        const step = tensor([[tok]], undefined, 'int32');
        const o = m.forward({ inputIds: step, pastKeyValues: past });
        const logits: Tensor = o.logits;
        tok = argmaxLast(await logits.data());
        logits.dispose();
        step.dispose();
        stepMs.push(performance.now() - s0);
      }
      const decodeMs = (performance.now() - t1) / decodeTokens;
      past?.dispose();
      progressStep(`${b.label}: prefill ${prompt} + decode ${decodeTokens} tokens`);
      return { prefillMs, decodeMs, stepMs };
    };
    if (b.name === 'cpu') {
      printSweep = await benchCpu(model, run, ids, nLayer, decodeTokens, shape);
      model.dispose();
      continue;
    }
    await run(); // warm-up (JIT, packing scratch, shader compilation)
    const runs = capped ? [await run()] : [await run(), await run()];
    const prefillMs = Math.min(...runs.map((r) => r.prefillMs));
    const decodeMs = Math.min(...runs.map((r) => r.decodeMs));
    recordRun(`attnkit ${b.label}`, prompt, {
      prefillMs,
      decodeMs,
      stepMs: runs[0].stepMs.map((_, i) => Math.min(...runs.map((r) => r.stepMs[i]))),
    });
    const layerCell = nLayer < layers ? `${nLayer} (capped: software here)` : `${nLayer}`;
    console.log(
      `| attnkit ${b.label} | ${layerCell} | ${prefillMs.toFixed(0)} | ${((prompt / prefillMs) * 1000).toFixed(1)} | ` +
        `${decodeMs.toFixed(1)} | ${(1000 / decodeMs).toFixed(1)} |`,
    );
    model.dispose();
  }
  console.log(
    '| onnxruntime-web 1.30 wasm, 2 threads (REFERENCES.md, not this run) | 12 | 793 | 161 | 36.7 | 27 |',
  );
  if (backends.available.some((b) => b.slow) && !fullWorkload()) {
    console.log(
      `- capped rows keep ${slowLayers} of the ${layers} layers and decode 4 tokens (timed once); ATTNKIT_BENCH_FULL=1 runs the full model`,
    );
  }
  printSweep?.();
  if (!settings.quick) await benchMoE(backends);
  printUnavailable(backends);
  setBackend(original);
}

function argmaxLast(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** One timed prefill + decode: prefill ms, mean decode ms/token, and each decode step's ms. */
interface RunTimes {
  prefillMs: number;
  decodeMs: number;
  stepMs: number[];
}

type Run = (m?: GPT2LMHeadModel) => Promise<RunTimes>;

/** onnxruntime-web's thread count in the CPU rows. */
const ORT_THREADS = 2;

/** The part of an onnxruntime-web InferenceSession the KV-cached decode uses. */
interface OrtKvSession {
  run: (feeds: Record<string, unknown>) => Promise<Record<string, { data: ArrayLike<number> }>>;
  release?: () => Promise<void>;
}

/**
 * onnxruntime-web's prefill and KV-cached decode on the exportOnnx `{ pastKeyValues: true }` graph
 * (the transformers.js layout): the prompt with an empty past, then `decodeTokens` greedy steps of
 * one token, each feeding `present.N.key/value` back as `past_key_values.N.key/value`.
 */
async function ortKvRun(
  // biome-ignore lint/suspicious/noExplicitAny: optional peer, loaded by name
  ort: any,
  session: OrtKvSession,
  ids: Int32Array,
  nLayer: number,
  shape: { nEmbd: number; nHead: number },
  decodeTokens: number,
): Promise<RunTimes> {
  const i64 = (values: ArrayLike<number>, dims: number[]) =>
    new ort.Tensor('int64', BigInt64Array.from(Array.from(values, BigInt)), dims);
  const headDim = shape.nEmbd / shape.nHead;
  let past: Record<string, unknown> = {};
  for (let i = 0; i < nLayer; i++)
    for (const kind of ['key', 'value'])
      past[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
        1,
        shape.nHead,
        0,
        headDim,
      ]);
  const feedsFor = (tokens: ArrayLike<number>, total: number) => ({
    ...past,
    input_ids: i64(tokens, [1, tokens.length]),
    attention_mask: i64(new Array(total).fill(1), [1, total]),
    position_ids: i64(
      Array.from({ length: tokens.length }, (_, j) => total - tokens.length + j),
      [1, tokens.length],
    ),
  });
  const keep = (out: Record<string, unknown>) => {
    past = {};
    for (let i = 0; i < nLayer; i++)
      for (const kind of ['key', 'value']) past[`past_key_values.${i}.${kind}`] = out[`present.${i}.${kind}`];
  };
  let total = ids.length;
  const t0 = performance.now();
  let out = await session.run(feedsFor(ids, total));
  const prefillMs = performance.now() - t0;
  let tok = 0; // as attnkit's decode above: the first step feeds token 0
  keep(out);
  const stepMs: number[] = [];
  const t1 = performance.now();
  for (let i = 0; i < decodeTokens; i++) {
    const s0 = performance.now();
    total += 1;
    out = await session.run(feedsFor([tok], total));
    tok = argmaxLast(out.logits.data);
    keep(out);
    stepMs.push(performance.now() - s0);
  }
  const decodeMs = (performance.now() - t1) / decodeTokens;
  progressStep(`onnxruntime-web: prefill ${ids.length} + decode ${decodeTokens} tokens (KV cache)`);
  return { prefillMs, decodeMs, stepMs };
}

/** Records a row of the transformer table: prefill time at `prompt` tokens and every decode step. */
function recordRun(implementation: string, prompt: number, t: RunTimes): void {
  const suite = 'transformer';
  record({
    suite,
    case: `prefill ${prompt} tokens`,
    implementation,
    metric: 'prefill time',
    value: t.prefillMs,
    unit: 'ms',
    params: { prompt },
  });
  record({
    suite,
    case: `decode after ${prompt} tokens, mean`,
    implementation,
    metric: 'decode mean',
    value: t.decodeMs,
    unit: 'ms/token',
  });
  for (const [i, value] of t.stepMs.entries())
    record({
      suite,
      case: `decode token ${i + 1} after ${prompt}`,
      implementation,
      metric: 'decode time',
      value,
      unit: 'ms/token',
      params: { tokens: i + 1 },
    });
}

/** Elementwise best of two runs' times. */
function bestOf(a: RunTimes | null, b: RunTimes): RunTimes {
  if (!a) return b;
  return {
    prefillMs: Math.min(a.prefillMs, b.prefillMs),
    decodeMs: Math.min(a.decodeMs, b.decodeMs),
    stepMs: a.stepMs.map((x, i) => Math.min(x, b.stepMs[i])),
  };
}

/**
 * The CPU rows, interleaved in rounds so that a load that comes and goes hits every contender
 * alike: attnkit float32 (all cores, weights packed once for the GEMM: CpuBackend's packWeights,
 * as onnxruntime prepacks its constant weights), attnkit with int8 weights (nn.quantize, per channel) on a
 * second model with the same weights, and onnxruntime-web (wasm, 2 threads) running the same
 * float32 weights through exportOnnx: the plain graph's prefill, and the graph with past key values
 * for prefill and KV-cached decode (present fed back as past each step; onnx-kv.test.ts checks that
 * this graph's logits equal attnkit's step by step).
 */
async function benchCpu(
  model: GPT2LMHeadModel,
  run: Run,
  ids: Int32Array,
  nLayer: number,
  decodeTokens: number,
  shape: { nEmbd: number; nHead: number; vocabSize: number },
): Promise<() => void> {
  const cpu = getBackend() as CpuBackend;
  const threads = cpu.threads;
  await cpu.ready();
  // ATTNKIT_BENCH_PACK_WEIGHTS=0 times the float32 model without packed weights
  const pack = process.env.ATTNKIT_BENCH_PACK_WEIGHTS !== '0';
  const packedBefore = cpu.packWeights;
  cpu.packWeights = pack;
  manualSeed(0);
  const q8 = quantize(new GPT2LMHeadModel({ nLayer, ...shape }).eval(), {
    dtype: 'int8',
  });
  // bfloat16 weights (the float16 kernel is the same loop with another widening)
  const h16 = quantize(new GPT2LMHeadModel({ nLayer, ...shape }).eval(), { dtype: 'bfloat16' });
  // biome-ignore lint/suspicious/noExplicitAny: optional peer, loaded by name
  const ort: any = await import('onnxruntime-web').catch(() => null);
  let session: { run: (f: unknown) => Promise<unknown>; release?: () => Promise<void> } | null = null;
  const feeds = ort ? { input_ids: new ort.Tensor('int32', ids, [1, ids.length]) } : null;
  let kvSession: OrtKvSession | null = null;
  if (ort) {
    ort.env.wasm.numThreads = ORT_THREADS;
    session = await ort.InferenceSession.create(exportOnnx(model));
    kvSession = await ort.InferenceSession.create(exportOnnx(model, { pastKeyValues: true }));
  }
  const best = {
    f32: [Infinity, Infinity],
    q8: [Infinity, Infinity],
    h16: [Infinity, Infinity],
    ort: Infinity,
    ortKv: [Infinity, Infinity],
  };
  let f32Times: RunTimes | null = null;
  let q8Times: RunTimes | null = null;
  let kvTimes: RunTimes | null = null;
  // the float32 model's weights are packed at their second use, as onnxruntime packs at session
  // creation: an extra untimed run, so that the warm-up round already reads the packed copies
  if (pack) await run(model);
  for (let round = -1; round < 2; round++) {
    const a = await run(model);
    const b = await run(q8);
    const h = await run(h16);
    let o = Infinity;
    if (session) {
      const t0 = performance.now();
      await session.run(feeds);
      o = performance.now() - t0;
    }
    const kv = kvSession ? await ortKvRun(ort, kvSession, ids, nLayer, shape, decodeTokens) : null;
    if (round < 0) continue; // warm-up
    best.f32 = [Math.min(best.f32[0], a.prefillMs), Math.min(best.f32[1], a.decodeMs)];
    best.q8 = [Math.min(best.q8[0], b.prefillMs), Math.min(best.q8[1], b.decodeMs)];
    best.h16 = [Math.min(best.h16[0], h.prefillMs), Math.min(best.h16[1], h.decodeMs)];
    best.ort = Math.min(best.ort, o);
    if (kv) {
      best.ortKv = [Math.min(best.ortKv[0], kv.prefillMs), Math.min(best.ortKv[1], kv.decodeMs)];
      kvTimes = bestOf(kvTimes, kv);
    }
    f32Times = bestOf(f32Times, a);
    q8Times = bestOf(q8Times, b);
  }
  const row = (label: string, [p, d]: number[]) =>
    console.log(
      `| ${label} | ${nLayer} | ${p.toFixed(0)} | ${((ids.length / p) * 1000).toFixed(1)} | ${d.toFixed(1)} | ${(1000 / d).toFixed(1)} |`,
    );
  const f32Label = `attnkit cpu float32, ${threads} threads${pack ? ', packed weights' : ''}`;
  const q8Label = `attnkit cpu int8 weights (quantize, per channel), ${threads} threads`;
  const ortLabel = `onnxruntime-web 1.30 wasm, ${ORT_THREADS} threads (exportOnnx)`;
  const ortKvLabel = `onnxruntime-web 1.30 wasm, ${ORT_THREADS} threads, KV cache (exportOnnx pastKeyValues)`;
  row(f32Label, best.f32);
  row(q8Label, best.q8);
  row(`attnkit cpu bfloat16 weights (quantize), ${threads} threads`, best.h16);
  recordRun(f32Label, ids.length, f32Times!);
  recordRun(q8Label, ids.length, q8Times!);
  if (session) {
    console.log(
      `| onnxruntime-web 1.30 wasm 2 threads, exportOnnx (this run) | ${nLayer} | ${best.ort.toFixed(0)} | ${((ids.length / best.ort) * 1000).toFixed(1)} | n/a (no past key values: see the KV-cache row) | |`,
    );
    record({
      suite: 'transformer',
      case: `prefill ${ids.length} tokens`,
      implementation: ortLabel,
      metric: 'prefill time',
      value: best.ort,
      unit: 'ms',
      params: { prompt: ids.length },
    });
  } else console.log('| onnxruntime-web (could not be imported: skipped) | | | | | |');
  if (kvSession && kvTimes) {
    row(ortKvLabel, best.ortKv);
    recordRun(ortKvLabel, ids.length, kvTimes);
  }
  console.log(
    `- ratios this run (interleaved, ${decodeTokens} decode tokens; attnkit ${threads} threads, onnxruntime-web ${ORT_THREADS} threads): ` +
      `prefill attnkit/onnxruntime-web ${(best.ort / best.f32[0]).toFixed(2)}x (speed), ` +
      `float32 decode attnkit/onnxruntime-web KV-cached ${(best.ortKv[1] / best.f32[1]).toFixed(2)}x (speed), ` +
      `int8/float32 decode speed ${(best.f32[1] / best.q8[1]).toFixed(2)}x, bfloat16/float32 decode speed ${(best.f32[1] / best.h16[1]).toFixed(2)}x`,
  );

  // Prefill against prompt length: the same contenders, interleaved, best of 2 after a warm-up
  // (the prompt of the table above is its point at ids.length).
  const lengths = settings.quick ? [16, 32, 64] : [32, 64, 256, 512];
  const g = new Generator(2);
  const sweep: { prompt: number; f32: number; q8: number; ort: number }[] = [];
  for (const prompt of lengths) {
    const p = Int32Array.from({ length: prompt }, () => g.randint(0, shape.vocabSize));
    const prefill = async (m: GPT2LMHeadModel) => {
      const input = tensor(p, [1, prompt], 'int32');
      const t0 = performance.now();
      const out = m.forward({ inputIds: input });
      await out.logits.data();
      const ms = performance.now() - t0;
      out.logits.dispose();
      out.pastKeyValues?.dispose();
      input.dispose();
      return ms;
    };
    const ortFeeds = session ? { input_ids: new ort.Tensor('int32', p, [1, prompt]) } : null;
    const t = { prompt, f32: Infinity, q8: Infinity, ort: Infinity };
    for (let round = -1; round < 2; round++) {
      const a = await prefill(model);
      const b = await prefill(q8);
      let o = Infinity;
      if (session) {
        const t0 = performance.now();
        await session.run(ortFeeds);
        o = performance.now() - t0;
      }
      if (round < 0) continue;
      t.f32 = Math.min(t.f32, a);
      t.q8 = Math.min(t.q8, b);
      t.ort = Math.min(t.ort, o);
    }
    progressStep(`cpu: prefill ${prompt} tokens`);
    sweep.push(t);
    for (const [implementation, value] of [
      [f32Label, t.f32],
      [q8Label, t.q8],
      [ortLabel, t.ort],
    ] as const)
      record({
        suite: 'transformer',
        case: `prefill ${prompt} tokens`,
        implementation,
        metric: 'prefill time',
        value,
        unit: 'ms',
        params: { prompt },
      });
  }
  sweep.push({ prompt: ids.length, f32: best.f32[0], q8: best.q8[0], ort: best.ort });
  sweep.sort((x, y) => x.prompt - y.prompt);
  await session?.release?.();
  await kvSession?.release?.();
  q8.dispose();
  h16.dispose();
  const packedMiB = cpu.packedWeightBytes / 2 ** 20;
  cpu.packWeights = packedBefore;
  // printed after the table the CPU rows belong to
  return () => {
    if (pack)
      console.log(
        `- packed weights of the float32 model: ${packedMiB.toFixed(0)} MiB of heap beside the weights`,
      );
    console.log('\n### prefill time against prompt length, cpu, ms (best of 2, interleaved)');
    console.log('| prompt tokens | attnkit float32 | attnkit int8 weights | onnxruntime-web (exportOnnx) |');
    console.log('|---|---|---|---|');
    const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
    for (const t of sweep) console.log(`| ${t.prompt} | ${ms(t.f32)} | ${ms(t.q8)} | ${ms(t.ort)} |`);
  };
}
