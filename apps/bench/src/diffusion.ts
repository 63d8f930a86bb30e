import '@attnkit/backend-cpu';
import { DDIMScheduler, denoise, UNet2DModel } from '@attnkit/diffusion';
import { Generator, getBackend, listBackends, noGrad, randn, setBackend, tidy } from '@attnkit/tensor-core';

/**
 * Diffusion: the time of one U-Net evaluation and of a full 50-step DDIM sampling run at 32×32 (one
 * image), on every registered backend. The U-Net is a small DDPM-style model (channels 32/64/64,
 * self-attention at 16×16, one ResNet per level), randomly initialised: weights do not change the cost.
 */
export async function benchDiffusion(): Promise<void> {
  console.log('\n## diffusion: U-Net step and 50-step DDIM sampling at 32×32 (batch 1)');
  const config = {
    sampleSize: 32,
    inChannels: 3,
    outChannels: 3,
    blockOutChannels: [32, 64, 64],
    downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D'],
    upBlockTypes: ['UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'],
    layersPerBlock: 1,
    normNumGroups: 8,
    attentionHeadDim: 32,
  };
  console.log('| backend | parameters | U-Net step ms | 50-step DDIM s |');
  console.log('|---|---|---|---|');
  const original = getBackend().name;
  for (const name of listBackends()) {
    try {
      setBackend(name);
    } catch (e) {
      console.log(`| ${name} | - | unavailable: ${(e as Error).message.split('\n')[0]} | - |`);
      continue;
    }
    const unet = new UNet2DModel(config);
    const x = randn([1, 3, 32, 32], { generator: new Generator(0) });
    const step = async () => {
      const y = tidy(() => noGrad(() => unet.forward(x, 500)));
      await y.data();
      y.dispose();
    };
    await step();
    await step();
    const n = 5;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await step();
    const stepMs = (performance.now() - t0) / n;
    const t1 = performance.now();
    const sample = await denoise((s, t) => unet.forward(s, t), {
      scheduler: new DDIMScheduler(),
      numInferenceSteps: 50,
      shape: [1, 3, 32, 32],
      generator: new Generator(1),
    });
    await sample.data();
    const loopS = (performance.now() - t1) / 1000;
    sample.dispose();
    x.dispose();
    console.log(`| ${name} | ${unet.numParameters()} | ${stepMs.toFixed(1)} | ${loopS.toFixed(2)} |`);
    unet.dispose();
  }
  setBackend(original);
}
