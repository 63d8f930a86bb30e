// pipeline(task, folder) against transformers' pipeline() on the same tiny checkpoints (folders
// and outputs written by scripts/pipeline_refs.py with transformers 5.18): greedy text generation
// (text, return_full_text false, a chat, two prompts), fill-mask top-5 scores/tokens, feature
// extraction (none / mean + normalize / cls), image classification (with and without resizing).
// Then streaming, the q8 dtype, and bad input: unknown tasks, tasks served elsewhere or not yet,
// a folder whose architecture does not serve the task.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tensor } from '@attnkit/tensor-core';
import { Linear16, QuantizedLinear } from '@attnkit/tensor-core/nn';
import type { ChatMessage } from '@attnkit/tokenizer';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type AutomaticSpeechRecognitionOptions,
  type AutomaticSpeechRecognitionOutput,
  type ChatGenerationOutput,
  type FillMaskOutput,
  GPT2LMHeadModel,
  pipeline,
  pipelineTasks,
  resizeBilinear,
  type TextGenerationOutput,
} from '../src/index.js';
import { ATOL, RTOL } from './helpers.js';

const FIX = fileURLToPath(new URL('./fixtures/', import.meta.url));
const refs = {
  ...JSON.parse(readFileSync(`${FIX}pipe-refs.json`, 'utf8')),
  asr: JSON.parse(readFileSync(`${FIX}pipe-asr-refs.json`, 'utf8')),
};
const dir = (name: string) => `${FIX}${name}`;

/** |got - want| <= ATOL + RTOL |want| (1e-5 + 1e-4 |want|), the parity tolerance of helpers.ts. */
function close(got: number, want: number): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(want));
}

describe("pipeline('text-generation') matches transformers' greedy outputs", () => {
  const tg = refs['text-generation'];
  const opts = { maxNewTokens: tg.max_new_tokens as number, doSample: false };

  it('a prompt (BOS added, as transformers): the prompt and its continuation; returnFullText false: the continuation', async () => {
    const gen = await pipeline('text-generation', dir(tg.folder));
    const out = await gen(tg.cases.full.prompt, opts);
    expectTypeOf(out).toEqualTypeOf<TextGenerationOutput[]>();
    expect(out).toEqual(tg.cases.full.output);
    // without the BOS the model continues differently
    expect(await gen(tg.cases.full.prompt, { ...opts, addSpecialTokens: false })).not.toEqual(
      tg.cases.full.output,
    );
    expect(await gen(tg.cases.new_only.prompt, { ...opts, returnFullText: false })).toEqual(
      tg.cases.new_only.output,
    );
    gen.dispose();
  });

  it('a chat (chat_template.jinja): the conversation with the reply appended', async () => {
    const gen = await pipeline('text-generation', dir(tg.folder));
    const messages: ChatMessage[] = tg.cases.chat.messages;
    const out = await gen(messages, opts);
    expectTypeOf(out).toEqualTypeOf<ChatGenerationOutput[]>();
    expect(out).toEqual(tg.cases.chat.output);
    gen.dispose();
  });

  it('a chat ending with an assistant message: the reply continues it (continue_final_message)', async () => {
    const gen = await pipeline('text-generation', dir(tg.folder));
    expect(await gen(tg.cases.chat_prefill.messages as ChatMessage[], opts)).toEqual(
      tg.cases.chat_prefill.output,
    );
    gen.dispose();
  });

  it('two prompts of different lengths (left-padded into one batch): each as transformers alone', async () => {
    const gen = await pipeline('text-generation', dir(tg.folder));
    const out = await gen(tg.cases.batch.prompts as string[], opts);
    expectTypeOf(out).toEqualTypeOf<TextGenerationOutput[][]>();
    expect(out).toEqual(tg.cases.batch.output);
    gen.dispose();
  });

  it('numReturnSequences with sampling: that many outputs per prompt, each starting with its prompt', async () => {
    const gen = await pipeline('text-generation', dir(tg.folder));
    const out = await gen(['The cat', 'Once upon'], {
      maxNewTokens: 3,
      doSample: true,
      numReturnSequences: 3,
      seed: 1,
    });
    expect(out.map((o) => o.length)).toEqual([3, 3]);
    for (const o of out[0]) expect(o.generated_text.startsWith('The cat')).toBe(true);
    for (const o of out[1]) expect(o.generated_text.startsWith('Once upon')).toBe(true);
    gen.dispose();
  });

  it('streams: the streamer callback and stream() give the pieces of the same text', async () => {
    const gen = await pipeline('text-generation', dir(tg.folder));
    const pieces: string[] = [];
    const out = await gen(tg.cases.new_only.prompt, {
      ...opts,
      returnFullText: false,
      streamer: (t) => pieces.push(t),
    });
    expect(out).toEqual(tg.cases.new_only.output);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(tg.cases.new_only.output[0].generated_text);
    const streamed: string[] = [];
    for await (const piece of gen.stream(tg.cases.chat.messages, opts)) streamed.push(piece);
    expect(streamed.join('')).toBe(tg.cases.chat.output[0].generated_text.at(-1).content);
    await expect(gen(['a', 'b'], { ...opts, streamer: () => {} })).rejects.toThrow(/one prompt at a time/);
    await expect(
      gen('a', { maxNewTokens: 2, doSample: true, numReturnSequences: 2, streamer: () => {} }),
    ).rejects.toThrow(/streams one sequence/);
    gen.dispose();
  });

  it("dtype 'q8' quantises the weights and still generates", async () => {
    const gen = await pipeline('text-generation', dir(tg.folder), { dtype: 'q8', backend: 'cpu' });
    expect(gen.model).toBeInstanceOf(GPT2LMHeadModel);
    expect(gen.model instanceof GPT2LMHeadModel && gen.model.transformer.h[0].attn.c_attn).toBeInstanceOf(
      QuantizedLinear,
    );
    const [out] = await gen('Hello', { maxNewTokens: 4 });
    expect(out.generated_text.startsWith('Hello')).toBe(true);
    gen.dispose();
  });

  for (const [dtype, want] of [
    ['fp16', 'float16'],
    ['bf16', 'bfloat16'],
  ] as const) {
    it(`dtype '${dtype}' keeps ${want} weight matrices and generates as fp32 does`, async () => {
      const gen = await pipeline('text-generation', dir(tg.folder), { dtype, backend: 'cpu' });
      const layer = gen.model instanceof GPT2LMHeadModel && gen.model.transformer.h[0].attn.c_attn;
      expect(layer).toBeInstanceOf(Linear16);
      expect((layer as unknown as Linear16).weight.dtype).toBe(want);
      const ref = await pipeline('text-generation', dir(tg.folder), { backend: 'cpu' });
      const [out] = await gen('Hello', { maxNewTokens: 4 });
      const [outRef] = await ref('Hello', { maxNewTokens: 4 });
      expect(out.generated_text.startsWith('Hello')).toBe(true);
      // greedy tokens of this checkpoint are well separated: 16-bit weights do not change them
      expect(out.generated_text).toBe(outRef.generated_text);
      gen.dispose();
      ref.dispose();
    });
  }
});

describe("pipeline('fill-mask') matches transformers' top-5", () => {
  const fm = refs['fill-mask'];
  it('scores (1e-4), tokens, token_str and sequence, one text and a batch', async () => {
    const unmasker = await pipeline('fill-mask', dir(fm.folder));
    const check = (got: FillMaskOutput[], want: FillMaskOutput[]) => {
      expect(got.map((o) => [o.token, o.token_str, o.sequence])).toEqual(
        want.map((o) => [o.token, o.token_str, o.sequence]),
      );
      for (const [i, o] of got.entries()) close(o.score, want[i].score);
    };
    const one = await unmasker(fm.cases[0].text);
    expectTypeOf(one).toEqualTypeOf<FillMaskOutput[]>();
    check(one, fm.cases[0].output);
    const both = await unmasker(fm.cases.map((c: { text: string }) => c.text) as string[], { topK: 5 });
    expectTypeOf(both).toEqualTypeOf<FillMaskOutput[][]>();
    for (const [i, got] of both.entries()) check(got, fm.cases[i].output);
    await expect(unmasker('no mask here')).rejects.toThrow(/exactly one \[MASK\].*found 0/);
    await expect(unmasker('[MASK] and [MASK]')).rejects.toThrow(/found 2/);
    unmasker.dispose();
  });
});

describe("pipeline('feature-extraction') matches transformers' hidden states", () => {
  const fe = refs['feature-extraction'];
  it("pooling 'none' [1, L, D], 'mean' + normalize [B, D], 'cls' (1e-4)", async () => {
    const extractor = await pipeline('feature-extraction', dir(fe.folder));
    const c0 = fe.cases[0];
    const hidden = await extractor(c0.text);
    expect(hidden.shape).toEqual([1, c0.hidden.length, c0.hidden[0].length]);
    const flat = c0.hidden.flat();
    for (const [i, v] of Array.from(await hidden.data()).entries()) close(v, flat[i]);
    hidden.dispose();
    // a batch of two texts of different lengths: the mean ignores the padding
    const pooled = await extractor(
      fe.cases.map((c: { text: string }) => c.text),
      { pooling: 'mean', normalize: true },
    );
    expect(pooled.shape).toEqual([2, c0.hidden[0].length]);
    const rows = await pooled.data();
    for (const [b, c] of (fe.cases as { mean_normalized: number[] }[]).entries())
      for (const [j, v] of c.mean_normalized.entries()) close(rows[b * c.mean_normalized.length + j], v);
    pooled.dispose();
    const cls = await extractor(c0.text, { pooling: 'cls' });
    for (const [i, v] of Array.from(await cls.data()).entries()) close(v, c0.cls[i]);
    cls.dispose();
    await expect(extractor('x', { pooling: 'max' as 'mean' })).rejects.toThrow(
      /pooling must be one of 'none', 'mean', 'cls'/,
    );
    extractor.dispose();
  });
});

describe("pipeline('feature-extraction') on a masked-LM checkpoint", () => {
  it("runs its encoder, as transformers' AutoModel does (1e-4)", async () => {
    const ref = refs['feature-extraction-mlm'];
    const extractor = await pipeline('feature-extraction', dir(ref.folder));
    expect(extractor.model.architecture).toBe('BertModel');
    const hidden = await extractor(ref.text);
    expect(hidden.shape).toEqual([1, ref.hidden.length, ref.hidden[0].length]);
    const flat = ref.hidden.flat();
    for (const [i, v] of Array.from(await hidden.data()).entries()) close(v, flat[i]);
    hidden.dispose();
    extractor.dispose();
  });
});

describe("pipeline('image-classification') matches transformers' labels and scores", () => {
  const ic = refs['image-classification'];
  it('a 16x16 image (no resize) and a 20x24 image (Pillow bilinear resize to 16x16)', async () => {
    const classify = await pipeline('image-classification', dir(ic.folder));
    for (const c of ic.cases) {
      const image = {
        data: Uint8Array.from(c.rgb as number[]),
        width: c.width,
        height: c.height,
        channels: 3 as const,
      };
      const out = await classify(image, { topK: c.top_k });
      expect(out.map((o) => o.label)).toEqual(c.output.map((o: { label: string }) => o.label));
      for (const [i, o] of out.entries()) close(o.score, c.output[i].score);
      // transformers' function_to_apply='sigmoid'
      const sig = await classify(image, { topK: c.top_k, functionToApply: 'sigmoid' });
      expect(sig.map((o) => o.label)).toEqual(c.output_sigmoid.map((o: { label: string }) => o.label));
      for (const [i, o] of sig.entries()) close(o.score, c.output_sigmoid[i].score);
    }
    // default topK 1 (transformers.js); RGBA drops alpha; a batch of raw images
    const c = ic.cases[0];
    const rgba = new Uint8Array(c.width * c.height * 4);
    for (let i = 0; i < c.width * c.height; i++) rgba.set([...c.rgb.slice(3 * i, 3 * i + 3), 7], 4 * i);
    const [best] = await classify([{ data: rgba, width: c.width, height: c.height, channels: 4 }]);
    expect(best).toHaveLength(1);
    expect(best[0].label).toBe(c.output[0].label);
    close(best[0].score, c.output[0].score);
    await expect(classify({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 })).rejects.toThrow(
      /\[height 4, width 4, 3\] values \(or 4 with alpha, 1 grey\), got 10 values with channels 3/,
    );
    classify.dispose();
  });

  it('pixel values: a float32 Tensor [B, 3, H, W] goes to the model as it is', async () => {
    const classify = await pipeline('image-classification', dir(ic.folder));
    const c = ic.cases[0];
    // the preprocessing by hand: x / 255, then (x - 0.5) / 0.5, channels first
    const n = c.width * c.height;
    const px = new Float32Array(3 * n);
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < 3; ch++) px[ch * n + i] = (c.rgb[3 * i + ch] / 255 - 0.5) / 0.5;
    const out = await classify(tensor(px, [1, 3, c.height, c.width]), { topK: 4 });
    expect(Array.isArray(out[0])).toBe(true);
    expect(out).toHaveLength(1);
    close((out[0] as { score: number }[])[0].score, c.output[0].score);
    classify.dispose();
  });

  it('resizeBilinear keeps a constant image constant and equals the input at the same size', () => {
    const flat = new Uint8Array(20 * 24 * 3).fill(93);
    expect(Array.from(resizeBilinear(flat, 20, 24, 16, 16))).toEqual(new Array(16 * 16 * 3).fill(93));
    const img = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) % 256);
    expect(resizeBilinear(img, 5, 4, 5, 4)).toEqual(img);
  });
});

describe("pipeline('automatic-speech-recognition') matches transformers' transcriptions", () => {
  const asr = refs.asr;
  const clips: Float32Array[] = asr.clips.map(
    (c: { file: string; samples: number }) =>
      new Float32Array(readFileSync(`${dir(asr.folder)}/${c.file}`).buffer.slice(0)),
  );
  type Case = {
    clip: number;
    options: Record<string, unknown>;
    what: string;
    text: string;
    beam5_text?: string;
  };
  /** transformers' options (snake_case) in attnkit's names, greedy as the references. */
  const optionsOf = (o: Record<string, unknown>): AutomaticSpeechRecognitionOptions => ({
    numBeams: 1,
    ...(o.max_new_tokens !== undefined ? { maxNewTokens: o.max_new_tokens as number } : {}),
    ...(o.language !== undefined ? { language: o.language as string } : {}),
    ...(o.task !== undefined ? { task: o.task as 'transcribe' | 'translate' } : {}),
  });
  const groups = new Map<string, Case[]>();
  for (const c of asr.cases as Case[]) groups.set(c.what, [...(groups.get(c.what) ?? []), c]);

  it('the clips are 16 kHz Float32Arrays of the recorded lengths', () => {
    expect(clips.map((c) => c.length)).toEqual(asr.clips.map((c: { samples: number }) => c.samples));
  });

  for (const [what, cases] of groups) {
    it(`${what}: each clip alone and the three as a list (exact text)`, async () => {
      const transcriber = await pipeline('automatic-speech-recognition', dir(asr.folder));
      const opts = optionsOf(cases[0].options);
      for (const c of cases) {
        const out = await transcriber(clips[c.clip], opts);
        expectTypeOf(out).toEqualTypeOf<AutomaticSpeechRecognitionOutput>();
        expect(out).toEqual({ text: c.text });
      }
      const all = await transcriber(
        cases.map((c) => clips[c.clip]),
        opts,
      );
      expectTypeOf(all).toEqualTypeOf<AutomaticSpeechRecognitionOutput[]>();
      expect(all).toEqual(cases.map((c) => ({ text: c.text })));
      // without numBeams: the pipeline's default beam search (5 beams), as transformers'
      const { numBeams: _, ...beamOpts } = opts;
      for (const c of cases)
        if (c.beam5_text !== undefined)
          expect(await transcriber(clips[c.clip], beamOpts)).toEqual({ text: c.beam5_text });
      transcriber.dispose();
    });
  }

  it('bad audio and options are named', async () => {
    const transcriber = await pipeline('automatic-speech-recognition', dir(asr.folder));
    const clip = clips[1];
    await expect(transcriber(new Float32Array(0))).rejects.toThrow(
      /the audio is empty \(expected mono samples at 16000 Hz\)/,
    );
    await expect(transcriber(Float64Array.from(clip) as unknown as Float32Array)).rejects.toThrow(
      /the audio must be a Float32Array of mono samples at 16000 Hz, got .*convert it with Float32Array.from/,
    );
    await expect(transcriber([clip, [0.1, 0.2] as unknown as Float32Array])).rejects.toThrow(
      /clip 1 must be a Float32Array/,
    );
    await expect(transcriber([])).rejects.toThrow(/the list of audio clips is empty/);
    await expect(transcriber(clip, { samplingRate: '16000' as unknown as number })).rejects.toThrow(
      /samplingRate must be a number of Hz \(16000\), got string "16000"/,
    );
    await expect(transcriber(clip, { samplingRate: 44100 })).rejects.toThrow(
      /sampled at 44100 Hz; this model's feature extractor expects 16000 Hz \(resample it first\)/,
    );
    // longer than the feature extractor's chunk (3 s in this checkpoint, 30 s in Whisper's)
    await expect(transcriber(new Float32Array(48001))).rejects.toThrow(
      /holds 48001 samples \(3.00 s\); this model takes at most 48000 \(3 s at 16000 Hz\): long-form transcription is not implemented/,
    );
    await expect(transcriber(clip, { language: 'klingon' })).rejects.toThrow(
      /unsupported language 'klingon'/,
    );
    await expect(transcriber(clip, { task: 'summarize' as 'translate' })).rejects.toThrow(
      /task must be 'transcribe' or 'translate', got string "summarize"/,
    );
    // 4 prompt tokens + 21 > the 24 decoder positions
    await expect(transcriber(clip, { maxNewTokens: 21 })).rejects.toThrow(
      /the decoder prompt \(4 tokens\) and maxNewTokens 21 exceed the model's 24 decoder positions/,
    );
    await expect(transcriber(clip, { max_new_tokens: 3 } as object)).rejects.toThrow(
      /did you mean 'maxNewTokens'/,
    );
    transcriber.dispose();
  });

  it("the checkpoint's settings: no max_length means the pipeline's 256 new tokens (refused here); an English-only checkpoint takes no language", async () => {
    const files: Record<string, Uint8Array> = {};
    for (const name of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'preprocessor_config.json',
    ])
      files[name] = readFileSync(`${dir(asr.folder)}/${name}`);
    const gen = JSON.parse(readFileSync(`${dir(asr.folder)}/generation_config.json`, 'utf8'));
    const write = (json: object) => new TextEncoder().encode(JSON.stringify(json));
    const { max_length: _, ...noLength } = gen;
    const unbounded = await pipeline('automatic-speech-recognition', {
      ...files,
      'generation_config.json': write(noLength),
    });
    await expect(unbounded(clips[0], { numBeams: 1 })).rejects.toThrow(
      /the decoder prompt \(4 tokens\) and maxNewTokens 256 exceed the model's 24 decoder positions/,
    );
    // with maxNewTokens it transcribes as the reference
    const c = (asr.cases as Case[])[0];
    expect(await unbounded(clips[c.clip], optionsOf(c.options))).toEqual({ text: c.text });
    unbounded.dispose();
    const english = await pipeline('automatic-speech-recognition', {
      ...files,
      'generation_config.json': write({ ...gen, is_multilingual: false }),
    });
    await expect(english(clips[0], { language: 'de', maxNewTokens: 2 })).rejects.toThrow(
      /English-only \(is_multilingual false\): leave out language and task/,
    );
    english.dispose();
    await expect(
      pipeline('automatic-speech-recognition', {
        ...files,
        'generation_config.json': write({ ...gen, return_timestamps: true }),
      }),
    ).rejects.toThrow(/return_timestamps true; timestamp prediction is not implemented/);
    const { 'preprocessor_config.json': __, ...noPre } = files;
    await expect(pipeline('automatic-speech-recognition', noPre)).rejects.toThrow(/preprocessor_config.json/);
  });
});

describe('pipeline: bad input', () => {
  it('an unknown task lists the tasks there are', async () => {
    const p = pipeline('text-classification' as 'fill-mask', dir('pipe-bert-mlm'));
    await expect(p).rejects.toThrow(
      /unknown task string "text-classification"; tasks: 'text-generation', 'fill-mask', 'feature-extraction', 'image-classification', 'automatic-speech-recognition', 'text-to-image' \(import '@attnkit\/diffusion'/,
    );
    expect(pipelineTasks()).toEqual([
      'text-generation',
      'fill-mask',
      'feature-extraction',
      'image-classification',
      'automatic-speech-recognition',
    ]);
  });

  it("'text-to-image' names @attnkit/diffusion", async () => {
    await expect(pipeline('text-to-image' as 'fill-mask', dir('pipe-bert'))).rejects.toThrow(
      /served by @attnkit\/diffusion: import it first/,
    );
  });

  it('a folder whose architecture does not serve the task says so', async () => {
    await expect(pipeline('fill-mask', dir('pipe-gpt2'))).rejects.toThrow(
      /pipeline\('fill-mask'\).*class GPT2LMHeadModel does not serve the task 'fill-mask' \(classes for it: BertForMaskedLM/,
    );
    await expect(pipeline('text-generation', dir('pipe-vit'))).rejects.toThrow(
      /ViTForImageClassification does not serve the task 'text-generation'/,
    );
  });

  it('a checkpoint without tokenizer files says so (a Qwen2 checkpoint: the task accepts it)', async () => {
    await expect(pipeline('text-generation', dir('hf-qwen2'))).rejects.toThrow(
      /pipeline\('text-generation'\): AutoTokenizer.fromPretrained: the source has no tokenizer.json/,
    );
  });

  it('bad options and inputs are named', async () => {
    await expect(pipeline('fill-mask', dir('pipe-bert-mlm'), { dtype: 'q4' as 'q8' })).rejects.toThrow(
      /dtype must be one of 'fp32', 'fp16', 'bf16', 'q8', got string "q4"/,
    );
    await expect(pipeline('fill-mask', dir('pipe-bert-mlm'), { backend: 'nope' })).rejects.toThrow(/nope/);
    const gen = await pipeline('text-generation', dir('pipe-gpt2'));
    await expect(gen(42 as unknown as string)).rejects.toThrow(/must be a string, a list of strings, a chat/);
    await expect(gen('Hi', { max_new_tokens: 3 } as object)).rejects.toThrow(/did you mean 'maxNewTokens'/);
    gen.dispose();
  });
});
