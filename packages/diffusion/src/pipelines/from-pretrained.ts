/**
 * Loading a diffusers Stable Diffusion pipeline folder: `unet/`, `vae/`, `text_encoder/` (a
 * transformers CLIPTextModel), `tokenizer/` (tokenizer.json, or CLIP's vocab.json + merges.txt) and
 * `scheduler/scheduler_config.json`, from a path (Node) or a URL.
 */
import { type FileSource, openFiles, parseJsonObject, readText } from '@attnkit/hub';
import { Tokenizer } from '@attnkit/tokenizer';
import { loadPretrained as loadTransformer } from '@attnkit/transformer';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { UNet2DConditionModel } from '../models/unet-2d-condition.js';
import { schedulerFromConfig } from '../schedulers/from-config.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { StableDiffusionComponents, TextEncoderLike } from './components.js';

/** Options of {@link StableDiffusionPipeline.fromPretrained}. */
export interface StableDiffusionLoadOptions {
  /**
   * The scheduler class to build from `scheduler/scheduler_config.json` instead of its `_class_name`
   * (as diffusers' `DDIMScheduler.from_config(pipe.scheduler.config)`): 'DDPMScheduler',
   * 'DDIMScheduler', 'EulerDiscreteScheduler' or 'DPMSolverMultistepScheduler'. Needed when the
   * folder names a scheduler attnkit does not implement (e.g. PNDMScheduler, SD 1.x's default).
   */
  scheduler?: 'DDPMScheduler' | 'DDIMScheduler' | 'EulerDiscreteScheduler' | 'DPMSolverMultistepScheduler';
}

const OP = 'StableDiffusionPipeline.fromPretrained';

/** The components of a diffusers Stable Diffusion folder (see the module comment). */
export async function loadStableDiffusionComponents(
  source: string | URL,
  options: StableDiffusionLoadOptions = {},
): Promise<StableDiffusionComponents> {
  if (typeof source !== 'string' && !(source instanceof URL))
    throw new TypeError(`${OP}: source must be a folder path or URL, got ${typeof source}`);
  const base = String(source).replace(/\/+$/, '');
  const src = openFiles(source, OP);
  const schedulerText = await readText(src, 'scheduler/scheduler_config.json', OP);
  const scheduler = makeScheduler(schedulerText, options.scheduler);
  const [unet, vae, encoder, tokenizer] = await Promise.all([
    UNet2DConditionModel.fromPretrained(`${base}/unet`),
    AutoencoderKL.fromPretrained(`${base}/vae`),
    loadTransformer(`${base}/text_encoder`),
    loadTokenizer(src.sub('tokenizer')),
  ]);
  const textEncoder = encoder as unknown as TextEncoderLike;
  if (typeof textEncoder.forward !== 'function')
    throw new Error(`${OP}: ${base}/text_encoder did not load as a text encoder`);
  const padId = tokenizer.tokenToId('<|endoftext|>');
  return {
    unet,
    vae,
    scheduler,
    textEncoder,
    tokenize: (text) => tokenizer.encode(text).ids,
    ...(padId !== undefined ? { padTokenId: padId } : {}),
  };
}

function makeScheduler(text: string, className: StableDiffusionLoadOptions['scheduler']): Scheduler {
  const config: { _class_name?: unknown } = parseJsonObject(text, 'scheduler/scheduler_config.json', OP);
  try {
    return schedulerFromConfig(config, className);
  } catch (e) {
    throw new Error(
      `${OP}: the folder's scheduler ${JSON.stringify(config._class_name ?? null)} is not implemented; pass { scheduler: 'DDIMScheduler' } (or DDPMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler) to build that class from the same config (${(e as Error).message})`,
    );
  }
}

/** tokenizer.json when the folder has one, else CLIP's vocab.json + merges.txt. */
async function loadTokenizer(dir: FileSource): Promise<Tokenizer> {
  const json = await readText(dir, 'tokenizer.json', OP, { optional: true });
  if (json !== null) return Tokenizer.fromJSON(json);
  const [vocabText, mergesText] = await Promise.all([
    readText(dir, 'vocab.json', OP),
    readText(dir, 'merges.txt', OP),
  ]);
  return Tokenizer.fromJSON(clipTokenizerJson(vocabText, mergesText));
}

/**
 * The tokenizer.json that transformers' CLIPConverter writes for CLIP's vocab.json + merges.txt:
 * byte-level BPE with the `</w>` end-of-word suffix, NFC + whitespace folding + lowercasing, CLIP's
 * split pattern, `<|startoftext|> … <|endoftext|>` around every text.
 */
export function clipTokenizerJson(vocabText: string, mergesText: string): Record<string, unknown> {
  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(vocabText);
  } catch (e) {
    throw new Error(`${OP}: tokenizer/vocab.json is not JSON (${(e as Error).message})`);
  }
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab))
    throw new Error(`${OP}: tokenizer/vocab.json must map tokens to ids`);
  const merges = mergesText
    .split(/\r?\n/)
    .filter((line, i) => line.trim().length > 0 && !(i === 0 && line.startsWith('#version')));
  const special = (token: string): number => {
    const id = vocab[token];
    if (!Number.isInteger(id)) throw new Error(`${OP}: tokenizer/vocab.json has no ${token}`);
    return id;
  };
  const bos = special('<|startoftext|>');
  const eos = special('<|endoftext|>');
  const added = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(bos, '<|startoftext|>'), added(eos, '<|endoftext|>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['<|endoftext|>', eos],
      cls: ['<|startoftext|>', bos],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
