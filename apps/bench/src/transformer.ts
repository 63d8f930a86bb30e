import { Generator, getBackend, manualSeed, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { exportOnnx, GPT2LMHeadModel } from '@attnkit/transformer';
import { benchBackends, fullWorkload, printUnavailable } from './backends.js';
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
    const run = async (): Promise<{ prefillMs: number; decodeMs: number }> => {
      const input = tensor(ids, [1, prompt], 'int32');
      const t0 = performance.now();
      const out = model.forward({ inputIds: input });
      await out.logits.data();
      const prefillMs = performance.now() - t0;
      out.logits.dispose();
      input.dispose();
      const past = out.pastKeyValues;
      let tok = 0;
      const t1 = performance.now();
      for (let i = 0; i < decodeTokens; i++) {
        const step = tensor([[tok]], undefined, 'int32');
        const o = model.forward({ inputIds: step, pastKeyValues: past });
        const logits: Tensor = o.logits;
        tok = argmaxLast(await logits.data());
        logits.dispose();
        step.dispose();
      }
      const decodeMs = (performance.now() - t1) / decodeTokens;
      past?.dispose();
      return { prefillMs, decodeMs };
    };
    await run(); // warm-up (JIT, packing scratch, shader compilation)
    const runs = capped ? [await run()] : [await run(), await run()];
    const prefillMs = Math.min(...runs.map((r) => r.prefillMs));
    const decodeMs = Math.min(...runs.map((r) => r.decodeMs));
    const layerCell = nLayer < layers ? `${nLayer} (capped: software here)` : `${nLayer}`;
    console.log(
      `| attnkit ${b.label} | ${layerCell} | ${prefillMs.toFixed(0)} | ${((prompt / prefillMs) * 1000).toFixed(1)} | ` +
        `${decodeMs.toFixed(1)} | ${(1000 / decodeMs).toFixed(1)} |`,
    );
    if (b.name === 'cpu') await benchOrt(model, ids, nLayer);
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

/** Prefill of the same weights in onnxruntime-web, if it is installed. */
async function benchOrt(model: GPT2LMHeadModel, ids: Int32Array, nLayer: number): Promise<void> {
  const spec = 'onnxruntime-web';
  // biome-ignore lint/suspicious/noExplicitAny: optional peer, loaded by name
  const ort: any = await import(spec).catch(() => null);
  if (!ort) {
    console.log('| onnxruntime-web (could not be imported: skipped) | | | | | |');
    return;
  }
  ort.env.wasm.numThreads = 2;
  const session = await ort.InferenceSession.create(exportOnnx(model));
  const feeds = { input_ids: new ort.Tensor('int32', ids, [1, ids.length]) };
  await session.run(feeds);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(
    `| onnxruntime-web wasm 2 threads, exportOnnx (this run) | ${nLayer} | ${best.toFixed(0)} | ${((ids.length / best) * 1000).toFixed(1)} | n/a (no KV-cache graph) | |`,
  );
  await session.release?.();
}
