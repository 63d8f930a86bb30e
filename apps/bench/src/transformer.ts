import '@attnkit/backend-cpu';
import { Generator, listBackends, manualSeed, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { exportOnnx, GPT2LMHeadModel } from '@attnkit/transformer';

/**
 * A GPT-2-124M-shaped model (12 layers, 768 wide, 12 heads, vocab 50257) with random weights:
 * prefill of 128 tokens and per-token decode with the KV cache, in tokens/s, on each registered
 * backend that can read synchronously, beside onnxruntime-web (wasm, 2 threads) running the same
 * weights through exportOnnx, when the `onnxruntime-web` package can be imported (the exported
 * graph has no KV-cache inputs, so only its prefill is comparable). The reference machine's
 * onnxruntime figures (REFERENCES.md) are printed for the order of magnitude.
 *
 * Settings: ATTNKIT_BENCH_GPT2_LAYERS (default 12) shrinks the model for quick runs.
 */
export async function benchTransformer(): Promise<void> {
  const layers = Number(process.env.ATTNKIT_BENCH_GPT2_LAYERS ?? 12);
  const prompt = 128;
  const decodeTokens = 16;
  console.log(
    `\n## transformer: GPT-2-124M shape (${layers} layers, 768 wide, 12 heads, vocab 50257), random weights, float32`,
  );
  console.log(
    '| backend | prefill 128 tokens ms | prefill tokens/s | decode ms/token (after 128) | decode tokens/s |',
  );
  console.log('|---|---|---|---|---|');
  const backends = listBackends().filter((b) => b === 'cpu');
  for (const name of backends) {
    setBackend(name);
    manualSeed(0);
    const model = new GPT2LMHeadModel({ nLayer: layers, nEmbd: 768, nHead: 12, vocabSize: 50257 }).eval();
    const g = new Generator(1);
    const ids = Int32Array.from({ length: prompt }, () => g.randint(0, 50257));
    const run = (): { prefillMs: number; decodeMs: number } => {
      const input = tensor(ids, [1, prompt], 'int32');
      const t0 = performance.now();
      const out = model.forward({ inputIds: input });
      out.logits.dataSync();
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
        tok = argmaxLast(logits.dataSync());
        logits.dispose();
        step.dispose();
      }
      const decodeMs = (performance.now() - t1) / decodeTokens;
      past?.dispose();
      return { prefillMs, decodeMs };
    };
    run(); // warm-up (JIT, packing scratch)
    const runs = [run(), run()];
    const prefillMs = Math.min(...runs.map((r) => r.prefillMs));
    const decodeMs = Math.min(...runs.map((r) => r.decodeMs));
    console.log(
      `| attnkit ${name} | ${prefillMs.toFixed(0)} | ${((prompt / prefillMs) * 1000).toFixed(1)} | ${decodeMs.toFixed(1)} | ${(1000 / decodeMs).toFixed(1)} |`,
    );
    if (name === 'cpu') await benchOrt(model, ids);
    model.dispose();
  }
  console.log(
    '| onnxruntime-web 1.30 wasm, 2 threads (REFERENCES.md, not this run) | 793 | 161 | 36.7 | 27 |',
  );
}

function argmaxLast(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Prefill of the same weights in onnxruntime-web, if it is installed. */
async function benchOrt(model: GPT2LMHeadModel, ids: Int32Array): Promise<void> {
  const spec = 'onnxruntime-web';
  // biome-ignore lint/suspicious/noExplicitAny: optional peer, loaded by name
  const ort: any = await import(spec).catch(() => null);
  if (!ort) {
    console.log('| onnxruntime-web (not installed in apps/bench: skipped) | | | | |');
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
    `| onnxruntime-web wasm 2 threads, exportOnnx (this run) | ${best.toFixed(0)} | ${((ids.length / best) * 1000).toFixed(1)} | n/a (no KV-cache graph) | |`,
  );
  await session.release?.();
}
