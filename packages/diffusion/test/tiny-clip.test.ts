// The tiny CLIP that scripts/train-tiny-clip.mjs trained contrastively on makeShapes images and
// captions of the class names (its save_pretrained folder, test/fixtures/tiny-clip/): loaded with
// @attnkit/transformer's loadPretrained, it classifies the script's 1,000 held-out images zero-shot
// (the class whose prompt "a <class>" is most similar) as accurately as training.json states.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Generator, type Tensor, tensor } from '@attnkit/tensor-core';
import { CLIPModel, loadPretrained } from '@attnkit/transformer';
import { describe, expect, it } from 'vitest';
import { makeShapes, SHAPE_CLASSES } from '../src/index.js';

const dir = fileURLToPath(new URL('./fixtures/tiny-clip/', import.meta.url));
const training = JSON.parse(readFileSync(`${dir}training.json`, 'utf8')) as {
  seed: number;
  vocabulary: string[];
  heldOutImages: number;
  heldOutZeroShotAccuracy: number;
};

function encode(text: string, length: number): number[] {
  const id = (w: string) => {
    const i = training.vocabulary.indexOf(w);
    if (i < 0) throw new Error(`word '${w}' is not in the tiny CLIP's vocabulary`);
    return i;
  };
  const ids = [id('<|startoftext|>'), ...text.split(' ').map(id), id('<|endoftext|>')];
  while (ids.length < length) ids.push(id('<|endoftext|>'));
  return ids;
}

describe('tiny CLIP trained on the shapes (scripts/train-tiny-clip.mjs)', () => {
  it('classifies the held-out shapes zero-shot from "a <class>" prompts as training.json states', async () => {
    const clip = await loadPretrained(dir);
    expect(clip).toBeInstanceOf(CLIPModel);
    const model = clip as CLIPModel;
    const k = SHAPE_CLASSES.length;
    const length = model.config.textConfig.maxPositionEmbeddings;
    const prompts = tensor(
      SHAPE_CLASSES.map((c) => encode(`a ${c}`, length)),
      undefined,
      'int32',
    );
    // the script's held-out images: seed · 1000 + 12
    const heldOut = makeShapes(training.heldOutImages, {
      generator: new Generator(training.seed * 1000 + 12),
    });
    const want = await heldOut.labels.data();
    const out = model.forward({ inputIds: prompts, pixelValues: heldOut.images });
    const logits = await out.logitsPerImage.data(); // [n, k]
    let correct = 0;
    for (let i = 0; i < want.length; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
      if (best === want[i]) correct++;
    }
    const accuracy = correct / want.length;
    expect(accuracy).toBeCloseTo(training.heldOutZeroShotAccuracy, 6);
    expect(accuracy).toBeGreaterThan(0.95); // chance is 0.1
    const dispose = (x: unknown): void => {
      if (x && typeof x === 'object') {
        if ((x as Tensor).isTensor === true) (x as Tensor).dispose();
        else for (const v of Object.values(x)) dispose(v);
      }
    };
    dispose([out, prompts, heldOut]);
    model.dispose();
  });
});
