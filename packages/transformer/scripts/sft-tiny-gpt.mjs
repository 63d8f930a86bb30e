#!/usr/bin/env node
// Supervised fine-tuning with LoRA, end to end on the embedded tiny GPT (a character-level GPT-2
// pre-trained on assets/corpus/fables.txt): an instruction-style data set written from the corpus,
// "Moral of <TITLE>?\n" -> "<the fable's moral>\n", trained with the loss masked to the answer
// (sftCollator + causalLMLoss) and LoRA adapters on every attention and MLP layer (all other
// weights frozen). Prints the answer-only loss, the share of morals recalled exactly (greedy) and a
// few samples, before and after, for training titles and held-out ones. Seeded: the same seed
// prints the same numbers.
//
//   TURBO_CACHE_DIR=/work/.turbo-cache npx turbo run build --filter=@attnkit/transformer...
//   node packages/transformer/scripts/sft-tiny-gpt.mjs [--steps 100] [--seed 1] [--out DIR]
//
// --out DIR saves the adapter in PEFT's layout (adapter_config.json + adapter_model.safetensors).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../backend-cpu/dist/index.js';
import { generate } from '../../sampling/dist/index.js';
import { Generator, manualSeed } from '../../tensor-core/dist/index.js';
import { countParameters } from '../../tensor-core/dist/nn/index.js';
import {
  applyLora,
  causalLMLoss,
  evaluate,
  exampleBatches,
  loadTinyGPT,
  saveLoraAdapter,
  sftCollator,
  train,
} from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const steps = Number(opt('steps', 100));
const seed = Number(opt('seed', 1));
const out = opt('out', null);
const t0 = Date.now();

// ---- the data set: title -> moral, from the corpus (TITLE, body, moral paragraphs)
const here = dirname(fileURLToPath(import.meta.url));
const text = readFileSync(join(here, '../assets/corpus/fables.txt'), 'utf8');
const blocks = text
  .split('\n\n')
  .map((b) => b.trim())
  .filter(Boolean);
const isTitle = (b) => /^[A-Z][A-Z ,'-]+$/.test(b);
const starts = blocks.flatMap((b, i) => (isTitle(b) ? [i] : []));
const { model, tokenizer } = await loadTinyGPT();
const context = model.config.nPositions;
const prompt = (title) => `Moral of ${title}?\n`;
const pairs = starts
  .map((s, k) => ({ title: blocks[s], moral: blocks[(starts[k + 1] ?? blocks.length) - 1] }))
  .filter(({ title, moral }) => prompt(title).length + moral.length + 1 <= context);
// seeded shuffle, then hold out 8 fables
const g = new Generator(seed);
for (let i = pairs.length - 1; i > 0; i--) {
  const j = g.randint(0, i + 1);
  [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
}
const heldOut = pairs.slice(0, 8);
const trainPairs = pairs.slice(8);
const encode = ({ title, moral }) => ({
  prompt: tokenizer.encode(prompt(title)),
  answer: tokenizer.encode(`${moral}\n`),
});
const collate = sftCollator({ maxLength: context });
const evalBatches = (ps) => {
  const rows = ps.map(encode);
  return Array.from({ length: Math.ceil(rows.length / 16) }, (_, i) => rows.slice(i * 16, i * 16 + 16));
};
const answerLoss = (ps) => evaluate(model, evalBatches(ps), (m, rows) => causalLMLoss(m, collate(rows)));
console.log(
  `data: ${pairs.length} title -> moral pairs from fables.txt (${trainPairs.length} train, ${heldOut.length} held out); prompt ${JSON.stringify(prompt('THE FOX AND THE LANTERN'))}`,
);

// ---- greedy answers, stopped at the newline
const newline = tokenizer.encode('\n')[0];
async function answer(title) {
  const ids = tokenizer.encode(prompt(title));
  const { sequences } = await generate(model, [ids], {
    maxNewTokens: context - ids.length,
    eosTokenId: newline,
  });
  return tokenizer.decode(sequences[0].slice(ids.length)).replace(/\n$/, '');
}
async function report(label) {
  const exact = async (ps) => {
    let n = 0;
    for (const p of ps) if ((await answer(p.title)) === p.moral) n++;
    return n;
  };
  const trainLoss = await answerLoss(trainPairs);
  const heldLoss = await answerLoss(heldOut);
  console.log(`\n== ${label}`);
  console.log(
    `answer-only loss: train ${trainLoss.toFixed(4)}, held out ${heldLoss.toFixed(4)} (nats/char); exact morals (greedy): train ${await exact(trainPairs)}/${trainPairs.length}, held out ${await exact(heldOut)}/${heldOut.length}`,
  );
  for (const p of [...trainPairs.slice(0, 3), ...heldOut.slice(0, 2)]) {
    const tag = heldOut.includes(p) ? 'held out' : 'train';
    console.log(`  [${tag}] ${p.title}\n     want: ${p.moral}\n      got: ${await answer(p.title)}`);
  }
}

model.eval();
await report('before fine-tuning (the pre-trained tiny GPT)');

// ---- LoRA + supervised fine-tuning on the answers
manualSeed(seed);
applyLora(model, { r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ['c_attn', 'c_proj', 'c_fc'] });
const { trainable, total } = countParameters(model);
console.log(
  `\nLoRA r=8 alpha=16 on c_attn, c_proj, c_fc: ${trainable} trainable of ${total} parameters (${((100 * trainable) / total).toFixed(1)}%)`,
);
const result = await train(model, {
  batches: exampleBatches(trainPairs.map(encode), 8, collate, { seed }),
  loss: causalLMLoss,
  maxSteps: steps,
  lr: 1e-2,
  warmupSteps: 10,
  weightDecay: 0,
  onProgress: (p) => {
    if (p.step % 20 === 0 || p.step === steps) {
      console.log(`  step ${p.step}/${steps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(1)}`);
    }
  },
});
await report(`after ${steps} steps of LoRA fine-tuning (${(result.elapsedMs / 1000).toFixed(1)} s)`);
if (out) {
  await saveLoraAdapter(model, out);
  console.log(`\nadapter saved to ${out} (PEFT layout)`);
}
console.log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(1)} s, seed ${seed}`);
