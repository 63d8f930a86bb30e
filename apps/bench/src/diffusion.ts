import { DDIMScheduler, denoise, UNet2DModel } from '@attnkit/diffusion';
import { Generator, getBackend, noGrad, randn, setBackend, tidy } from '@attnkit/tensor-core';
import { benchBackends, fullWorkload, printUnavailable } from './backends.js';
import { progressStep, progressTotal } from './cli/progress.js';

/**
 * Diffusion: the time of one U-Net evaluation and of a full 50-step DDIM sampling run at 32×32 (one
 * image), on every backend of {@link benchBackends} (cpu, webgpu, gpujs; results read with
 * `await data()`, so asynchronous backends finish their work inside the timing). The U-Net is a
 * small DDPM-style model (channels 32/64/64, self-attention at 16×16, one ResNet per level),
 * randomly initialised: weights do not change the cost.
 *
 * On software backends (SwiftShader, gpu.js CPU mode) the sampling run takes
 * ATTNKIT_BENCH_SLOW_DDIM_STEPS steps (default 10) and the step time is the mean of 2 calls instead
 * of 5, unless ATTNKIT_BENCH_FULL=1; the table prints the steps run and the time per step.
 */
export async function benchDiffusion(): Promise<void> {
  const slowSteps = Number(process.env.ATTNKIT_BENCH_SLOW_DDIM_STEPS ?? 10);
  const backends = await benchBackends();
  console.log('\n## diffusion: U-Net step and 50-step DDIM sampling at 32×32 (batch 1), on each backend');
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
  console.log('| backend | parameters | U-Net step ms | DDIM steps run | DDIM s | DDIM ms per step |');
  console.log('|---|---|---|---|---|---|');
  const original = getBackend().name;
  for (const b of backends.available) {
    const capped = b.slow && !fullWorkload();
    progressTotal((capped ? 4 : 7) + (capped ? Math.min(50, slowSteps) : 50));
  }
  for (const b of backends.available) {
    const capped = b.slow && !fullWorkload();
    const steps = capped ? Math.min(50, slowSteps) : 50;
    setBackend(b.name);
    const unet = new UNet2DModel(config);
    const x = randn([1, 3, 32, 32], { generator: new Generator(0) });
    const step = async () => {
      const y = tidy(() => noGrad(() => unet.forward(x, 500)));
      await y.data();
      y.dispose();
      progressStep(`${b.label} U-Net step`);
    };
    await step(); // warm-up (JIT, shader compilation)
    await step();
    const n = capped ? 2 : 5;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await step();
    const stepMs = (performance.now() - t0) / n;
    const t1 = performance.now();
    let done = 0;
    const sample = await denoise(
      (s, t) => {
        progressStep(`${b.label} DDIM step ${++done}/${steps}`);
        return unet.forward(s, t);
      },
      {
        scheduler: new DDIMScheduler(),
        numInferenceSteps: steps,
        shape: [1, 3, 32, 32],
        generator: new Generator(1),
      },
    );
    await sample.data();
    const loopS = (performance.now() - t1) / 1000;
    sample.dispose();
    x.dispose();
    const stepsCell = steps < 50 ? `${steps} (capped: software here)` : `${steps}`;
    console.log(
      `| ${b.label} | ${unet.numParameters()} | ${stepMs.toFixed(1)} | ${stepsCell} | ${loopS.toFixed(2)} | ` +
        `${((loopS * 1000) / steps).toFixed(1)} |`,
    );
    unet.dispose();
  }
  if (backends.available.some((b) => b.slow) && !fullWorkload()) {
    console.log(
      `- capped rows run ${slowSteps} DDIM steps instead of 50 (50 × the per-step time estimates the full run); ATTNKIT_BENCH_FULL=1 runs all 50`,
    );
  }
  printUnavailable(backends);
  setBackend(original);
}
