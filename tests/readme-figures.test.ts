// The figures the READMEs state about the embedded models come from their source of truth: the
// models themselves (parameter counts, alphabets) and the training reports shipped beside them
// (training.json), which the packages' tests recompute from the shipped files
// (packages/transformer/test/tiny-gpt.test.ts and tiny-t5.test.ts, packages/diffusion/test/
// tiny-clip.test.ts). Retraining a model without updating its README fails here.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTinyShapesModel } from '@attnkit/diffusion';
import { loadTinyGPT, loadTinyT5, tinyGPTReport, tinyT5Report } from '@attnkit/transformer';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
/** A README with its line breaks and runs of spaces made single spaces, so a figure may wrap. */
const readme = (path: string) => readFileSync(`${root}${path}`, 'utf8').replace(/\s+/g, ' ');
const json = (path: string) => JSON.parse(readFileSync(`${root}${path}`, 'utf8'));
const thousands = (n: number) => n.toLocaleString('en-US');

describe('README figures about the embedded models', () => {
  it('the tiny GPT: parameters, alphabet and losses (README.md, packages/transformer/README.md)', async () => {
    const { model, tokenizer } = await loadTinyGPT();
    const report = await tinyGPTReport();
    const params = model.numParameters();
    expect(params).toBe(report.parameters);
    const v = tokenizer.vocabSize;
    const loss = report.finalValidationLoss.toFixed(3);
    const bigram = report.baselines.bigramAdd1.toFixed(3);
    const top = readme('README.md');
    expect(top).toContain(`a ${thousands(params)}-parameter character-level GPT-2`);
    expect(top).toContain(`held-out loss ${loss} nats/char against ${bigram} for bigram counts`);
    expect(top).toContain(`${v}-character alphabet`);
    const pkg = readme('packages/transformer/README.md');
    expect(pkg).toContain(`${thousands(params)} parameters (${v} characters)`);
    expect(pkg).toContain(`${thousands(report.characters)}-character corpus`);
    expect(pkg).toContain(`| uniform over ${v} characters | ${report.baselines.uniform.toFixed(3)} |`);
    expect(pkg).toContain(`| unigram (train counts, add-one) | ${report.baselines.unigramAdd1.toFixed(3)} |`);
    expect(pkg).toContain(`| bigram (train counts, add-one) | ${bigram} |`);
    expect(pkg).toContain(`| **tiny GPT** | **${loss}** |`);
    model.dispose();
  });

  it('the tiny T5: parameters and held-out exact match (packages/transformer/README.md)', async () => {
    const { model } = await loadTinyT5();
    const report = await tinyT5Report();
    expect(model.numParameters()).toBe(report.parameters);
    const pkg = readme('packages/transformer/README.md');
    expect(pkg).toContain(`${thousands(report.parameters)} parameters`);
    expect(pkg).toContain(`exactly right ${Math.round(report.heldOutExactMatch * 100)}% of the time`);
    model.dispose();
  });

  it('the tiny shapes model and the tiny CLIP (packages/diffusion/README.md, packages/transformer/README.md)', async () => {
    const { unet } = await loadTinyShapesModel();
    const report = json('packages/diffusion/assets/tiny-shapes/training.json');
    const params = unet.numParameters();
    expect(params).toBe(report.unet.parameters);
    const diffusion = readme('packages/diffusion/README.md');
    expect(diffusion).toContain(`${Math.round(params / 1000)}k parameters`);
    expect(diffusion).toContain(
      `${Math.round(report.evaluation.recognisedByClassifier * 100)}/100 class-conditioned`,
    );
    unet.dispose();
    const clip = json('packages/diffusion/test/fixtures/tiny-clip/training.json');
    const transformer = readme('packages/transformer/README.md');
    expect(transformer).toContain(`**${(clip.heldOutZeroShotAccuracy * 100).toFixed(1)}%** accuracy`);
    expect(transformer).toContain(`(${thousands(clip.heldOutImages)} held-out images`);
  });
});
