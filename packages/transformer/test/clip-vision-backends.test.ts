// CLIP's image side on the GPU backends (issue 20): CLIPVisionModel, CLIPVisionModelWithProjection
// and CLIPModel loaded onto webgpu (SwiftShader in Node) and gpujs (gpu.js' CPU mode in Node), their
// outputs against transformers 5.18 (the fixtures of clip-vision.test.ts, written by
// scripts/clip_vision_refs.py), and the gradients of CLIPModel's contrastive loss against torch's
// loss.backward(); at the GPU tolerance, 1e-3 relative with a 1e-4 absolute floor.
import '@attnkit/backend-cpu';
import { existsSync } from 'node:fs';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { type Backend, setBackend, type Tensor } from '@attnkit/tensor-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  CLIPModel,
  CLIPVisionModel,
  CLIPVisionModelWithProjection,
  clipLoss,
  loadPretrained,
} from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 300_000 });
afterAll(() => setBackend('cpu'));

const GPU_RTOL = 1e-3;
const GPU_ATOL = 1e-4;

async function expectClose(
  backend: string,
  key: string,
  got: Tensor,
  want: { shape: number[]; data: ArrayLike<number> },
): Promise<void> {
  expect(got.backend.name, key).toBe(backend);
  expect(got.shape, key).toEqual(want.shape);
  const c = closeness(await got.data(), want.data, () => true, GPU_RTOL, GPU_ATOL);
  expect(c.compared).toBe(want.data.length);
  expect(c.ratio, `${key} on ${backend}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

function disposeAll(x: unknown): void {
  if (!x || typeof x !== 'object') return;
  if ((x as Tensor).isTensor === true) (x as Tensor).dispose();
  else for (const v of Object.values(x)) disposeAll(v);
}

const backends: Array<[string, () => Promise<Backend>]> = [
  ['webgpu', () => initWebGPU({ priority: -1 })],
  ['gpujs', () => initGpuJs({ priority: -1 })],
];

describe.each(backends)('CLIP vision on %s: transformers 5.18 parity (1e-3 relative)', (name, init) => {
  const use = async () => {
    await init();
    setBackend(name);
  };

  for (const [fixture, cls] of [
    ['hfclip-vision', CLIPVisionModel],
    ['hfclip-vision-proj', CLIPVisionModelWithProjection],
  ] as const) {
    it(`${fixture}: ${cls.name} outputs`, async () => {
      await use();
      const fx = loadFixture(fixture);
      const model = await loadPretrained(fx.dir);
      expect(model).toBeInstanceOf(cls);
      const pixelValues = fx.tensor('pixel_values');
      const out = (model as CLIPVisionModelWithProjection).forward({ pixelValues });
      await expectClose(name, 'last_hidden_state', out.lastHiddenState, fx.array('last_hidden_state'));
      if (fx.has('pooler_output'))
        await expectClose(name, 'pooler_output', out.poolerOutput, fx.array('pooler_output'));
      if (fx.has('image_embeds'))
        await expectClose(name, 'image_embeds', out.imageEmbeds, fx.array('image_embeds'));
      disposeAll(out);
      pixelValues.dispose();
      model.dispose();
    });
  }

  it('hfclip-model: CLIPModel logits, embeddings, loss, and the gradients of the loss', async () => {
    await use();
    const fx = loadFixture('hfclip-model');
    const clip = (await loadPretrained(fx.dir)) as CLIPModel;
    expect(clip).toBeInstanceOf(CLIPModel);
    const inputs = {
      inputIds: fx.tensor('input_ids'),
      attentionMask: fx.tensor('attention_mask'),
      pixelValues: fx.tensor('pixel_values'),
    };
    const out = clip.forward({ ...inputs, returnLoss: true });
    for (const [key, got] of [
      ['logits_per_image', out.logitsPerImage],
      ['logits_per_text', out.logitsPerText],
      ['text_embeds', out.textEmbeds],
      ['image_embeds', out.imageEmbeds],
      ['loss', (out.loss as Tensor).reshape([1])],
    ] as const) {
      await expectClose(name, key, got, fx.array(key));
    }
    disposeAll(out);

    clip.train(); // dropout is 0: the same function, with the graph recorded
    const trained = clip.forward(inputs);
    const loss = clipLoss(trained.logitsPerText);
    await expectClose(name, 'loss (clipLoss)', loss.reshape([1]), fx.array('loss'));
    loss.backward();
    const grad = (t: Tensor) => t.grad as Tensor;
    await expectClose(
      name,
      'grad logit_scale',
      grad(clip.logit_scale).reshape([1]),
      fx.array('grad_logit_scale'),
    );
    await expectClose(
      name,
      'grad visual_projection',
      grad(clip.visual_projection.weight),
      fx.array('grad_visual_projection'),
    );
    await expectClose(
      name,
      'grad text_projection',
      grad(clip.text_projection.weight),
      fx.array('grad_text_projection'),
    );
    await expectClose(
      name,
      'grad class_embedding',
      grad(clip.vision_model.embeddings.class_embedding),
      fx.array('grad_class_embedding'),
    );
    disposeAll([trained, inputs]);
    loss.dispose();
    clip.dispose();
  });
});
