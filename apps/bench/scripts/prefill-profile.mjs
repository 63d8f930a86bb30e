// Where a GPT-2-124M-shaped prefill of 128 tokens spends its time on attnkit's cpu backend: every
// Backend method the forward calls is wrapped with a wall-clock timer (the CPU backend's kernels
// are synchronous, so a method's wall time is its kernel's), summed over `rounds` prefills after a
// warm-up, products split by kind (shape and epilogue). Needs a build.
//   cd apps/bench && node scripts/prefill-profile.mjs [rounds=3] [threads=all] [prompt=128] [clock=wall|cpu] [pack]
import { CpuBackend } from '@attnkit/backend-cpu';
import { Generator, manualSeed, registerBackend, setBackend, tensor } from '@attnkit/tensor-core';
import { GPT2LMHeadModel } from '@attnkit/transformer';

const rounds = Number(process.argv[2] ?? 3);
const threads = process.argv[3] ? Number(process.argv[3]) : undefined;
const prompt = Number(process.argv[4] ?? 128);
const backend = new CpuBackend({ threads, packWeights: process.argv[6] === 'pack' });
registerBackend('cpu-prof', () => backend, 0);
setBackend('cpu-prof');
await backend.ready();
const shape = { nEmbd: 768, nHead: 12, vocabSize: 50257 };
manualSeed(0);
const model = new GPT2LMHeadModel({ nLayer: 12, ...shape }).eval();
const ids = Int32Array.from({ length: prompt }, () => new Generator(1).randint(0, shape.vocabSize));

// CPU time of the process (all threads) when `cpu` is given: steadier than wall time on a busy machine.
const useCpu = process.argv[5] === 'cpu';
const clock = useCpu
  ? () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
  : () => performance.now();
const totals = new Map();
let on = false;
const proto = CpuBackend.prototype;
for (const name of Object.getOwnPropertyNames(proto)) {
  if (name === 'constructor' || typeof proto[name] !== 'function') continue;
  if (
    [
      'heapProduct',
      'plainMatmul',
      'compressedLinear',
      'product',
      'convProduct',
      'convLoops',
      'heapAttention',
    ].includes(name)
  )
    continue;
  const f = proto[name];
  proto[name] = function (...args) {
    if (!on) return f.apply(this, args);
    let key = name;
    if (name === 'linear' || name === 'matmul') {
      const [, b, batch, m, k, n, bias, act] = args;
      key = `${name} b${batch.join('x') || 1} m${m} k${k} n${n}${bias ? ' +bias' : ''}${act ? ` ${act}` : ''} sb=[${b.strides.slice(-2)}]`;
    } else if (name === 'binary' || name === 'unary' || name === 'reduce') key = `${name} ${args[0]}`;
    const t0 = clock();
    const r = f.apply(this, args);
    const dt = clock() - t0;
    const e = totals.get(key) ?? { ms: 0, calls: 0 };
    e.ms += dt;
    e.calls++;
    totals.set(key, e);
    return r;
  };
}
const run = async () => {
  const input = tensor(ids, [1, prompt], 'int32');
  const t0 = clock();
  const out = model.forward({ inputIds: input });
  await out.logits.data();
  const ms = clock() - t0;
  out.logits.dispose();
  out.pastKeyValues?.dispose();
  input.dispose();
  return ms;
};
await run();
await run(); // the second use packs the weights (packWeights)
on = true;
let wall = 0;
const walls = [];
for (let r = 0; r < rounds; r++) {
  const ms = await run();
  walls.push(ms.toFixed(0));
  wall += ms;
}
const rows = [...totals].sort((x, y) => y[1].ms - x[1].ms);
const kernels = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(
  `threads ${backend.threads}, prompt ${prompt}, ${rounds} rounds: wall per prefill ${(wall / rounds).toFixed(1)} ms (${walls.join(', ')}), in backend methods ${(kernels / rounds).toFixed(1)} ms`,
);
for (const [key, e] of rows)
  console.log(
    `${(e.ms / rounds).toFixed(1).padStart(8)} ms ${((100 * e.ms) / wall).toFixed(1).padStart(5)}%  ${String(e.calls / rounds).padStart(4)} calls  ${key}`,
  );
process.exit(0);
