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
    'Transformer blocks -> generation: the embedded tiny GPT, character by character',
    '@attnkit/transformer + @attnkit/sampling',
  );
  if (!tc) {
    console.log('  (skipped: needs the tensors of stage 2)');
    return false;
  }
  const tr = await load('@attnkit/transformer', ['loadTinyGPT', 'tinyGPTReport']);
  const sm = await load('@attnkit/sampling', ['stream', 'generate']);
  if (!tr || !sm) return false;
  // The model ships inside @attnkit/transformer (assets/tiny-gpt): no download. It is a GPT-2
  // trained on a small corpus of fables, one token per character.
  const { model, tokenizer } = await tr.loadTinyGPT();
  const c = model.config;
  const params = model.numParameters?.() ?? null;
  console.log(
    `  tiny GPT: ${c.nLayer} blocks, width ${c.nEmbd}, ${c.nHead} heads, ${c.nPositions} positions, ` +
      `${tokenizer.vocabSize} characters${params ? `, ${params.toLocaleString('en-US')} parameters` : ''}`,
  );
  const report = await tr.tinyGPTReport().catch(() => null);
  if (report?.finalValidationLoss !== undefined) {
    const b = report.baselines ?? {};
    console.log(
      `  held-out loss ${fmt(report.finalValidationLoss)} nats/char` +
        (b.bigramAdd1 !== undefined
          ? ` (bigram counts ${fmt(b.bigramAdd1)}, unigram ${fmt(b.unigramAdd1)}, uniform ${fmt(b.uniform)})`
          : '') +
        ` after ${report.settings?.steps ?? '?'} training steps on ${report.characters ?? '?'} characters of fables`,
    );
  }

  // The prompt: the sentence, if the model knows every character of it; otherwise a fable opening.
  const alphabet = new Set(tokenizer.chars);
  const unknown = [...new Set(Array.from(sentence).filter((ch) => !alphabet.has(ch)))];
  let prompt = /[.!?]$/.test(sentence) ? `${sentence} ` : sentence;
  if (unknown.length || sentence.length === 0) {
    prompt = 'THE FOX AND THE ';
    console.log(
      `  the sentence has characters outside the model's ${alphabet.size}-character alphabet ` +
        `(${unknown.map(show).join(' ')}), so the prompt is a fable opening instead`,
    );
  }
  // The model has learned positions 0..nPositions-1 only: a longer text slides a window over it,
  // starting each window from the last CONTEXT characters (a fresh KV cache per window).
  const CONTEXT = Math.min(64, c.nPositions - 1);
  if (prompt.length > CONTEXT) {
    prompt = prompt.slice(-CONTEXT);
    console.log(`  (the model sees ${c.nPositions} characters at most: the prompt is the last ${CONTEXT})`);
  }
  const settings = { doSample: true, temperature: 0.8, topK: 40, topP: 0.95 };
  const seed = 7;
  console.log(
    `  sampling: temperature ${settings.temperature}, top-k ${settings.topK}, top-p ${settings.topP}, seed ${seed}`,
  );

  // What the processors do to the first character's distribution (traceTopN): top candidates.
  const traced = await sm.generate(model, [tokenizer.encode(prompt)], {
    ...settings,
    maxNewTokens: 1,
    seed,
    traceTopN: 5,
  });
  const steps = traced.trace?.[0]?.[0];
  if (steps?.length) {
    const line = (cands) =>
      cands.map((k) => `${show(tokenizer.decode([k.tokenId]))} ${(100 * k.prob).toFixed(1)}%`).join('  ');
    console.log('  next-character candidates for the prompt, before and after each processor:');
    console.log(`    ${'model'.padEnd(12)} ${line(steps[0].before)}`);
    for (const s of steps) console.log(`    ${s.processor.padEnd(12)} ${line(s.after)}`);
  }

  const total = 200;
  const generator = new tc.Generator(seed);
  let ids = tokenizer.encode(prompt);
  const generated = [];
  let windows = 0;
  // Streams text indented by two spaces, breaking long lines at a space.
  let column = 0;
  const writeWrapped = (piece) => {
    for (const ch of piece) {
      if (ch === '\n' || (ch === ' ' && column >= width - 24)) {
        process.stdout.write('\n');
        column = 0;
      } else {
        process.stdout.write(column === 0 ? `  ${ch}` : ch);
        column++;
      }
    }
  };
  console.log('');
  writeWrapped(prompt);
  const t0 = performance.now();
  while (generated.length < total) {
    const context = ids.slice(-CONTEXT);
    const n = Math.min(total - generated.length, c.nPositions - context.length);
    windows++;
    for await (const chunk of sm.stream(model, [context], {
      ...settings,
      maxNewTokens: n,
      generator,
      tokenizer,
    })) {
      generated.push(chunk.tokenIds[0]);
      writeWrapped(chunk.text[0]);
    }
    ids = ids.concat(generated.slice(generated.length - n));
  }
  const seconds = (performance.now() - t0) / 1000;
  const text = tokenizer.decode(generated);
  console.log('\n');
  console.log(
    `  ${generated.length} characters in ${seconds.toFixed(2)} s: ${(generated.length / seconds).toFixed(0)} tokens/s ` +
      `(${windows} window${windows === 1 ? '' : 's'} of at most ${c.nPositions} positions, KV cache within each)`,
  );
  const outside = Array.from(text).filter((ch) => !alphabet.has(ch));
  if (outside.length) throw new Error(`generated characters outside the alphabet: ${show(outside.join(''))}`);
  // The same text in GPT-2's own BPE vocabulary (stage 1's tokenizer): how many tokens it would be.
  const tk = await import('@attnkit/tokenizer').catch(() => null);
  if (tk?.getEncoding) {
    const r50k = await tk.getEncoding('r50k_base');
    console.log(
      `  the same ${text.length} characters are ${r50k.encode(text).length} tokens in GPT-2's r50k_base BPE ` +
        `(this model: one token per character)`,
    );
  }
  model.dispose?.();
});

// 5. noise -> denoising ------------------------------------------------------------------------------
await stage(async function diffusion() {
  heading(5, 'Noise -> denoising: the embedded tiny shapes model', '@attnkit/diffusion');
  const df = await load('@attnkit/diffusion', ['DDPMScheduler']);
  if (!df) return false;
  const scheduler = new df.DDPMScheduler({ numTrainTimesteps: 1000 });
  scheduler.setTimesteps(10);
  const ts = scheduler.timesteps;
  const steps = typeof ts?.data === 'function' ? Array.from(await ts.data()) : Array.from(ts);
  console.log(`  DDPM, 1000 training steps, 10 inference steps: timesteps ${show(steps)}`);

  const names = ['loadTinyShapesPipeline', 'loadShapeClassifier', 'TINY_SHAPES_CLASSES'];
  if (names.some((n) => typeof df[n] === 'undefined')) {
    console.log(`  (not there yet: @attnkit/diffusion does not export ${names.join(', ')})`);
    return;
  }
  if (!tc) {
    console.log('  (skipped the tiny model: needs the tensors of stage 2)');
    return;
  }
  const pipe = await df.loadTinyShapesPipeline();
  const classifier = await df.loadShapeClassifier();
  const classes = df.TINY_SHAPES_CLASSES;
  const numSteps = 20;
  const seed = 1;
  const watched = Math.min(5, classes.length - 1); // the sample shown step by step
  const side = pipe.unet.config.sampleSize;
  const frames = [];
  const keepAt = new Set([0, 4, 9, 14, numSteps - 1]);
  console.log(
    `  a class-conditional U-Net (${pipe.unet.numParameters().toLocaleString('en-US')} parameters, ${side}×${side} grayscale), ` +
      `one image per class, DDIM ${numSteps} steps, seed ${seed}`,
  );
  const t0 = performance.now();
  const { sample } = await pipe.generate({
    classLabels: classes.map((_, i) => i),
    numInferenceSteps: numSteps,
    generator: new tc.Generator(seed),
    onStep: async ({ step, timestep, sample: x }) => {
      if (!keepAt.has(step)) return;
      const all = await x.data();
      frames.push({ step, timestep, pixels: all.slice(watched * side * side, (watched + 1) * side * side) });
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const values = await sample.data();
  const logits = classifier.forward(sample);
  const scores = await logits.data();
  logits.dispose();
  const k = classes.length;
  const verdicts = classes.map((_, i) => {
    const row = Array.from(scores.slice(i * k, (i + 1) * k));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    const best = row.indexOf(m);
    return { best, prob: e[best] / z };
  });
  const recognised = verdicts.filter((v, i) => v.best === i).length;
  console.log(
    `  ${classes.length} images in ${seconds.toFixed(1)} s; the classifier's verdicts under each:\n`,
  );
  const images = classes.map((_, i) => values.slice(i * side * side, (i + 1) * side * side));
  const labels = classes.map((name, i) => {
    const v = verdicts[i];
    return v.best === i
      ? `✓ ${name} ${(100 * v.prob).toFixed(0)}%`
      : `✗ asked ${name}, seen ${classes[v.best]} ${(100 * v.prob).toFixed(0)}%`;
  });
  printRow(images.slice(0, 5), side, labels.slice(0, 5));
  printRow(images.slice(5), side, labels.slice(5));
  console.log(`  recognised by the classifier: ${recognised}/${classes.length}`);
  console.log(
    `\n  the ${classes[watched]} step by step (x_t after DDIM steps ${[...keepAt].map((s) => s + 1).join(', ')}):\n`,
  );
  printRow(
    frames.map((f) => f.pixels),
    side,
    frames.map((f) => `after step ${f.step + 1}`),
  );
  sample.dispose();
});

/**
 * Prints grayscale images in [-1, 1] side by side, two pixel rows per text line: with colour (a TTY
 * without NO_COLOR) as '▀' cells in 24 grey levels, otherwise thresholded at the middle of each image's range to '▀', '▄', '█', ' '.
 */
function printRow(images, side, labels) {
  const colour = process.stdout.isTTY && !process.env.NO_COLOR;
  const grey = (v) => 232 + Math.round((Math.min(1, Math.max(-1, v)) + 1) * 11.5);
  const gap = '  ';
  // Without colour, a pixel is 'on' above the midpoint of its image's range (strokes vary in brightness).
  const thresholds = images.map((img) => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const v of img) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return (lo + hi) / 2;
  });
  const cell = Math.max(side, ...labels.map((l) => l.length)) + 2;
  for (let y = 0; y < side; y += 2) {
    let line = '  ';
    for (const [i, img] of images.entries()) {
      const on = thresholds[i];
      let part = '';
      for (let x = 0; x < side; x++) {
        const top = img[y * side + x];
        const bottom = y + 1 < side ? img[(y + 1) * side + x] : Number.NEGATIVE_INFINITY;
        if (colour) part += `\x1b[38;5;${grey(top)}m\x1b[48;5;${grey(bottom)}m▀`;
        else part += top > on ? (bottom > on ? '█' : '▀') : bottom > on ? '▄' : ' ';
      }
      if (colour) part += '\x1b[0m';
      line += part + ' '.repeat(cell - side) + gap;
    }
    console.log(line.trimEnd());
  }
  console.log(`  ${labels.map((l) => l.padEnd(cell)).join(gap)}`.trimEnd());
  console.log('');
}

console.log(
  `\nstages shown: ${shown.length ? shown.join(', ') : 'none yet'}${failures ? `; ${failures} FAILED` : ''}`,
);
process.exitCode = failures ? 1 : 0;
