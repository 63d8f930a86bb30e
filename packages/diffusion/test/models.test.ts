// Parity of the U-Nets and the VAE with a plain-torch float64 re-implementation of diffusers
// (scripts/reference/diffusion_models.py): each case loads config.json + safetensors through
// fromPretrained and compares the forward output. Tolerance: |diff| ≤ 1e-4 · max|expected| + 1e-5.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { memory, noGrad, type Tensor, tensor, tidy } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { AutoencoderKL, UNet2DConditionModel, UNet2DModel } from '../src/index.js';

const root = fileURLToPath(new URL('./fixtures/models/', import.meta.url));

interface Entry {
  file: string;
  shape: number[];
}
function loadCase(name: string) {
  const meta = JSON.parse(readFileSync(`${root}${name}/meta.json`, 'utf8'));
  const arr = (key: string): Tensor => {
    const e: Entry = meta[key];
    const buf = readFileSync(`${root}${name}/${e.file}`);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    return e.file.endsWith('.i32')
      ? tensor(new Int32Array(ab), e.shape, 'int32')
      : tensor(new Float32Array(ab), e.shape);
  };
  return { meta, arr, dir: `${root}${name}` };
}

function expectClose(got: Tensor, want: Tensor, what: string): number {
  expect(got.shape, `${what} shape`).toEqual(want.shape);
  const a = got.dataSync();
  const b = want.dataSync();
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  const tol = 1e-4 * scale + 1e-5;
  if (!(worst <= tol))
    throw new Error(
      `${what}: max |diff| ${worst.toExponential(3)} > ${tol.toExponential(3)} (max |expected| ${scale.toFixed(3)})`,
    );
  return worst / scale;
}

const index: { name: string; class_name: string }[] = JSON.parse(readFileSync(`${root}index.json`, 'utf8'));

describe('model parity with the torch re-implementation of diffusers', () => {
  for (const { name, class_name } of index) {
    it(`${name} (${class_name})`, async () => {
      const c = loadCase(name);
      if (class_name === 'UNet2DModel') {
        const m = await UNet2DModel.fromPretrained(c.dir);
        expect(m.numParameters()).toBe(c.meta.num_parameters);
        const labels = c.meta.class_labels ? c.arr('class_labels') : undefined;
        const y = noGrad(() => m.forward(c.arr('sample'), c.meta.timesteps, labels));
        const rel = expectClose(y, c.arr('output'), name);
        console.log(`${name}: max |diff| / max |expected| = ${rel.toExponential(2)}`);
      } else if (class_name === 'UNet2DConditionModel') {
        const m = await UNet2DConditionModel.fromPretrained(c.dir);
        expect(m.numParameters()).toBe(c.meta.num_parameters);
        const y = noGrad(() => m.forward(c.arr('sample'), c.meta.timesteps, c.arr('encoder_hidden_states')));
        const rel = expectClose(y, c.arr('output'), name);
        console.log(`${name}: max |diff| / max |expected| = ${rel.toExponential(2)}`);
      } else {
        const m = await AutoencoderKL.fromPretrained(c.dir);
        expect(m.numParameters()).toBe(c.meta.num_parameters);
        expect(m.config.scalingFactor).toBe(0.18215);
        noGrad(() => {
          const dist = m.encode(c.arr('sample')).latentDist;
          expectClose(dist.mean, c.arr('latent_mean'), `${name} mean`);
          expectClose(dist.logvar, c.arr('latent_logvar'), `${name} logvar`);
          expectClose(m.decode(c.arr('latents')), c.arr('decoded'), `${name} decode`);
          expectClose(m.forward(c.arr('sample')), c.arr('reconstruction'), `${name} forward`);
        });
      }
    });
  }
});

describe('models: gradients, memory, loading and errors', () => {
  const tinyConfig = {
    inChannels: 2,
    outChannels: 2,
    blockOutChannels: [8, 16],
    downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D'],
    upBlockTypes: ['AttnUpBlock2D', 'UpBlock2D'],
    layersPerBlock: 1,
    normNumGroups: 4,
    attentionHeadDim: 4,
  };

  it('every UNet2DModel parameter receives a finite gradient of its shape', () => {
    const m = new UNet2DModel(tinyConfig);
    const x = tensor(
      Float64Array.from({ length: 2 * 2 * 8 * 8 }, (_, i) => Math.sin(i)),
      [2, 2, 8, 8],
    );
    const y = m.forward(x, [3, 700]);
    y.mul(y).mean().backward();
    for (const [name, p] of m.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad?.shape, name).toEqual(p.shape);
      const g = p.grad?.dataSync() ?? [];
      expect(Array.from(g).every(Number.isFinite), name).toBe(true);
    }
    // the time embedding and the attention projections are on the gradient path
    const norm = (t: Tensor | null) => Math.hypot(...Array.from(t?.dataSync() ?? [0]));
    expect(norm(m.time_embedding.linear_1.weight.grad)).toBeGreaterThan(0);
    expect(
      norm(
        m.mid_block?.attentions[0]
          ? (m.mid_block.attentions[0] as never as { to_q: { weight: Tensor } }).to_q.weight.grad
          : null,
      ),
    ).toBeGreaterThan(0);
    m.dispose();
  });

  it('UNet2DConditionModel output depends on the text embeddings (cross-attention is wired)', () => {
    const m = new UNet2DConditionModel({
      inChannels: 4,
      outChannels: 4,
      blockOutChannels: [8, 16],
      downBlockTypes: ['CrossAttnDownBlock2D', 'DownBlock2D'],
      upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D'],
      layersPerBlock: 1,
      normNumGroups: 4,
      crossAttentionDim: 6,
      attentionHeadDim: 2,
    });
    noGrad(() => {
      const x = tensor(
        Float64Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i)),
        [1, 4, 8, 8],
      );
      const e1 = tensor(
        Float64Array.from({ length: 18 }, (_, i) => Math.sin(i)),
        [1, 3, 6],
      );
      const e2 = e1.mul(-1);
      const a = m.forward(x, 10, e1).dataSync();
      const b = m.forward(x, 10, e2).dataSync();
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      expect(d).toBeGreaterThan(1e-4);
      expect(() =>
        m.forward(x, 10, tensor(new Float32Array(12), [1, 2, 6]).reshape([1, 2, 6]).sliceDim(2, 0, 3)),
      ).toThrow(/expected encoderHiddenStates \[1, S, 6\], got \[1, 2, 3\]/);
    });
  });

  it('a forward pass under tidy leaves no tensors behind', () => {
    const m = new UNet2DModel(tinyConfig);
    const x = tensor(new Float32Array(2 * 64), [1, 2, 8, 8]);
    const before = memory().cpu.numTensors;
    for (let i = 0; i < 3; i++) tidy(() => noGrad(() => m.forward(x, 10)).dispose());
    expect(memory().cpu.numTensors).toBe(before);
    m.dispose();
    x.dispose();
  });

  it('loads checkpoints with pre-0.14 attention names (query/key/value/proj_attn)', async () => {
    const c = loadCase('unet2d_tiny');
    const fresh = await UNet2DModel.fromPretrained(c.dir);
    const legacy: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(fresh.stateDict())) {
      const old = k
        .replace('.to_q.', '.query.')
        .replace('.to_k.', '.key.')
        .replace('.to_v.', '.value.')
        .replace('.to_out.0.', '.proj_attn.');
      legacy[old] = v;
    }
    expect(Object.keys(legacy).some((k) => k.endsWith('attentions.0.proj_attn.weight'))).toBe(true);
    const config = JSON.parse(readFileSync(`${c.dir}/config.json`, 'utf8'));
    const m = await UNet2DModel.fromPretrained({ config, weights: legacy });
    const y1 = noGrad(() => m.forward(c.arr('sample'), c.meta.timesteps));
    expectClose(y1, c.arr('output'), 'legacy names');
  });

  it('rejects bad configs and inputs with clear errors', async () => {
    expect(
      () => new UNet2DModel({ ...tinyConfig, downBlockTypes: ['DownBlock2D', 'SkipDownBlock2D'] }),
    ).toThrow(
      /UNet2DModel: unsupported down block type "SkipDownBlock2D"; supported: DownBlock2D, AttnDownBlock2D/,
    );
    expect(() => new UNet2DModel({ ...tinyConfig, blockOutChannels: [8] })).toThrow(
      /must have the same length/,
    );
    expect(() => new UNet2DModel({ ...tinyConfig, time_embedding_type: 'fourier' })).toThrow(
      /config.timeEmbeddingType = "fourier" is not supported/,
    );
    expect(() => new UNet2DConditionModel({ addition_embed_type: 'text_time' })).toThrow(
      /additionEmbedType = "text_time" is not supported/,
    );
    const m = new UNet2DModel(tinyConfig);
    expect(() => m.forward(tensor(new Float32Array(3 * 64), [1, 3, 8, 8]), 1)).toThrow(
      /UNet2DModel.forward: expected sample \[B, 2, H, W\], got \[1, 3, 8, 8\]/,
    );
    expect(() => m.forward(tensor(new Float32Array(2 * 49), [1, 2, 7, 7]), 1)).toThrow(
      /H and W must be divisible by 2/,
    );
    expect(() => m.forward(tensor(new Float32Array(4 * 64), [2, 2, 8, 8]), [1, 2, 3])).toThrow(
      /got 3 timesteps for a batch of 2/,
    );
    const c = loadCase('vae_tiny');
    await expect(UNet2DModel.fromPretrained(c.dir)).rejects.toThrow(
      /UNet2DModel.fromPretrained: loadStateDict: cannot load/,
    );
  });
});
