// Speech: the embedded tiny Whisper (trained by attnkit on synthetic eSpeak NG voices saying one to
// three digits) on its bundled held-out clip or two seconds from the microphone. The page shows the
// waveform, the log-mel spectrogram the encoder reads, and the transcript decoded token by token
// with the decoder's cross-attention over the audio frames for each output token. All of it runs on
// the current backend.
import { captureAttention } from '@attnkit/attention';
import { tensor } from '@attnkit/tensor-core';
import {
  type AutomaticSpeechRecognitionPipeline,
  loadTinyWhisper,
  type TinyWhisperReport,
  tinyWhisperClip,
  tinyWhisperReport,
} from '@attnkit/transformer';
import { onCurrentBackend } from '../backend.js';
import { el, type Page } from '../page.js';
import { heatmapCanvas } from '../ui.js';

const MEL_CELL = 4; // screen pixels per log-mel frame (and per mel bin)

let loading: Promise<{ asr: AutomaticSpeechRecognitionPipeline; report: TinyWhisperReport }> | undefined;

/** Loads the embedded tiny Whisper (as an ASR pipeline) and its training report once. */
function loadModel() {
  loading ??= Promise.all([loadTinyWhisper(), tinyWhisperReport()]).then(([asr, report]) => ({
    asr,
    report,
  }));
  return loading;
}

/** The waveform as min/max bars per pixel column. */
function waveformCanvas(samples: Float32Array, width: number): HTMLCanvasElement {
  const height = 80;
  const canvas = el('canvas', {
    id: 'whisper-wave',
    class: 'heatmap',
    width: String(width),
    height: String(height),
    role: 'img',
    'aria-label': `waveform of ${samples.length} samples`,
    'data-samples': String(samples.length),
  });
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  ctx.fillStyle = getComputedStyle(document.body).getPropertyValue('--accent').trim() || '#2b5fb8';
  const per = samples.length / width;
  for (let x = 0; x < width; x++) {
    let lo = 0;
    let hi = 0;
    for (let i = Math.floor(x * per); i < Math.floor((x + 1) * per); i++) {
      lo = Math.min(lo, samples[i]);
      hi = Math.max(hi, samples[i]);
    }
    const y0 = ((1 - hi) / 2) * height;
    const y1 = ((1 - lo) / 2) * height;
    ctx.fillRect(x, y0, 1, Math.max(1, y1 - y0));
  }
  return canvas;
}

/** Two seconds from the microphone at 16 kHz (the browser resamples), or an error message. */
async function record(seconds: number, status: (s: string) => void): Promise<Float32Array> {
  if (!navigator.mediaDevices?.getUserMedia)
    throw new Error('this browser offers no microphone (getUserMedia)');
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
  try {
    const recorder = new MediaRecorder(stream);
    const chunks: Blob[] = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise<void>((resolve) => {
      recorder.onstop = () => resolve();
    });
    recorder.start();
    status(`recording ${seconds} s… say one to three digits`);
    await new Promise((r) => setTimeout(r, seconds * 1000 + 150));
    recorder.stop();
    await stopped;
    const ctx = new AudioContext({ sampleRate: 16000 });
    try {
      const audio = await ctx.decodeAudioData(await new Blob(chunks).arrayBuffer());
      return audio.getChannelData(0).slice(0, seconds * 16000);
    } finally {
      await ctx.close();
    }
  } finally {
    for (const t of stream.getTracks()) t.stop();
  }
}

/** Speech recognition with the embedded tiny Whisper. */
export const whisperPage: Page = {
  id: 'whisper',
  title: 'Speech',
  summary:
    'Audio → a log-mel spectrogram → Whisper’s encoder; the decoder writes the transcript token by token, each step attending over the audio frames.',
  async render(root) {
    const info = el('p', { id: 'whisper-info', class: 'stats' }, 'loading the tiny Whisper…');
    root.append(info);
    const { asr, report } = await loadModel();
    const model = await onCurrentBackend(asr.model);
    const fe = asr.featureExtractor;
    const { featureSize: mels, chunkLength, hopLength } = fe.config;
    const frames = Math.floor(fe.nSamples / hopLength);
    const positions = model.config.maxSourcePositions;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    info.textContent =
      `The embedded tiny Whisper (no download): ${model.numParameters().toLocaleString('en-US')} parameters, trained by attnkit ` +
      `(scripts/train-tiny-whisper.mjs) on synthetic speech only: eSpeak NG voices saying one to three digits, with noise. ` +
      `On held-out voices saying held-out sequences it gets ${pct(report.heldOut.exactMatch)} of clips exactly right ` +
      `(character error rate ${pct(report.heldOut.characterErrorRate)}, ${report.heldOut.clips} clips). ` +
      `A real voice is far from what it has heard: expect mistakes on the microphone.`;

    const clipButton = el('button', { id: 'whisper-clip', type: 'button' }, 'Bundled clip');
    const micButton = el('button', { id: 'whisper-mic', type: 'button' }, 'Record 2 s from the microphone');
    const status = el('p', { id: 'whisper-status', class: 'stats' });
    const out = el('div', { id: 'whisper-out' });
    root.append(el('div', { class: 'controls' }, clipButton, micButton), status, out);

    const show = async (samples: Float32Array, source: string) => {
      if (!root.isConnected) return;
      const t0 = performance.now();
      const features = fe.call(samples, { samplingRate: 16000 });
      const mel = await features.data();
      // the spectrogram with low frequencies at the bottom: row r shows mel bin mels − 1 − r
      // (shifted to start at 0: the sequential colour scale, not the diverging one of signed values)
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const v of mel) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const flipped = new Float32Array(mels * frames);
      for (let r = 0; r < mels; r++)
        for (let f = 0; f < frames; f++) flipped[r * frames + f] = mel[(mels - 1 - r) * frames + f] - lo;
      const melCanvas = heatmapCanvas(flipped, mels, frames, {
        cell: MEL_CELL,
        min: 0,
        max: hi - lo,
        label: `log-mel spectrogram, ${mels} mel bins × ${frames} frames`,
        id: 'whisper-mel',
      });
      melCanvas.dataset.values = JSON.stringify(Array.from(mel));
      melCanvas.dataset.shape = JSON.stringify(features.shape);

      // greedy decoding step by step from <|startoftranscript|>, the encoder run once
      const memory = model.encode(features);
      const start = model.generationConfig?.decoderStartTokenId ?? model.config.decoderStartTokenId;
      const eos = model.config.eosTokenId;
      const ids = [start];
      const steps: { token: number; text: string; prob: number; cross: Float32Array[] }[] = [];
      const maxNew = model.config.maxTargetPositions - 1;
      for (let s = 0; s < maxNew; s++) {
        const input = tensor(Int32Array.from(ids), [1, ids.length], 'int32');
        const captured = captureAttention(() =>
          model.forward({ encoderOutputs: memory, decoderInputIds: input, useCache: false }),
        );
        const logits = await captured.result.logits.data();
        const v = model.config.vocabSize;
        const last = logits.subarray((ids.length - 1) * v, ids.length * v);
        let best = 0;
        for (let i = 1; i < v; i++) if (last[i] > last[best]) best = i;
        let z = 0;
        for (let i = 0; i < v; i++) z += Math.exp(last[i] - last[best]);
        // the decoder's cross-attention (keys: the encoder positions): the last query row, per layer, mean over heads
        const cross: Float32Array[] = [];
        for (const r of captured.attentions.filter((a) => a.weights.shape[3] === positions)) {
          const [, h, lq] = r.weights.shape;
          const w = await r.weights.data();
          const row = new Float32Array(positions);
          for (let head = 0; head < h; head++)
            for (let j = 0; j < positions; j++) row[j] += w[(head * lq + lq - 1) * positions + j] / h;
          cross.push(row);
        }
        captured.result.logits.dispose();
        captured.dispose();
        input.dispose();
        const isEnd = best === eos || (Array.isArray(eos) && eos.includes(best));
        steps.push({
          token: best,
          text: isEnd ? '<|endoftext|>' : asr.tokenizer.decode([best]),
          prob: 1 / z,
          cross,
        });
        if (isEnd) break;
        ids.push(best);
      }
      memory.dispose();
      features.dispose();
      const text = asr.tokenizer.decode(ids.slice(1), { skipSpecialTokens: true });
      const ms = performance.now() - t0;
      const piped = (await asr(samples)).text;
      if (!root.isConnected) return;

      const layers = steps[0]?.cross.length ?? 0;
      const attnCell = (frames * MEL_CELL) / positions;
      const crossMaps = Array.from({ length: layers }, (_, l) => {
        const values = new Float32Array(steps.length * positions);
        steps.forEach((st, i) => {
          values.set(st.cross[l], i * positions);
        });
        const canvas = heatmapCanvas(values, steps.length, positions, {
          cell: attnCell,
          min: 0,
          label: `decoder layer ${l} cross-attention: ${steps.length} output tokens × ${positions} encoder positions`,
          id: `whisper-cross-${l}`,
        });
        canvas.style.height = `${steps.length * 18}px`;
        canvas.style.width = `${positions * attnCell}px`;
        canvas.dataset.values = JSON.stringify(steps.map((st) => Array.from(st.cross[l])));
        // each row labelled with its output token, left of the map
        const labels = el(
          'div',
          { class: 'map-label', style: 'display:flex;flex-direction:column;text-align:right;min-width:7rem' },
          ...steps.map((st) => el('span', { style: 'height:18px;line-height:18px' }, st.text)),
        );
        return el(
          'figure',
          { class: 'panel' },
          el(
            'div',
            { class: 'scroll', style: 'display:flex;gap:6px;align-items:flex-start' },
            labels,
            canvas,
          ),
          el(
            'figcaption',
            {},
            `decoder layer ${l}: cross-attention of each output token (rows, top to bottom) over the ${positions} encoder positions (${((chunkLength * 1000) / positions).toFixed(0)} ms each), mean of the heads`,
          ),
        );
      });
      const rows = steps.map((st, i) =>
        el(
          'tr',
          {},
          el('td', { class: 'num' }, String(i + 1)),
          el('td', {}, st.text),
          el('td', { class: 'num' }, String(st.token)),
          el('td', { class: 'num' }, pct(st.prob)),
          el(
            'td',
            { class: 'num' },
            st.cross
              .map((c) => {
                let arg = 0;
                for (let j = 1; j < c.length; j++) if (c[j] > c[arg]) arg = j;
                return `${((arg * chunkLength) / positions).toFixed(2)} s`;
              })
              .join(' · '),
          ),
        ),
      );
      const transcript = el('pre', { id: 'whisper-text', class: 'generated' }, text);
      transcript.dataset.pipeline = piped;
      out.replaceChildren(
        el('h3', {}, 'Transcript'),
        transcript,
        el(
          'p',
          { class: 'stats' },
          `${source}: ${(samples.length / 16000).toFixed(2)} s of 16 kHz audio; features, encoder and ${steps.length} decoder steps in ${ms.toFixed(0)} ms on ${model.parameters()[0].backend.name}. ` +
            `pipeline('automatic-speech-recognition') on the same samples: “${piped}”.`,
        ),
        el(
          'figure',
          { class: 'panel' },
          el(
            'div',
            { class: 'scroll', style: 'padding-left:calc(7rem + 6px)' },
            waveformCanvas(samples, frames * MEL_CELL),
          ),
          el(
            'figcaption',
            {},
            `waveform (${chunkLength} s window; the model pads shorter audio with silence)`,
          ),
        ),
        el(
          'figure',
          { class: 'panel' },
          el('div', { class: 'scroll', style: 'padding-left:calc(7rem + 6px)' }, melCanvas),
          el(
            'figcaption',
            {},
            `log-mel spectrogram: ${mels} mel bins (low at the bottom) × ${frames} frames of ${(hopLength / 16).toFixed(0)} ms, as transformers' WhisperFeatureExtractor computes it`,
          ),
        ),
        ...crossMaps,
        el(
          'table',
          { class: 'trace', id: 'whisper-steps' },
          el(
            'tr',
            {},
            el('th', {}, 'step'),
            el('th', {}, 'token'),
            el('th', {}, 'id'),
            el('th', {}, 'probability'),
            el('th', {}, 'most attended time, per layer'),
          ),
          ...rows,
        ),
      );
      if (source === 'bundled clip')
        out.prepend(
          el(
            'p',
            { class: 'note' },
            `The bundled clip is held out of training: the voice ${report.clip.voice} (not one of the ${report.voices.train.length} training voices) saying “${[...report.clip.said].join(' ')}”, a sequence it never heard. It is the first such clip of three digits the model gets right, picked to show it working: ${pct(1 - report.heldOut.exactMatch)} of held-out clips are not transcribed exactly.`,
          ),
        );
      out.dataset.source = source;
      status.textContent = '';
    };

    clipButton.addEventListener('click', () => {
      void tinyWhisperClip().then((c) => show(c, 'bundled clip'));
    });
    micButton.addEventListener('click', () => {
      micButton.disabled = true;
      delete out.dataset.source;
      void record(chunkLength, (s) => {
        status.textContent = s;
      })
        .then((samples) => show(samples, 'microphone'))
        .catch((err: Error) => {
          status.textContent = `no microphone recording: ${err.message}`;
          status.dataset.error = err.message;
        })
        .finally(() => {
          micButton.disabled = false;
        });
    });
    await show(await tinyWhisperClip(), 'bundled clip');
  },
};
