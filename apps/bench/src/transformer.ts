import type { CpuBackend } from '@attnkit/backend-cpu';
import { Generator, getBackend, manualSeed, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { quantize } from '@attnkit/tensor-core/nn';
import { exportOnnx, GPT2LMHeadModel } from '@attnkit/transformer';
import { benchBackends, fullWorkload, printUnavailable } from './backends.js';
import { progressStep } from './cli/progress.js';
import { benchMoE } from './moe.js';

/**
 * A GPT-2-124M-shaped model (12 layers, 768 wide, 12 heads, vocab 50257) with random weights:
 * prefill of 128 tokens and per-token decode with the KV cache, in tokens/s, on every backend of
 * {@link benchBackends} (cpu, webgpu, gpujs; logits read with `await data()`, so asynchronous
 * backends finish their work inside the timing), beside onnxruntime-web (wasm, 2 threads) running
 * the same weights through exportOnnx, when the `onnxruntime-web` package can be imported (the
 * exported graph has no KV-cache inputs, so only its prefill is comparable). The reference
 * machine's onnxruntime figures (REFERENCES.md) are printed for the order of magnitude.
 *
 * Settings: ATTNKIT_BENCH_GPT2_LAYERS (default 12) shrinks the model for quick runs. On software
 * backends (SwiftShader, gpu.js CPU mode) the model keeps ATTNKIT_BENCH_SLOW_GPT2_LAYERS layers
 * (default 2; embeddings and the 50257-way head unchanged), decodes 4 tokens instead of 16 and is
 * timed once after the warm-up, unless ATTNKIT_BENCH_FULL=1; the table's "layers" column says so.
 */
export async function benchTransformer(): Promise<void> {
  const layers = Number(process.env.ATTNKIT_BENCH_GPT2_LAYERS ?? 12);
  const slowLayers = Math.min(layers, Number(process.env.ATTNKIT_BENCH_SLOW_GPT2_LAYERS ?? 2));
  const prompt = 128;
  const backends = await benchBackends();
  const original = getBackend().name;
  console.log(
    `\n## transformer: GPT-2-124M shape (${layers} layers, 768 wide, 12 heads, vocab 50257), random weights, float32, on each backend`,
  );
  console.log(
    '| backend | layers | prefill 128 tokens ms | prefill tokens/s | decode ms/token (after 128) | decode tokens/s |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const b of backends.available) {
    const capped = b.slow && !fullWorkload();
    const nLayer = capped ? slowLayers : layers;
    const decodeTokens = capped ? 4 : 16;
    setBackend(b.name);
    manualSeed(0);
    const model = new GPT2LMHeadModel({ nLayer, nEmbd: 768, nHead: 12, vocabSize: 50257 }).eval();
    const g = new Generator(1);
    const ids = Int32Array.from({ length: prompt }, () => g.randint(0, 50257));
    const run = async (m: GPT2LMHeadModel = model): Promise<{ prefillMs: number; decodeMs: number }> => {
      const input = tensor(ids, [1, prompt], 'int32');
      const t0 = performance.now();
      const out = m.forward({ inputIds: input });
      await out.logits.data();
      const prefillMs = performance.now() - t0;
      out.logits.dispose();
      input.dispose();
      const past = out.pastKeyValues;
      let tok = 0;
      const t1 = performance.now();
      for (let i = 0; i < decodeTokens; i++) {
        const step = tensor([[tok]], undefined, 'int32');
        const o = m.forward({ inputIds: step, pastKeyValues: past });
        const logits: Tensor = o.logits;
        tok = argmaxLast(await logits.data());
        logits.dispose();
        step.dispose();
      }
      const decodeMs = (performance.now() - t1) / decodeTokens;
      past?.dispose();
      progressStep(`${b.label}: prefill ${prompt} + decode ${decodeTokens} tokens`);
      return { prefillMs, decodeMs };
    };
    if (b.name === 'cpu') {
      await benchCpu(model, run, ids, nLayer, decodeTokens);
      model.dispose();
      continue;
    }
    await run(); // warm-up (JIT, packing scratch, shader compilation)
    const runs = capped ? [await run()] : [await run(), await run()];
    const prefillMs = Math.min(...runs.map((r) => r.prefillMs));
    const decodeMs = Math.min(...runs.map((r) => r.decodeMs));
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
  await benchMoE(backends);
  printUnavailable(backends);
  setBackend(original);
}

function argmaxLast(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

type Run = (m?: GPT2LMHeadModel) => Promise<{ prefillMs: number; decodeMs: number }>;

/**
 * The CPU rows, interleaved in rounds so that a load that comes and goes hits every contender
 * alike: attnkit float32 (all cores), attnkit with int8 weights (nn.quantize, per channel) on a
 * second model with the same weights, and onnxruntime-web (wasm, 2 threads) running the same
 * float32 weights through exportOnnx. That graph has no past-key-value inputs, so onnxruntime's
 * prefill is compared here and its KV-cached decode is the REFERENCES.md figure.
 */
async function benchCpu(
  model: GPT2LMHeadModel,
  run: Run,
  ids: Int32Array,
  nLayer: number,
  decodeTokens: number,
) {
  const threads = (getBackend() as CpuBackend).threads;
  await (getBackend() as CpuBackend).ready();
  manualSeed(0);
  const q8 = quantize(new GPT2LMHeadModel({ nLayer, nEmbd: 768, nHead: 12, vocabSize: 50257 }).eval(), {
    dtype: 'int8',
  });
  // biome-ignore lint/suspicious/noExplicitAny: optional peer, loaded by name
  const ort: any = await import('onnxruntime-web').catch(() => null);
  let session: { run: (f: unknown) => Promise<unknown>; release?: () => Promise<void> } | null = null;
  const feeds = ort ? { input_ids: new ort.Tensor('int32', ids, [1, ids.length]) } : null;
  if (ort) {
    ort.env.wasm.numThreads = 2;
    session = await ort.InferenceSession.create(exportOnnx(model));
  }
  const best = { f32: [Infinity, Infinity], q8: [Infinity, Infinity], ort: Infinity };
  for (let round = -1; round < 2; round++) {
    const a = await run(model);
    const b = await run(q8);
    let o = Infinity;
    if (session) {
      const t0 = performance.now();
      await session.run(feeds);
      o = performance.now() - t0;
    }
    if (round < 0) continue; // warm-up
    best.f32 = [Math.min(best.f32[0], a.prefillMs), Math.min(best.f32[1], a.decodeMs)];
    best.q8 = [Math.min(best.q8[0], b.prefillMs), Math.min(best.q8[1], b.decodeMs)];
    best.ort = Math.min(best.ort, o);
  }
  const row = (label: string, [p, d]: number[]) =>
    console.log(
      `| ${label} | ${nLayer} | ${p.toFixed(0)} | ${((ids.length / p) * 1000).toFixed(1)} | ${d.toFixed(1)} | ${(1000 / d).toFixed(1)} |`,
    );
  row(`attnkit cpu float32, ${threads} threads`, best.f32);
  row(`attnkit cpu int8 weights (quantize, per channel), ${threads} threads`, best.q8);
  if (session) {
    console.log(
      `| onnxruntime-web 1.30 wasm 2 threads, exportOnnx (this run) | ${nLayer} | ${best.ort.toFixed(0)} | ${((ids.length / best.ort) * 1000).toFixed(1)} | n/a (graph without past key values) | |`,
    );
    await session.release?.();
  } else console.log('| onnxruntime-web (could not be imported: skipped) | | | | | |');
  console.log(
    `- ratios this run (interleaved, ${decodeTokens} decode tokens): prefill attnkit/onnxruntime-web ${(best.ort / best.f32[0]).toFixed(2)}x (speed), ` +
      `int8/float32 decode speed ${(best.f32[1] / best.q8[1]).toFixed(2)}x`,
  );
  q8.dispose();
}
