// Prefill of 128 tokens on the GPT-2-124M shape (random weights): attnkit cpu (all cores) against
// onnxruntime-web (wasm, 2 threads, exportOnnx of the same model), interleaved, wall and process CPU
// time (process.cpuUsage, all threads), best of `rounds` after a warm-up. Needs a build. `pack`:
// the CPU backend packs the weights once (CpuBackend's packWeights).
//   cd apps/bench && node scripts/prefill-timing.mjs [rounds=3] [layers=12] [pack]
import '@attnkit/backend-cpu';
import { Generator, getBackend, manualSeed, tensor } from '@attnkit/tensor-core';
import { exportOnnx, GPT2LMHeadModel } from '@attnkit/transformer';

const rounds = Number(process.argv[2] ?? 3);
const nLayer = Number(process.argv[3] ?? 12);
getBackend().packWeights = process.argv[4] === 'pack';
const shape = { nEmbd: 768, nHead: 12, vocabSize: 50257 };
await getBackend().ready?.();
manualSeed(0);
const model = new GPT2LMHeadModel({ nLayer, ...shape }).eval();
const g = new Generator(1);
const ids = Int32Array.from({ length: 128 }, () => g.randint(0, shape.vocabSize));
const ort = await import('onnxruntime-web');
ort.env.wasm.numThreads = 2;
const session = await ort.InferenceSession.create(exportOnnx(model));
const feeds = { input_ids: new ort.Tensor('int32', ids, [1, 128]) };
const time = async (f) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return [performance.now() - t0, (c.user + c.system) / 1000];
};
const ak = async () => {
  const input = tensor(ids, [1, 128], 'int32');
  const out = model.forward({ inputIds: input });
  await out.logits.data();
  out.logits.dispose();
  out.pastKeyValues?.dispose();
  input.dispose();
};
const on = async () => {
  await session.run(feeds);
};
const best = { ak: [1e9, 1e9], ort: [1e9, 1e9] };
for (let r = -1; r < rounds; r++) {
  const a = await time(ak);
  const o = await time(on);
  console.log(
    `round ${r}: attnkit wall ${a[0].toFixed(0)} cpu ${a[1].toFixed(0)} | ort wall ${o[0].toFixed(0)} cpu ${o[1].toFixed(0)}`,
  );
  if (r < 0) continue;
  best.ak = [Math.min(best.ak[0], a[0]), Math.min(best.ak[1], a[1])];
  best.ort = [Math.min(best.ort[0], o[0]), Math.min(best.ort[1], o[1])];
}
console.log(
  `best: attnkit wall ${best.ak[0].toFixed(0)} cpu ${best.ak[1].toFixed(0)} | ort wall ${best.ort[0].toFixed(0)} cpu ${best.ort[1].toFixed(0)} | speed ratio wall ${(best.ort[0] / best.ak[0]).toFixed(2)} cpu ${(best.ort[1] / best.ak[1]).toFixed(2)}`,
);
await session.release();
process.exit(0);
