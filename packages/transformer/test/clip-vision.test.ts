// CLIP's image side against transformers 5.18 (packages/transformer/scripts/clip_vision_refs.py):
// CLIPVisionModel, CLIPVisionModelWithProjection and CLIPModel loaded with loadPretrained from the
// folders save_pretrained wrote, outputs within 1e-4 relative; the contrastive loss and its
// gradients against CLIPModel(return_loss=True) and loss.backward(); config parsing and the errors.
import '@attnkit/backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, memory, randn, type Tensor, tensor } from '@attnkit/tensor-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLIPModel,
  CLIPTextModelWithProjection,
  CLIPVisionModel,
  CLIPVisionModelWithProjection,
  clipConfigFromJson,
  clipLoss,
  clipVisionConfig,
  clipVisionConfigFromJson,
  loadPretrained,
  saveModel,
} from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'attnkit-clip-vision-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectClose(key: string, got: Tensor, want: { shape: number[]; data: ArrayLike<number> }) {
  expect(got.shape, key).toEqual(want.shape);
  const c = closeness(got.dataSync(), want.data);
  expect(c.compared).toBe(want.data.length);
  expect(c.ratio, `${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

function disposeAll(x: unknown): void {
  if (!x || typeof x !== 'object') return;
  if ((x as Tensor).isTensor === true) (x as Tensor).dispose();
  else for (const v of Object.values(x)) disposeAll(v);
}

describe('CLIP vision: transformers 5.18 parity (1e-4 relative, CPU)', () => {
  for (const [name, cls] of [
    ['hfclip-vision', CLIPVisionModel],
    ['hfclip-vision-proj', CLIPVisionModelWithProjection],
  ] as const) {
    it(`${name}: ${cls.name} from save_pretrained`, async () => {
      const fx = loadFixture(name);
      expect(fx.meta.architecture).toBe(cls.name);
      const model = await loadPretrained(fx.dir);
      expect(model).toBeInstanceOf(cls);
      expect(model.training).toBe(false);
      const pixelValues = fx.tensor('pixel_values');
      const out = (model as CLIPVisionModelWithProjection).forward({ pixelValues });
      expectClose(`${name} last_hidden_state`, out.lastHiddenState, fx.array('last_hidden_state'));
      if (fx.has('pooler_output'))
        expectClose(`${name} pooler_output`, out.poolerOutput, fx.array('pooler_output'));
      if (fx.has('image_embeds'))
        expectClose(`${name} image_embeds`, out.imageEmbeds, fx.array('image_embeds'));
      else expect(out.imageEmbeds).toBeUndefined();
      disposeAll(out);
      pixelValues.dispose();
      model.dispose();
    });
  }

  it('hfclip-model: CLIPModel logits, normalised embeddings and the contrastive loss', async () => {
    const fx = loadFixture('hfclip-model');
    const model = await loadPretrained(fx.dir);
    expect(model).toBeInstanceOf(CLIPModel);
    const clip = model as CLIPModel;
    expect(clip.config.projectionDim).toBe(16); // the top-level value, not the towers' 512
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
      expectClose(key, got, fx.array(key));
    }
    disposeAll(out);
    disposeAll(inputs);
    clip.dispose();
  });

  it('clipLoss backpropagates as torch: gradients of CLIPModel(return_loss=True).loss', async () => {
    const fx = loadFixture('hfclip-model');
    const clip = (await loadPretrained(fx.dir)) as CLIPModel;
    clip.train(); // dropout is 0: the same function, with the graph recorded
    const inputs = {
      inputIds: fx.tensor('input_ids'),
      attentionMask: fx.tensor('attention_mask'),
      pixelValues: fx.tensor('pixel_values'),
    };
    const out = clip.forward(inputs);
    const loss = clipLoss(out.logitsPerText);
    expectClose('loss', loss.reshape([1]), fx.array('loss'));
    loss.backward();
    const grad = (t: Tensor) => t.grad as Tensor;
    expectClose('grad logit_scale', grad(clip.logit_scale).reshape([1]), fx.array('grad_logit_scale'));
    expectClose(
      'grad visual_projection',
      grad(clip.visual_projection.weight),
      fx.array('grad_visual_projection'),
    );
    expectClose('grad text_projection', grad(clip.text_projection.weight), fx.array('grad_text_projection'));
    expectClose(
      'grad class_embedding',
      grad(clip.vision_model.embeddings.class_embedding),
      fx.array('grad_class_embedding'),
    );
    disposeAll(out);
    disposeAll(inputs);
    loss.dispose();
    clip.dispose();
  });

  it('one tower of a whole CLIP checkpoint loads by architecture, equal to CLIPModel', async () => {
    const fx = loadFixture('hfclip-model');
    const clip = (await loadPretrained(fx.dir)) as CLIPModel;
    const vision = await loadPretrained(fx.dir, { architecture: 'CLIPVisionModelWithProjection' });
    const text = await loadPretrained(fx.dir, { architecture: 'CLIPTextModelWithProjection' });
    expect(vision).toBeInstanceOf(CLIPVisionModelWithProjection);
    expect(text).toBeInstanceOf(CLIPTextModelWithProjection);
    const pixelValues = fx.tensor('pixel_values');
    const inputIds = fx.tensor('input_ids');
    const attentionMask = fx.tensor('attention_mask');
    const image = vision.forward({ pixelValues });
    const t = text.forward({ inputIds, attentionMask });
    const wantImage = clip.getImageFeatures({ pixelValues });
    const wantText = clip.getTextFeatures({ inputIds, attentionMask });
    expect(Array.from(image.imageEmbeds.dataSync())).toEqual(Array.from(wantImage.dataSync()));
    expect(Array.from(t.textEmbeds.dataSync())).toEqual(Array.from(wantText.dataSync()));
    disposeAll([image, t, wantImage, wantText, pixelValues, inputIds, attentionMask]);
    for (const m of [clip, vision, text]) m.dispose();
  });

  it('saves and reloads (config.json transformers reads) and frees what it allocates', async () => {
    const before = memory().cpu?.numTensors ?? 0;
    const fx = loadFixture('hfclip-model');
    const clip = (await loadPretrained(fx.dir)) as CLIPModel;
    const dir = join(tmp, 'clip');
    await saveModel(clip, dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect([config.model_type, config.architectures, config.projection_dim]).toEqual([
      'clip',
      ['CLIPModel'],
      16,
    ]);
    expect([config.text_config.model_type, config.vision_config.model_type]).toEqual([
      'clip_text_model',
      'clip_vision_model',
    ]);
    expect(config.vision_config.patch_size).toBe(4);
    const again = (await loadPretrained(dir)) as CLIPModel;
    const inputs = {
      inputIds: fx.tensor('input_ids'),
      attentionMask: fx.tensor('attention_mask'),
      pixelValues: fx.tensor('pixel_values'),
    };
    const out = again.forward(inputs);
    expectClose('saved logits_per_image', out.logitsPerImage, fx.array('logits_per_image'));
    disposeAll([out, inputs]);
    const vfx = loadFixture('hfclip-vision');
    const vision = (await loadPretrained(vfx.dir)) as CLIPVisionModel;
    const vdir = join(tmp, 'vision');
    await saveModel(vision, vdir);
    const vagain = (await loadPretrained(vdir)) as CLIPVisionModel;
    expect(vagain).toBeInstanceOf(CLIPVisionModel);
    const px = vfx.tensor('pixel_values');
    const vout = vagain.forward(px); // a bare pixels tensor
    expectClose('saved pooler_output', vout.poolerOutput, vfx.array('pooler_output'));
    disposeAll([vout, px]);
    for (const m of [clip, again, vision, vagain]) m.dispose();
    expect(memory().cpu.numTensors).toBe(before);
  });
});

describe('CLIPVisionConfig and CLIPConfig', () => {
  it('has clip-vit-base-patch32 defaults and reads a clip config through vision_config', () => {
    const c = clipVisionConfig();
    expect([
      c.hiddenSize,
      c.numHiddenLayers,
      c.numAttentionHeads,
      c.imageSize,
      c.patchSize,
      c.hiddenAct,
    ]).toEqual([768, 12, 12, 224, 32, 'quick_gelu']);
    const whole = clipConfigFromJson({
      model_type: 'clip',
      projection_dim: 8,
      text_config: { hidden_size: 16, num_attention_heads: 2 },
      vision_config: { hidden_size: 24, num_attention_heads: 3, image_size: 32, patch_size: 8 },
    });
    expect([whole.projectionDim, whole.textConfig.hiddenSize, whole.visionConfig.hiddenSize]).toEqual([
      8, 16, 24,
    ]);
    expect(whole.visionConfig.projectionDim).toBe(8);
  });

  it('refuses bad or unimplemented config keys by name', () => {
    expect(() => clipVisionConfigFromJson({ image_size: 30, patch_size: 4 })).toThrow(
      /CLIPVisionConfig: image_size 30 must be a multiple of patch_size 4/,
    );
    expect(() => clipVisionConfigFromJson({ hidden_act: 'gelu_magic' })).toThrow(
      /CLIPVisionConfig: unknown activation 'gelu_magic'/,
    );
    expect(() => clipVisionConfigFromJson({ quantization_config: { quant_method: 'gptq' } })).toThrow(
      /CLIPVisionConfig: .*quantization_config/,
    );
    expect(() =>
      clipConfigFromJson({ model_type: 'clip', quantization_config: { quant_method: 'awq' } }),
    ).toThrow(/CLIPConfig: .*quantization_config/);
    expect(() => clipConfigFromJson({ model_type: 'clip', vision_config: 3 })).toThrow(
      /CLIPVisionConfig: a 'clip' config.json's "vision_config" must be an object, got number 3/,
    );
    expect(() => clipVisionConfig({ imageSize: 8, patchSize: 4, numChanels: 1 } as never)).toThrow(
      /CLIPVisionConfig: unknown config option 'numChanels'/,
    );
  });
});

describe('CLIP vision: bad inputs', () => {
  manualSeed(0);
  const tiny = {
    hiddenSize: 8,
    intermediateSize: 16,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    imageSize: 8,
    patchSize: 4,
  };
  const vision = new CLIPVisionModel(tiny).eval();

  it('refuses images with the wrong number of channels or size, naming the expected shape', () => {
    const gray = randn([2, 1, 8, 8]);
    expect(() => vision.forward({ pixelValues: gray })).toThrow(
      /CLIPVisionModel.forward: 'pixelValues' must be \[B, 3, 8, 8\], got \[2, 1, 8, 8\] \(1 channels where the model takes 3\)/,
    );
    const hwc = randn([1, 8, 8, 3]);
    expect(() => vision.forward(hwc)).toThrow(/'pixelValues' must be \[B, 3, 8, 8\], got \[1, 8, 8, 3\]/);
    const big = randn([1, 3, 16, 16]);
    expect(() => vision.forward(big)).toThrow(/'pixelValues' must be \[B, 3, 8, 8\], got \[1, 3, 16, 16\]/);
    expect(() => vision.forward(undefined as never)).toThrow(
      /CLIPVisionModel.forward: expected \{ pixelValues \} or a pixels tensor \[B, C, S, S\], got undefined/,
    );
    disposeAll([gray, hwc, big]);
  });

  it('CLIPModel and clipLoss name what they need', () => {
    const clip = new CLIPModel({
      textConfig: {
        vocabSize: 10,
        hiddenSize: 8,
        intermediateSize: 16,
        numHiddenLayers: 1,
        numAttentionHeads: 2,
        eosTokenId: 9,
      },
      visionConfig: tiny,
      projectionDim: 4,
    }).eval();
    const pixelValues = randn([2, 3, 8, 8]);
    const inputIds = tensor([[1, 2, 9]], undefined, 'int32');
    const out = clip.forward({ inputIds, pixelValues });
    expect(out.logitsPerImage.shape).toEqual([2, 1]);
    expect(out.loss).toBeUndefined();
    expect(() => clip.forward({ inputIds, pixelValues, returnLoss: true })).toThrow(
      /clipLoss: 'logitsPerText' must be a square \[N, N\] similarity matrix \(text i matches image i\), got \[1, 2\]/,
    );
    expect(() => clip.forward(pixelValues as never)).toThrow(
      /CLIPModel.forward: expected \{ inputIds, attentionMask\?, pixelValues \}/,
    );
    const gray = randn([2, 1, 8, 8]);
    expect(() => clip.forward({ inputIds, pixelValues: gray })).toThrow(
      /CLIPModel.forward: 'pixelValues' must be \[B, 3, 8, 8\], got \[2, 1, 8, 8\]/,
    );
    disposeAll([out, pixelValues, inputIds, gray]);
    clip.dispose();
  });

  it('loadPretrained names the checkpoint tensors that do not fit', async () => {
    const fx = loadFixture('hfclip-vision');
    const bad = JSON.parse(readFileSync(join(fx.dir, 'config.json'), 'utf8'));
    bad.patch_size = 8;
    await expect(
      loadPretrained({
        'config.json': new TextEncoder().encode(JSON.stringify(bad)),
        'model.safetensors': new Uint8Array(readFileSync(join(fx.dir, 'model.safetensors'))),
      }),
    ).rejects.toThrow(
      /does not match CLIPVisionModel:[\s\S]*mis-shaped tensors \(2\): vision_model.embeddings.patch_embedding.weight: checkpoint \[32, 3, 4, 4\], model \[32, 3, 8, 8\]/,
    );
  });
});
