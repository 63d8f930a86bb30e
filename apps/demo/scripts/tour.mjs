#!/usr/bin/env node
// The attnkit tour: the course pipeline (text -> tokens -> embeddings + positions -> attention ->
// transformer blocks -> generation; noise -> denoising), run end to end on whatever the packages
// can do today. `pnpm start` builds every package and runs this file; it imports the BUILT packages
// (dist/), exactly as a user of the published packages would.
//
// Each stage is guarded: a stage whose package does not export what it needs yet says so and the
// tour goes on, so the output always shows the most complete thing the project can do right now.
// Usage: node apps/demo/scripts/tour.mjs ["your own sentence"]

const sentence = process.argv[2] ?? 'Attention is all you need.';
const width = Math.min(process.stdout.columns || 100, 100);
let failures = 0;
const shown = [];

function heading(n, title, pkg) {
  const text = `${n}. ${title}  (${pkg})`;
  console.log(`\n${text}\n${'─'.repeat(Math.min(text.length, width))}`);
}

/** Imports a package, or returns null and explains why (not built, or not exporting `names`). */
async function load(pkg, names) {
  let mod;
  try {
    mod = await import(pkg);
  } catch (err) {
    console.log(`  (skipped: ${pkg} could not be imported: ${firstLine(err)}; run \`pnpm build\`)`);
    return null;
  }
  const missing = names.filter((n) => typeof mod[n] === 'undefined');
  if (missing.length) {
    console.log(`  (not there yet: ${pkg} does not export ${missing.join(', ')})`);
    return null;
  }
  return mod;
}

/** Runs one stage; an error in a stage that exists is a real failure (exit code 1 at the end). */
async function stage(fn) {
  try {
    const ran = await fn();
    if (ran !== false) shown.push(fn.name);
  } catch (err) {
    failures++;
    console.log(`  FAILED: ${err?.stack ?? err}`);
  }
}

function firstLine(err) {
  return String(err?.message ?? err).split('\n')[0];
}

const fmt = (x, digits = 3) => (Number.isInteger(x) ? String(x) : x.toFixed(digits));
const show = (s) => JSON.stringify(s);

console.log('attnkit tour: from text to tokens, vectors, attention and generation; from noise to data');
console.log(`input sentence: ${show(sentence)}`);

// 1. text -> tokens --------------------------------------------------------------------------------
let tokens = null; // { ids, pieces }
await stage(async function tokenize() {
  heading(1, 'Text -> tokens: byte-level BPE as GPT-4 uses it', '@attnkit/tokenizer');
  const tk = await load('@attnkit/tokenizer', ['getEncoding']);
  if (!tk) return false;
  const name = 'cl100k_base';
  const enc = await tk.getEncoding(name);
  const ids = Array.from(enc.encode(sentence));
  const pieces = ids.map((id) => enc.decode([id]));
  tokens = { ids, pieces };
  console.log(
    `  encoding ${name}: ${ids.length} tokens for ${new TextEncoder().encode(sentence).length} bytes`,
  );
  for (let i = 0; i < ids.length; i++)
    console.log(`  ${String(i).padStart(3)}  ${String(ids[i]).padStart(7)}  ${show(pieces[i])}`);
  const back = enc.decode(ids);
  console.log(`  decode(encode(text)) === text: ${back === sentence}`);
  if (back !== sentence) throw new Error(`round trip changed the text: ${show(back)}`);
});

// 2. tensors: the numbers every later stage computes with -------------------------------------------
let tc = null;
await stage(async function tensors() {
  heading(2, 'Tensors: matmul and softmax on the CPU backend', '@attnkit/tensor-core + @attnkit/backend-cpu');
  const cpu = await load('@attnkit/backend-cpu', []);
  tc = await load('@attnkit/tensor-core', ['tensor', 'matmul', 'softmax']);
  if (!cpu || !tc) {
    tc = null;
    return false;
  }
  const a = tc.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const b = tc.tensor([[1], [0], [-1]]);
  const c = tc.matmul(a, b);
  console.log('  a = [[1, 2, 3], [4, 5, 6]], b = [[1], [0], [-1]]');
  console.log(`  a @ b = ${show(await c.array())}   (expected [[-2], [-2]])`);
  const logits = tc.tensor([2, 1, 0.1]);
  const p = Array.from(await tc.softmax(logits).data());
  console.log(
    `  softmax([2, 1, 0.1]) = [${p.map((x) => fmt(x, 4)).join(', ')}]   (expected [0.6590, 0.2424, 0.0986])`,
  );
  for (const t of [a, b, c, logits]) t.dispose?.();
});

// 3. tokens -> embeddings + positions -> attention --------------------------------------------------
await stage(async function attention() {
  heading(3, 'Embeddings + positions -> causal self-attention', '@attnkit/attention');
  if (!tc) {
    console.log('  (skipped: needs the tensors of stage 2)');
    return false;
  }
  const at = await load('@attnkit/attention', ['scaledDotProductAttention']);
  if (!at) return false;
  const ids = tokens?.ids ?? [0, 1, 2, 3, 4, 5];
  const labels = tokens?.pieces ?? ids.map((i) => `#${i}`);
  const L = ids.length;
  const d = 16;
  // A toy embedding table (seeded, so every run prints the same) plus the sinusoidal positions of
  // "Attention Is All You Need": PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(...).
  if (tc.manualSeed) tc.manualSeed(0);
  const vocab = 64;
  const table = tc.randn([vocab, d]);
  const tableValues = await table.data();
  const x = new Float32Array(L * d);
  for (let p = 0; p < L; p++) {
    const row = ids[p] % vocab;
    for (let i = 0; i < d; i++) {
      const angle = p / 10000 ** ((2 * Math.floor(i / 2)) / d);
      x[p * d + i] = 0.3 * tableValues[row * d + i] + (i % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
    }
  }
  const q = tc.tensor(Array.from(x), [1, 1, L, d]);
  const res = at.scaledDotProductAttention(q, q, q, { causal: true, returnWeights: true });
  const weights = res.weights ?? null;
  const output = res.output ?? res;
  console.log(`  ${L} tokens, model width ${d}: output shape [${output.shape.join(', ')}]`);
  if (weights) {
    const w = await weights.data();
    const label = (s) => show(s).slice(0, 12).padEnd(12);
    console.log('  causal attention weights (row: query token; columns: the keys it may see):');
    for (let i = 0; i < L; i++) {
      const row = [];
      for (let j = 0; j <= i; j++) row.push(w[i * L + j].toFixed(2));
      console.log(`  ${label(labels[i])} ${row.join(' ')}`);
    }
  }
  table.dispose?.();
  q.dispose?.();
});

// 4. transformer blocks -> generation ----------------------------------------------------------------
await stage(async function generation() {
  heading(
    4,
    'Transformer blocks -> generation: a GPT-2-shaped model, token by token',
    '@attnkit/transformer + @attnkit/sampling',
  );
  if (!tc) {
    console.log('  (skipped: needs the tensors of stage 2)');
    return false;
  }
  const tr = await load('@attnkit/transformer', ['GPT2LMHeadModel']);
  const sm = await load('@attnkit/sampling', ['generate']);
  const tk = await load('@attnkit/tokenizer', ['getEncoding']);
  if (!tr || !sm || !tk) return false;
  // r50k_base is GPT-2's own vocabulary. The weights are random (seeded), so the words are noise:
  // what this shows is the machinery (embeddings, blocks, KV cache, logits, sampling) end to end.
  const enc = await tk.getEncoding('r50k_base');
  if (tc.manualSeed) tc.manualSeed(0);
  const config = { vocabSize: 50257, nPositions: 64, nEmbd: 32, nLayer: 2, nHead: 4 };
  const model = new tr.GPT2LMHeadModel(config);
  const prompt = enc.encode(sentence);
  const t0 = performance.now();
  const out = await sm.generate(model, [prompt], {
    maxNewTokens: 8,
    doSample: true,
    topK: 50,
    temperature: 0.8,
    seed: 0,
  });
  const ms = performance.now() - t0;
  const generated = out.sequences[0].slice(prompt.length);
  console.log(
    `  untrained GPT-2 shape: ${config.nLayer} blocks, width ${config.nEmbd}, ${config.nHead} heads, vocab ${config.vocabSize}`,
  );
  console.log(`  prompt ids ${show(prompt)}`);
  console.log(
    `  sampled ${generated.length} tokens (topK 50, temperature 0.8, seed 0) in ${ms.toFixed(0)} ms: ${show(generated)}`,
  );
  console.log(`  as text: ${show(enc.decode(generated))}`);
});

// 5. noise -> denoising ------------------------------------------------------------------------------
await stage(async function diffusion() {
  heading(5, 'Noise -> denoising: a diffusers-equal scheduler', '@attnkit/diffusion');
  const df = await load('@attnkit/diffusion', ['DDPMScheduler']);
  if (!df) return false;
  const scheduler = new df.DDPMScheduler({ numTrainTimesteps: 1000 });
  scheduler.setTimesteps(10);
  const ts = scheduler.timesteps;
  const steps = typeof ts?.data === 'function' ? Array.from(await ts.data()) : Array.from(ts);
  console.log(`  DDPM, 1000 training steps, 10 inference steps: timesteps ${show(steps)}`);
});

console.log(
  `\nstages shown: ${shown.length ? shown.join(', ') : 'none yet'}${failures ? `; ${failures} FAILED` : ''}`,
);
process.exitCode = failures ? 1 : 0;
