// The embedded tiny GPT, loaded once and shared by the pages that show it.
import {
  type CharTokenizer,
  type GPT2LMHeadModel,
  loadTinyGPT,
  type TinyGPTReport,
  tinyGPTReport,
} from '@attnkit/transformer';
import { onCurrentBackend } from './backend.js';

/** The tiny GPT, its tokenizer and its training report. */
export interface TinyGPT {
  model: GPT2LMHeadModel;
  tokenizer: CharTokenizer;
  training: TinyGPTReport | null;
}

let loading: Promise<TinyGPT> | undefined;

/**
 * Loads the tiny GPT once and moves it onto the current backend. loadTinyGPT names each embedded
 * file with a literal `new URL(..., import.meta.url)`, so Vite copies them into the app (dev server
 * or dist/) and the model loads with no network beyond the app itself.
 */
export async function tinyGPT(): Promise<TinyGPT> {
  loading ??= (async () => {
    const [{ model, tokenizer }, training] = await Promise.all([
      loadTinyGPT(),
      tinyGPTReport().catch(() => null),
    ]);
    return { model, tokenizer, training };
  })();
  const gpt = await loading;
  await onCurrentBackend(gpt.model);
  return gpt;
}
