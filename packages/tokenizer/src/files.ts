/**
 * Reading the files of a Hugging Face folder from where they are: a folder path (Node), a URL
 * (a Hub repository's `resolve/main/` URL or any folder served over HTTP), or a map of file name
 * to contents (Files from a browser's file picker, strings or bytes).
 *
 * Every reader in this package goes through {@link readTextFile}, so moving to the shared
 * file-source reader of `@attnkit/hub` is a change of this one function.
 */

import { describe } from './models.js';

/** A file's contents as a map can hold them: text, bytes, or a Blob/File. */
export type FileContents = string | Uint8Array | ArrayBuffer | Blob;

/**
 * Where a tokenizer's files are: a folder path, a URL of a folder (ending in `/` or not), or a
 * map (or plain object) from file name to contents. Map keys may carry a folder prefix
 * (`'my-model/tokenizer.json'`), as a browser folder picker gives them.
 */
export type FileSource = string | URL | Map<string, FileContents> | Record<string, FileContents>;

async function contentsToText(c: FileContents): Promise<string> {
  if (typeof c === 'string') return c;
  if (c instanceof Uint8Array || c instanceof ArrayBuffer) return new TextDecoder().decode(c);
  if (typeof Blob !== 'undefined' && c instanceof Blob) return c.text();
  throw new TypeError(`expected a string, bytes or a Blob, got ${describe(c)}`);
}

/**
 * The text of `name` in `source`, or null when the source has no such file.
 * @throws Error naming `where` and the file when it exists but cannot be read.
 */
export async function readTextFile(source: FileSource, name: string, where: string): Promise<string | null> {
  if (source instanceof Map || (typeof source === 'object' && !(source instanceof URL) && source !== null)) {
    const entries: Array<[string, FileContents]> =
      source instanceof Map ? [...source] : Object.entries(source as Record<string, FileContents>);
    const hit = entries.find(([k]) => k === name || k.endsWith(`/${name}`));
    if (!hit) return null;
    try {
      return await contentsToText(hit[1]);
    } catch (e) {
      throw new Error(`${where}: cannot read ${name}: ${(e as Error).message}`);
    }
  }
  const isUrl = source instanceof URL || /^(https?|file|blob|data):/i.test(source as string);
  if (isUrl) {
    const base = String(source);
    const url = new URL(name, base.endsWith('/') ? base : `${base}/`);
    if (url.protocol === 'file:' && typeof process !== 'undefined') return readPath(url, name, where);
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`${where}: cannot fetch ${url}: ${(e as Error).message}`);
    }
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${where}: fetching ${url} failed with HTTP ${res.status}`);
    return res.text();
  }
  if (typeof source !== 'string')
    throw new TypeError(
      `${where}: source must be a folder path, a URL or a map of files, got ${describe(source)}`,
    );
  return readPath(source.endsWith('/') ? `${source}${name}` : `${source}/${name}`, name, where);
}

async function readPath(path: string | URL, name: string, where: string): Promise<string | null> {
  // A variable specifier: bundlers neither resolve nor warn about a Node built-in they cannot ship.
  const specifier = 'node:fs/promises';
  const fs = (await import(
    /* webpackIgnore: true */ /* @vite-ignore */ specifier
  )) as typeof import('node:fs/promises');
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw new Error(`${where}: cannot read ${name} at ${String(path)}: ${(e as Error).message}`);
  }
}
