// The embedded tiny T5 (numbers 0–999 → English words), loaded once and shared.
import { loadTinyT5, type T5ForConditionalGeneration, type TinyT5Tokenizer } from '@attnkit/transformer';
import { onCurrentBackend } from './backend.js';

let loading: Promise<{ model: T5ForConditionalGeneration; tokenizer: TinyT5Tokenizer }> | undefined;

/**
 * Loads the tiny T5 once and moves it onto the current backend. loadTinyT5 names its files with
 * literal `new URL(..., import.meta.url)`s, so Vite copies them into the app.
 */
export async function tinyT5(): Promise<{ model: T5ForConditionalGeneration; tokenizer: TinyT5Tokenizer }> {
  loading ??= loadTinyT5();
  const t5 = await loading;
  await onCurrentBackend(t5.model);
  return t5;
}
