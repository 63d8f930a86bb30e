import { getBackend, manualSeed, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { exportOnnx, WhisperFeatureExtractor, WhisperForConditionalGeneration } from '@attnkit/transformer';
import { benchBackends, fullWorkload, printUnavailable } from './backends.js';
import { progressStep } from './cli/progress.js';
import { record } from './cli/results.js';

/**
 * A Whisper-tiny-shaped model (4 + 4 layers, 384 wide, 6 heads, 80 mel bins, vocabulary 51865),
 * random weights: the log-mel features of 30 s of audio (WhisperFeatureExtractor, on the host: STFT,
 * mel filters, log), then the encoder's forward over them (1500 positions), ms, on every backend of
 * {@link benchBackends}; beside onnxruntime-web (wasm, 2 threads) running the same encoder through
 * `exportOnnx(model, { part: 'encoder' })` in the same run, when `onnxruntime-web` can be imported.
 * Best of 2 timed runs after a warm-up (1 on software backends, unless ATTNKIT_BENCH_FULL=1).
 */
export async function benchWhisper(): Promise<void> {
  const backends = await benchBackends();
  const original = getBackend().name;
  const config = {
    dModel: 384,
    encoderLayers: 4,
    decoderLayers: 4,
    encoderAttentionHeads: 6,
    decoderAttentionHeads: 6,
    encoderFfnDim: 1536,
    decoderFfnDim: 1536,
    numMelBins: 80,
  };
  console.log(
    '\n## whisper: Whisper-tiny shape (4 + 4 layers, 384 wide, 6 heads, 80 mel bins), random weights, float32; 30 s of audio',
  );
  // 30 s of a seeded chirp with noise, 16 kHz
  const audio = new Float32Array(30 * 16000);
  let seed = 1;
  for (let i = 0; i < audio.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    audio[i] = 0.3 * Math.sin((2 * Math.PI * (200 + i / 800) * i) / 16000) + 0.05 * (seed / 2 ** 32 - 0.5);
  }
  setBackend('cpu');
  const fe = new WhisperFeatureExtractor({ featureSize: 80 });
  let melMs = Infinity;
  let features: Tensor | null = null;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const f = fe.call(audio, { samplingRate: 16000 });
    melMs = Math.min(melMs, performance.now() - t0);
    features?.dispose();
    features = f;
  }
  const feats = features as Tensor;
  const host = Float32Array.from(feats.dataSync());
  console.log(
    `- log-mel features (WhisperFeatureExtractor, host): ${melMs.toFixed(0)} ms for 30 s, shape [${feats.shape}]`,
  );
  console.log('| engine | encoder forward ms (30 s, 1500 positions) |');
  console.log('|---|---|');
  for (const b of backends.available) {
    setBackend(b.name);
    manualSeed(0);
    const model = new WhisperForConditionalGeneration(config).eval();
    const x = b.name === 'cpu' ? feats : tensor(host, [...feats.shape]); // on the current backend
    const once = async () => {
      const t0 = performance.now();
      const h = model.model.encoder.forward(x);
      await h.data();
      const ms = performance.now() - t0;
      h.dispose();
      progressStep(`${b.label}: encoder`);
      return ms;
    };
    await once();
    const repeats = b.slow && !fullWorkload() ? 1 : 2;
    let best = Infinity;
    for (let r = 0; r < repeats; r++) best = Math.min(best, await once());
    console.log(`| attnkit ${b.label} | ${best.toFixed(0)} |`);
    record({
      suite: 'whisper',
      case: 'encoder 30 s',
      implementation: `attnkit ${b.label}`,
      metric: 'time',
      value: best,
      unit: 'ms',
    });
    if (b.name === 'cpu') await benchOrt(model, host, feats.shape);
    if (x !== feats) x.dispose();
    model.dispose();
  }
  feats.dispose();
  printUnavailable(backends);
  setBackend(original);
}

async function benchOrt(
  model: WhisperForConditionalGeneration,
  host: Float32Array,
  shape: readonly number[],
) {
  // biome-ignore lint/suspicious/noExplicitAny: optional peer, loaded by name
  const ort: any = await import('onnxruntime-web').catch(() => null);
  if (!ort) {
    console.log('| onnxruntime-web (could not be imported: skipped) | |');
    return;
  }
  ort.env.wasm.numThreads = 2;
  const session = await ort.InferenceSession.create(exportOnnx(model, { part: 'encoder' }));
  const feeds = { input_features: new ort.Tensor('float32', host, [...shape]) };
  await session.run(feeds);
  let best = Infinity;
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    await session.run(feeds);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`| onnxruntime-web 1.30 wasm 2 threads, exportOnnx encoder (this run) | ${best.toFixed(0)} |`);
  record({
    suite: 'whisper',
    case: 'encoder 30 s',
    implementation: 'onnxruntime-web 1.30 wasm, 2 threads',
    metric: 'time',
    value: best,
    unit: 'ms',
  });
  await session.release?.();
}
