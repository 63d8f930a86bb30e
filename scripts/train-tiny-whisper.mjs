#!/usr/bin/env node
// Trains attnkit's embedded speech companion: a tiny Whisper that transcribes spoken digit
// sequences ("four seven two" → "472", one to three digits) in a 2-second window, seeded, on the CPU
// backend. The speech is synthetic: eSpeak NG (Debian's `espeak-ng` command, `apt-get install
// espeak-ng`) speaks every sequence in several English voices, speeds and pitches, then each clip is
// resampled to 16 kHz, shifted, scaled and mixed with mild white noise. Whole voices and 10% of the
// digit sequences are held out; the report measures greedy decoding on them (exact match and
// character error rate). Writes packages/transformer/assets/tiny-whisper/ as a Hugging Face Whisper
// checkpoint (config.json, generation_config.json, model.safetensors, preprocessor_config.json,
// tokenizer.json, tokenizer_config.json) plus training.json and clip.wav (one held-out clip: a
// held-out voice saying a held-out sequence, 16-bit PCM).
//
//   apt-get install -y espeak-ng
//   TURBO_CACHE_DIR=/work/.turbo-cache npx turbo run build --filter=@attnkit/transformer...
//   node scripts/train-tiny-whisper.mjs [--steps 2000] [--seed 1] [--train-clips 2500] [--out <dir>]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../packages/backend-cpu/dist/index.js';
import { generate } from '../packages/sampling/dist/index.js';
import { crossEntropy, Generator, manualSeed, tensor } from '../packages/tensor-core/dist/index.js';
import {
  saveModel,
  train,
  WhisperFeatureExtractor,
  WhisperForConditionalGeneration,
} from '../packages/transformer/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = opt('out', join(root, 'packages/transformer/assets/tiny-whisper'));
const seed = Number(opt('seed', 1));
const steps = Number(opt('steps', 2000));
const trainClips = Number(opt('train-clips', 2500));
const heldOutClips = Number(opt('held-out-clips', 100));
const SR = 16000;
const CHUNK = 2; // seconds per input window (Whisper's are 30)
const settings = {
  seed,
  steps,
  trainClips,
  batchSize: 16,
  lr: 3e-3,
  warmupSteps: 60,
  weightDecay: 0.01,
  schedule: 'cosine',
  speeds: [150, 220],
  pitches: [25, 75],
  noiseSnrDb: [15, 40],
  gain: [0.25, 0.9],
};

// the voices: eSpeak NG English accents × voice variants; two accents and two variants held out
const TRAIN_VOICES = ['en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-gb-x-gbclan'].flatMap((l) =>
  ['', '+m1', '+m3', '+f1', '+f2', '+f4', '+klatt'].map((v) => l + v),
);
const HELD_OUT_VOICES = ['en-029', 'en-gb-x-gbcwmd'].flatMap((l) => ['+m2', '+f3', ''].map((v) => l + v));

// the vocabulary: digits 0–9 (byte-level, as Whisper's GPT-2 tokenizer spells them), <|endoftext|>
// (end and padding), <|startoftranscript|> (the decoder's start)
const DIGITS = '0123456789';
const EOT = 10;
const SOT = 11;
const VOCAB = 12;
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

// the sequences: every string of 1–3 digits; 10% of those of 2–3 digits held out (a seeded shuffle)
const g = new Generator(seed);
const shuffle = (xs) => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};
const all = [];
for (let len = 1; len <= 3; len++) for (let n = 0; n < 10 ** len; n++) all.push(String(n).padStart(len, '0'));
const long = shuffle(all.filter((s) => s.length >= 2));
const heldOutSet = new Set(long.slice(0, Math.round(long.length / 10)));
const trainStrings = all.filter((s) => !heldOutSet.has(s));
const heldOutStrings = [...heldOutSet];
const uni = (lo, hi) => lo + (hi - lo) * g.uniform();
const pick = (xs) => xs[g.randint(0, xs.length)];

/** eSpeak NG's 22050 Hz 16-bit WAV on stdout → float32 samples. */
function speak(text, voice, speed, pitch) {
  const wav = execFileSync('espeak-ng', [
    '-v',
    voice,
    '-s',
    String(speed),
    '-p',
    String(pitch),
    '--stdout',
    text,
  ]);
  const rate = wav.readUInt32LE(24);
  let p = 12;
  while (p + 8 <= wav.length && wav.toString('ascii', p, p + 4) !== 'data') p += 8 + wav.readUInt32LE(p + 4);
  const n = Math.floor((wav.length - p - 8) / 2);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = wav.readInt16LE(p + 8 + 2 * i) / 32768;
  return { x, rate };
}

/** Band-limited resampling (a Hann-windowed sinc, cut at 0.95 × the lower Nyquist). */
function resample(x, from, to) {
  const ratio = from / to;
  const n = Math.floor(x.length / ratio);
  const fc = (0.95 * Math.min(from, to)) / 2 / from; // cycles per input sample
  const half = 24;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i * ratio;
    const c = Math.floor(t);
    let s = 0;
    for (let k = c - half + 1; k <= c + half; k++) {
      if (k < 0 || k >= x.length) continue;
      const d = t - k;
      const w = 0.5 + 0.5 * Math.cos((Math.PI * d) / half);
      const sinc = d === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * d) / (Math.PI * d);
      s += x[k] * sinc * w;
    }
    y[i] = s;
  }
  return y;
}

/** Trims leading and trailing near-silence (eSpeak pads both ends). */
function trim(x) {
  let a = 0;
  let b = x.length;
  while (a < b && Math.abs(x[a]) < 1e-3) a++;
  while (b > a && Math.abs(x[b - 1]) < 1e-3) b--;
  return x.subarray(Math.max(0, a - 160), Math.min(x.length, b + 160));
}

/** One augmented clip of `digits` in `voice`, at most CHUNK seconds, or null when too long. */
function clip(digits, voice) {
  const speed = Math.round(uni(...settings.speeds));
  const pitch = Math.round(uni(...settings.pitches));
  const { x, rate } = speak([...digits].map((d) => WORDS[d]).join(' '), voice, speed, pitch);
  const speech = trim(resample(x, rate, SR));
  const room = CHUNK * SR - speech.length;
  if (room < 0) return null;
  const start = Math.floor(uni(0, Math.min(room, 0.5 * SR)));
  const len = Math.min(CHUNK * SR, start + speech.length + Math.floor(uni(0, 0.3 * SR)));
  const gain = uni(...settings.gain);
  let peak = 0;
  for (const v of speech) peak = Math.max(peak, Math.abs(v));
  let power = 0;
  for (const v of speech) power += v * v;
  const rms = (Math.sqrt(power / speech.length) * gain) / Math.max(peak, 1e-6);
  const noise = rms / 10 ** (uni(...settings.noiseSnrDb) / 20);
  const y = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    const s = i >= start && i < start + speech.length ? (speech[i - start] * gain) / Math.max(peak, 1e-6) : 0;
    y[i] = Math.fround(Math.max(-1, Math.min(1, s + noise * g.normal())));
  }
  // quantised to 16 bits, as the bundled WAV stores it
  for (let i = 0; i < len; i++) y[i] = Math.round(y[i] * 32767) / 32768;
  return { y, speed, pitch };
}

// 40 mel bins and a 20 ms hop (Whisper: 80 or 128, 10 ms): 100 frames, 50 encoder positions
const fe = new WhisperFeatureExtractor({
  featureSize: 40,
  hopLength: 320,
  chunkLength: CHUNK,
  samplingRate: SR,
});
const M = fe.config.featureSize;
const FRAMES = fe.nSamples / fe.config.hopLength;

/** n clips drawn from `strings` × `voices`, with their log-mel features. */
function dataset(n, strings, voices, label) {
  const rows = [];
  const t = Date.now();
  while (rows.length < n) {
    const digits = pick(strings);
    const voice = pick(voices);
    const c = clip(digits, voice);
    if (!c) continue;
    const feats = fe.call(c.y);
    rows.push({ digits, voice, speed: c.speed, pitch: c.pitch, y: c.y, features: feats.dataSync() });
    feats.dispose();
    if (rows.length % 500 === 0)
      console.log(`${label}: ${rows.length} clips, ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  return rows;
}

const t0 = Date.now();
const trainSet = dataset(trainClips, trainStrings, TRAIN_VOICES, 'train');
const heldOut = dataset(heldOutClips, heldOutStrings, HELD_OUT_VOICES, 'held-out voices');
const heldOutSeenVoices = dataset(heldOutClips, heldOutStrings, TRAIN_VOICES, 'held-out sequences');
console.log(`data in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const collate = (rows) => {
  const b = rows.length;
  const T = 4; // <|startoftranscript|> + up to 3 digits, then <|endoftext|>
  const feats = new Float32Array(b * M * FRAMES);
  const dec = new Int32Array(b * T).fill(EOT);
  const labels = new Int32Array(b * T).fill(-100);
  rows.forEach((r, i) => {
    feats.set(r.features, i * M * FRAMES);
    const ids = [...r.digits].map(Number);
    const seq = [SOT, ...ids];
    const tgt = [...ids, EOT];
    seq.forEach((t, j) => {
      dec[i * T + j] = t;
    });
    tgt.forEach((t, j) => {
      labels[i * T + j] = t;
    });
  });
  return {
    inputFeatures: tensor(feats, [b, M, FRAMES], 'float32'),
    decoderInputIds: tensor(dec, [b, T], 'int32'),
    labels: tensor(labels, [b, T], 'int32'),
  };
};
// (padding after the end token is causal-masked away from the real positions and ignored by the loss)
const loss = (model, batch) => {
  const { logits } = model.forward({
    inputFeatures: batch.inputFeatures,
    decoderInputIds: batch.decoderInputIds,
    useCache: false,
  });
  const [b, t, v] = logits.shape;
  return crossEntropy(logits.reshape([b * t, v]), batch.labels.reshape([b * t]), { ignoreIndex: -100 });
};

manualSeed(seed);
const model = new WhisperForConditionalGeneration({
  vocabSize: VOCAB,
  numMelBins: M,
  dModel: 64,
  encoderLayers: 2,
  encoderAttentionHeads: 4,
  encoderFfnDim: 128,
  decoderLayers: 2,
  decoderAttentionHeads: 4,
  decoderFfnDim: 128,
  maxSourcePositions: FRAMES / 2,
  maxTargetPositions: 6,
  padTokenId: EOT,
  bosTokenId: EOT,
  eosTokenId: EOT,
  decoderStartTokenId: SOT,
});
console.log(`${model.numParameters()} parameters`);
const order = trainSet.map((_, i) => i);
const g2 = new Generator(seed + 1);
let epochOrder = [];
const batches = (step) => {
  const per = Math.floor(order.length / settings.batchSize);
  const k = step % per;
  if (k === 0 || epochOrder.length === 0) {
    epochOrder = [...order];
    for (let i = epochOrder.length - 1; i > 0; i--) {
      const j = g2.randint(0, i + 1);
      [epochOrder[i], epochOrder[j]] = [epochOrder[j], epochOrder[i]];
    }
  }
  return collate(
    epochOrder.slice(k * settings.batchSize, (k + 1) * settings.batchSize).map((i) => trainSet[i]),
  );
};
const t1 = Date.now();
const result = await train(model, {
  batches,
  loss,
  maxSteps: steps,
  lr: settings.lr,
  warmupSteps: settings.warmupSteps,
  weightDecay: settings.weightDecay,
  onProgress: (p) => {
    if (p.step % 20 === 0)
      console.log(`step ${p.step} loss ${p.loss.toFixed(4)} ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  },
});
model.eval();
model.generationConfig = {
  decoderStartTokenId: SOT,
  eosTokenId: EOT,
  padTokenId: EOT,
  bosTokenId: EOT,
  maxLength: 6,
  numBeams: 1,
};

function editDistance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}
async function evaluate(rows) {
  const decoded = [];
  for (let i = 0; i < rows.length; i += 50) {
    const part = rows.slice(i, i + 50);
    const feats = tensor(
      Float32Array.from(part.flatMap((r) => [...r.features])),
      [part.length, M, FRAMES],
      'float32',
    );
    const { sequences } = await generate(model, feats, { maxNewTokens: 4, numBeams: 1 });
    feats.dispose();
    for (const s of sequences)
      decoded.push(
        s
          .slice(1)
          .filter((t) => t < 10)
          .join(''),
      );
  }
  let errors = 0;
  let chars = 0;
  rows.forEach((r, i) => {
    errors += editDistance(r.digits, decoded[i]);
    chars += r.digits.length;
  });
  const exact = decoded.filter((d, i) => d === rows[i].digits).length / rows.length;
  return {
    clips: rows.length,
    exactMatch: exact,
    characterErrorRate: errors / chars,
    mistakes: rows
      .map((r, i) => ({ voice: r.voice, said: r.digits, heard: decoded[i] }))
      .filter((m) => m.said !== m.heard)
      .slice(0, 20),
    decoded,
  };
}
const evHeld = await evaluate(heldOut);
const evSeen = await evaluate(heldOutSeenVoices);
const evTrain = await evaluate(trainSet.slice(0, 200));
console.log(
  `held-out voices + sequences: exact ${evHeld.exactMatch} CER ${evHeld.characterErrorRate.toFixed(4)}; ` +
    `seen voices, held-out sequences: exact ${evSeen.exactMatch} CER ${evSeen.characterErrorRate.toFixed(4)}; ` +
    `train: exact ${evTrain.exactMatch}; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
);

mkdirSync(out, { recursive: true });
await saveModel(model, out);
writeFileSync(
  join(out, 'preprocessor_config.json'),
  `${JSON.stringify(
    {
      chunk_length: CHUNK,
      dither: 0.0,
      feature_extractor_type: 'WhisperFeatureExtractor',
      feature_size: M,
      hop_length: fe.config.hopLength,
      n_fft: fe.config.nFft,
      n_samples: fe.nSamples,
      nb_max_frames: FRAMES,
      padding_side: 'right',
      padding_value: 0.0,
      processor_class: 'WhisperProcessor',
      return_attention_mask: false,
      sampling_rate: SR,
    },
    null,
    2,
  )}\n`,
);
// a byte-level BPE tokenizer (Whisper's kind) whose vocabulary is the ten digits and two special tokens
const special = (id, content) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});
writeFileSync(
  join(out, 'tokenizer.json'),
  `${JSON.stringify(
    {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [special(EOT, '<|endoftext|>'), special(SOT, '<|startoftranscript|>')],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: {
          ...Object.fromEntries([...DIGITS].map((d, i) => [d, i])),
          '<|endoftext|>': EOT,
          '<|startoftranscript|>': SOT,
        },
        merges: [],
      },
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  join(out, 'tokenizer_config.json'),
  `${JSON.stringify(
    {
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      model_max_length: 6,
      tokenizer_class: 'WhisperTokenizer',
    },
    null,
    2,
  )}\n`,
);
// the bundled clip: the first held-out clip (held-out voice, held-out sequence) the model gets right
const shown = heldOut.findIndex((r, i) => evHeld.decoded[i] === r.digits && r.digits.length >= 3);
const c = heldOut[Math.max(0, shown)];
const pcm = Buffer.alloc(44 + 2 * c.y.length);
pcm.write('RIFF', 0, 'ascii');
pcm.writeUInt32LE(36 + 2 * c.y.length, 4);
pcm.write('WAVEfmt ', 8, 'ascii');
pcm.writeUInt32LE(16, 16);
pcm.writeUInt16LE(1, 20); // PCM
pcm.writeUInt16LE(1, 22); // mono
pcm.writeUInt32LE(SR, 24);
pcm.writeUInt32LE(SR * 2, 28);
pcm.writeUInt16LE(2, 32);
pcm.writeUInt16LE(16, 34);
pcm.write('data', 36, 'ascii');
pcm.writeUInt32LE(2 * c.y.length, 40);
c.y.forEach((v, i) => {
  pcm.writeInt16LE(Math.round(v * 32768), 44 + 2 * i);
});
writeFileSync(join(out, 'clip.wav'), pcm);
const strip = ({ decoded, ...rest }) => rest;
const report = {
  task: 'spoken digit sequences (1-3 digits, eSpeak NG voices) → the digits',
  parameters: model.numParameters(),
  settings,
  voices: { train: TRAIN_VOICES, heldOut: HELD_OUT_VOICES },
  heldOutSequences: heldOutStrings.length,
  losses: result.losses.filter((_, i) => i % 25 === 0 || i === result.losses.length - 1),
  heldOut: strip(evHeld),
  heldOutSequencesSeenVoices: strip(evSeen),
  trainSample: strip(evTrain),
  clip: { file: 'clip.wav', voice: c.voice, speed: c.speed, pitch: c.pitch, said: c.digits, heldOut: true },
  seconds: Math.round((Date.now() - t0) / 1000),
};
writeFileSync(join(out, 'training.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log('wrote', out);
