// Whisper's decoder prompt (transformers' WhisperTokenizer.prefix_tokens): `<|startoftranscript|>`,
// then the language token, the task token (`<|transcribe|>` or `<|translate|>`) and, unless
// timestamps are predicted, `<|notimestamps|>`. The language token is the start token's id plus
// one plus the language's index in Whisper's language list, as transformers computes it.

/** Whisper's language codes in token order (`<|en|>` follows `<|startoftranscript|>`), as transformers' LANGUAGES. */
export const WHISPER_LANGUAGES: readonly string[] = [
  'en',
  'zh',
  'de',
  'es',
  'ru',
  'ko',
  'fr',
  'ja',
  'pt',
  'tr',
  'pl',
  'ca',
  'nl',
  'ar',
  'sv',
  'it',
  'id',
  'hi',
  'fi',
  'vi',
  'he',
  'uk',
  'el',
  'ms',
  'cs',
  'ro',
  'da',
  'hu',
  'ta',
  'no',
  'th',
  'ur',
  'hr',
  'bg',
  'lt',
  'la',
  'mi',
  'ml',
  'cy',
  'sk',
  'te',
  'fa',
  'lv',
  'bn',
  'sr',
  'az',
  'sl',
  'kn',
  'et',
  'mk',
  'br',
  'eu',
  'is',
  'hy',
  'ne',
  'mn',
  'bs',
  'kk',
  'sq',
  'sw',
  'gl',
  'mr',
  'pa',
  'si',
  'km',
  'sn',
  'yo',
  'so',
  'af',
  'oc',
  'ka',
  'be',
  'tg',
  'sd',
  'gu',
  'am',
  'yi',
  'lo',
  'uz',
  'fo',
  'ht',
  'ps',
  'tk',
  'nn',
  'mt',
  'sa',
  'lb',
  'my',
  'bo',
  'tl',
  'mg',
  'as',
  'tt',
  'haw',
  'ln',
  'ha',
  'ba',
  'jw',
  'su',
  'yue',
];

/** Language names accepted for `language` (transformers' TO_LANGUAGE_CODE). */
export const WHISPER_LANGUAGE_CODES: Readonly<Record<string, string>> = {
  english: 'en',
  chinese: 'zh',
  german: 'de',
  spanish: 'es',
  russian: 'ru',
  korean: 'ko',
  french: 'fr',
  japanese: 'ja',
  portuguese: 'pt',
  turkish: 'tr',
  polish: 'pl',
  catalan: 'ca',
  dutch: 'nl',
  arabic: 'ar',
  swedish: 'sv',
  italian: 'it',
  indonesian: 'id',
  hindi: 'hi',
  finnish: 'fi',
  vietnamese: 'vi',
  hebrew: 'he',
  ukrainian: 'uk',
  greek: 'el',
  malay: 'ms',
  czech: 'cs',
  romanian: 'ro',
  danish: 'da',
  hungarian: 'hu',
  tamil: 'ta',
  norwegian: 'no',
  thai: 'th',
  urdu: 'ur',
  croatian: 'hr',
  bulgarian: 'bg',
  lithuanian: 'lt',
  latin: 'la',
  maori: 'mi',
  malayalam: 'ml',
  welsh: 'cy',
  slovak: 'sk',
  telugu: 'te',
  persian: 'fa',
  latvian: 'lv',
  bengali: 'bn',
  serbian: 'sr',
  azerbaijani: 'az',
  slovenian: 'sl',
  kannada: 'kn',
  estonian: 'et',
  macedonian: 'mk',
  breton: 'br',
  basque: 'eu',
  icelandic: 'is',
  armenian: 'hy',
  nepali: 'ne',
  mongolian: 'mn',
  bosnian: 'bs',
  kazakh: 'kk',
  albanian: 'sq',
  swahili: 'sw',
  galician: 'gl',
  marathi: 'mr',
  punjabi: 'pa',
  sinhala: 'si',
  khmer: 'km',
  shona: 'sn',
  yoruba: 'yo',
  somali: 'so',
  afrikaans: 'af',
  occitan: 'oc',
  georgian: 'ka',
  belarusian: 'be',
  tajik: 'tg',
  sindhi: 'sd',
  gujarati: 'gu',
  amharic: 'am',
  yiddish: 'yi',
  lao: 'lo',
  uzbek: 'uz',
  faroese: 'fo',
  'haitian creole': 'ht',
  pashto: 'ps',
  turkmen: 'tk',
  nynorsk: 'nn',
  maltese: 'mt',
  sanskrit: 'sa',
  luxembourgish: 'lb',
  myanmar: 'my',
  tibetan: 'bo',
  tagalog: 'tl',
  malagasy: 'mg',
  assamese: 'as',
  tatar: 'tt',
  hawaiian: 'haw',
  lingala: 'ln',
  hausa: 'ha',
  bashkir: 'ba',
  javanese: 'jw',
  sundanese: 'su',
  cantonese: 'yue',
  burmese: 'my',
  valencian: 'ca',
  flemish: 'nl',
  haitian: 'ht',
  letzeburgesch: 'lb',
  pushto: 'ps',
  panjabi: 'pa',
  moldavian: 'ro',
  moldovan: 'ro',
  sinhalese: 'si',
  castilian: 'es',
  mandarin: 'zh',
};

/** A tokenizer as the prompt needs it (`@attnkit/tokenizer`'s PretrainedTokenizer has this). */
export interface TokenIdLookup {
  tokenToId(token: string): number | undefined;
}

/** Options of {@link whisperPromptIds}. */
export interface WhisperPromptOptions {
  /** A language code (`en`) or name (`english`); null or absent leaves the language out (detected by the model). */
  language?: string | null;
  /** `transcribe` or `translate` (to English); absent leaves the task out. */
  task?: 'transcribe' | 'translate' | null;
  /** Predict timestamps (default false: `<|notimestamps|>` ends the prompt). */
  timestamps?: boolean;
}

/**
 * The decoder prompt of Whisper for `generate()`'s `decoderPromptIds`, equal to transformers'
 * `WhisperTokenizer.set_prefix_tokens(...)` then `prefix_tokens`.
 *
 * @example
 * ```ts
 * import { generate } from '@attnkit/sampling';
 * import { AutoTokenizer } from '@attnkit/tokenizer';
 * const dir = 'packages/transformer/test/fixtures/pipe-whisper'; // a tiny Whisper and a small multilingual tokenizer
 * const tokenizer = await AutoTokenizer.fromPretrained(dir);
 * // <|startoftranscript|> <|en|> <|transcribe|> <|notimestamps|>: [50258, 50259, 50359, 50363] with whisper-tiny's tokenizer
 * const prompt = whisperPromptIds(tokenizer, { language: 'en', task: 'transcribe' }); // => [289, 290, 391, 395]
 * const whisper = await loadPretrained(dir, { architecture: 'WhisperForConditionalGeneration' });
 * const fe = await loadFeatureExtractor(dir);
 * const features = fe.call(new Float32Array(16000), { samplingRate: 16000 }); // 1 s of silence
 * const { sequences } = await generate(whisper, features, { decoderPromptIds: prompt, maxNewTokens: 8 });
 * ```
 */
export function whisperPromptIds(tokenizer: TokenIdLookup, options: WhisperPromptOptions = {}): number[] {
  const who = 'whisperPromptIds';
  if (!tokenizer || typeof tokenizer.tokenToId !== 'function')
    throw new TypeError(`${who}: expected a tokenizer with tokenToId(token)`);
  const id = (token: string) => {
    const v = tokenizer.tokenToId(token);
    if (v === undefined)
      throw new Error(`${who}: the tokenizer has no ${token} token (is it a Whisper tokenizer?)`);
    return v;
  };
  const sot = id('<|startoftranscript|>');
  const out = [sot];
  if (options.language !== undefined && options.language !== null) {
    const lang = String(options.language).toLowerCase();
    const code = WHISPER_LANGUAGE_CODES[lang] ?? (WHISPER_LANGUAGES.includes(lang) ? lang : undefined);
    if (code === undefined) {
      const list = lang.length === 2 ? WHISPER_LANGUAGES : Object.keys(WHISPER_LANGUAGE_CODES);
      throw new RangeError(
        `${who}: unsupported language '${options.language}'; expected one of ${list.join(', ')}`,
      );
    }
    out.push(sot + 1 + WHISPER_LANGUAGES.indexOf(code));
  }
  if (options.task !== undefined && options.task !== null) {
    if (options.task !== 'transcribe' && options.task !== 'translate')
      throw new RangeError(`${who}: task must be 'transcribe' or 'translate', got '${String(options.task)}'`);
    out.push(id(`<|${options.task}|>`));
  }
  if (!options.timestamps) out.push(id('<|notimestamps|>'));
  return out;
}
