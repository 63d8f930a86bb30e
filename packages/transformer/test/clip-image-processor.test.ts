// CLIPImageProcessor against transformers 5.18's (its PIL backend; fixtures by
// packages/transformer/scripts/clip_vision_refs.py): the resize is PIL's fixed-point filter in
// uint8, so a single level of difference would move a value by 1/255/std ≥ 0.014; the comparison
// allows 1e-6 absolute (float32 rounding of the rescale and normalisation), i.e. asserts every
// resized uint8 value equal to PIL's.
import '@attnkit/backend-cpu';
import { describe, expect, it } from 'vitest';
import {
  CLIPImageProcessor,
  clipImageProcessorConfigFromJson,
  OPENAI_CLIP_MEAN,
  pilResize,
} from '../src/index.js';
import { loadFixture } from './helpers.js';

function imageOf(name: string) {
  const fx = loadFixture(name);
  const a = fx.array('image'); // [H, W, 3] int32 0..255
  return { fx, image: { data: Uint8Array.from(a.data), height: a.shape[0], width: a.shape[1] } };
}

describe('CLIPImageProcessor: transformers 5.18 parity', () => {
  for (const name of ['hfclip-image-processor-down', 'hfclip-image-processor-up']) {
    it(`${name}: fromPretrained(preprocessor_config.json), resize + crop + normalise`, async () => {
      const { fx, image } = imageOf(name);
      const processor = await CLIPImageProcessor.fromPretrained(fx.dir);
      const { pixelValues } = processor.preprocess(image);
      const want = fx.array('pixel_values');
      expect(pixelValues.shape).toEqual(want.shape);
      const got = pixelValues.dataSync();
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.data[i]));
      expect(worst).toBeLessThanOrEqual(1e-6);
      pixelValues.dispose();
    });
  }

  it('reads the fixtures’ settings (shrink with CLIP’s mean; enlarge with a non-square crop)', async () => {
    const down = await CLIPImageProcessor.fromPretrained(loadFixture('hfclip-image-processor-down').dir);
    expect([
      down.config.shortestEdge,
      down.config.cropHeight,
      down.config.cropWidth,
      down.config.resample,
    ]).toEqual([24, 20, 20, 3]);
    expect(down.config.imageMean).toEqual([...OPENAI_CLIP_MEAN]);
    const up = await CLIPImageProcessor.fromPretrained(loadFixture('hfclip-image-processor-up').dir);
    expect([up.config.shortestEdge, up.config.cropHeight, up.config.cropWidth]).toEqual([26, 30, 20]);
    expect(up.config.imageStd).toEqual([0.2, 0.25, 0.3]);
  });

  it('batches images, and RGBA (ImageData) or grey images equal their RGB form', () => {
    const { image } = imageOf('hfclip-image-processor-down');
    const p = CLIPImageProcessor.fromConfigJson({ size: { shortest_edge: 24 }, crop_size: 20 });
    const n = image.width * image.height;
    const rgba = new Uint8ClampedArray(n * 4);
    for (let i = 0; i < n; i++) {
      rgba.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = 7;
    }
    const a = p.preprocess(image).pixelValues;
    const b = p.preprocess([image, { data: rgba, width: image.width, height: image.height }]).pixelValues;
    expect(b.shape).toEqual([2, 3, 20, 20]);
    const av = Array.from(a.dataSync());
    const bv = Array.from(b.dataSync());
    expect(bv.slice(0, av.length)).toEqual(av);
    expect(bv.slice(av.length)).toEqual(av);
    const grey = { data: new Uint8Array(n).fill(128), width: image.width, height: image.height, channels: 1 };
    const g = p.preprocess(grey).pixelValues.dataSync();
    expect(g[0]).toBeCloseTo((128 / 255 - OPENAI_CLIP_MEAN[0]) / 0.26862954, 5);
    for (const t of [a, b]) t.dispose();
  });

  it('pilResize keeps a constant image constant and an unchanged size identical', () => {
    const flat = new Uint8Array(9 * 7 * 3).fill(200);
    expect(Array.from(new Set(pilResize(flat, 9, 7, 4, 13)))).toEqual([200]);
    const noise = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) % 256);
    expect(Array.from(pilResize(noise, 5, 4, 5, 4))).toEqual(Array.from(noise));
  });
});

describe('CLIPImageProcessor: bad input', () => {
  const p = new CLIPImageProcessor({ shortestEdge: 8, cropHeight: 8, cropWidth: 8 });

  it('refuses images with the wrong number of channels, naming the expected shape', () => {
    expect(() => p.preprocess({ data: new Uint8Array(4 * 4 * 2), width: 4, height: 4 })).toThrow(
      /CLIPImageProcessor: image 0: expected an 8-bit RGB image, \[height 4, width 4, 3\] values \(or 4 with alpha, 1 grey\), got 32 values/,
    );
    expect(() => p.preprocess({ data: new Uint8Array(48), width: 4, height: 4, channels: 4 })).toThrow(
      /image 0: expected an 8-bit RGB image, \[height 4, width 4, 3\] values .*got 48 values with channels 4/,
    );
    expect(() => p.preprocess({ data: [0, 0, 300], width: 1, height: 1 })).toThrow(
      /image 0: values must be integers in 0..255, got 300 at index 2/,
    );
    expect(() => p.preprocess([])).toThrow(/expected at least one image/);
  });

  it('refuses preprocessor_config.json keys it does not implement, by name', () => {
    expect(() => clipImageProcessorConfigFromJson({ do_pad: true })).toThrow(
      /CLIPImageProcessor: preprocessor_config.json sets do_pad = true: padding the images to one size is not implemented/,
    );
    expect(() => clipImageProcessorConfigFromJson({ resample: 1 })).toThrow(
      /CLIPImageProcessor: resample 1 is not implemented \(3: bicubic, CLIP's; 2: bilinear\)/,
    );
    expect(() => clipImageProcessorConfigFromJson({ size: { height: 224, width: 224 } })).toThrow(
      /CLIPImageProcessor: size must be \{ "shortest_edge": n \}/,
    );
    expect(() => clipImageProcessorConfigFromJson({ image_std: [0.2, 0, 0.3] })).toThrow(
      /CLIPImageProcessor: image_std must be 3 positive numbers/,
    );
    expect(() => clipImageProcessorConfigFromJson({ do_magic: true })).toThrow(
      /CLIPImageProcessor: preprocessor_config.json key 'do_magic' is not implemented/,
    );
    // openai/clip-vit-base-patch32's original form: bare numbers and the feature extractor's name
    const old = clipImageProcessorConfigFromJson({
      size: 224,
      crop_size: 224,
      feature_extractor_type: 'CLIPFeatureExtractor',
    });
    expect([old.shortestEdge, old.cropHeight, old.cropWidth]).toEqual([224, 224, 224]);
  });
});
