// Where a checkpoint's files come from: a folder (Node), a URL base (http(s), or file: in Node),
// or the files themselves by name (a Map or a record of Files/Blobs/ArrayBuffers/Responses).
// Every loader (models, pipelines, tokenizers) opens its source here and reads files by name.
//
//   source ──▶ openFiles() ──▶ FileSource.read('config.json') ──▶ bytes | null (absent)
//
// Node modules are imported lazily through a variable specifier, only for folders, so browser
// bundlers never try to resolve a Node built-in.
import { ConfigError, describe } from './messages.js';

/** One file's contents as a browser or Node program has them (a string is UTF-8 text). */
export type FileLike = Blob | ArrayBuffer | ArrayBufferView | Response | string;

/**
 * Where a checkpoint is: a folder path (Node), a URL base (`https://…/tiny-llama/`; files are fetched
 * from `base/config.json`, …; `file:` URLs read the file system in Node), or the files by name
 * (`{ 'config.json': file, … }` or a Map; names may hold `/` for sub-folders, e.g. `unet/config.json`).
 */
export type FilesSource = string | URL | Map<string, FileLike> | Record<string, FileLike>;

/** An opened source: reads files by name (relative to the source's root). */
export interface FileSource {
  /**
   * The file's bytes, or null when the source has no such file. Throws when it exists but cannot be
   * read. `onBytes` follows a download as it streams (URL sources; other sources report once).
   */
  read(
    name: string,
    onBytes?: (loaded: number, total: number | undefined) => void,
  ): Promise<Uint8Array | null>;
  /** Whether the file exists. */
  has(name: string): Promise<boolean>;
  /** The same kind of source rooted at a sub-folder (`unet`, `tokenizer`, …). */
  sub(folder: string): FileSource;
  /** A short name of the source for messages (the folder, the URL, or `<files: a, b>`). */
  readonly where: string;
}

const isNode = (): boolean =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** Whether code runs in Node (folders are readable). */
export function canReadFolders(): boolean {
  return isNode();
}

type NodeFs = typeof import('node:fs/promises');

/** node:fs/promises, loaded on first use through a variable specifier (not resolved by bundlers). */
async function nodeFs(): Promise<NodeFs> {
  const specifier = 'node:fs/promises';
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as NodeFs;
}

function isResponse(x: unknown): x is Response {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Response).arrayBuffer === 'function' &&
    typeof (x as Response).ok === 'boolean' &&
    typeof (x as Response).status === 'number'
  );
}

/**
 * The bytes of one file as a browser or Node program has it: a Blob/File, an ArrayBuffer, a typed
 * array or DataView (no copy), or a fetch Response (which must be ok).
 *
 * @throws TypeError for anything else, naming `fn` and what it got
 */
export async function fileBytes(f: unknown, fn = 'fileBytes'): Promise<Uint8Array> {
  if (f instanceof Uint8Array) return f;
  if (typeof f === 'string') return new TextEncoder().encode(f);
  if (ArrayBuffer.isView(f)) return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  if (f instanceof ArrayBuffer) return new Uint8Array(f);
  if (typeof SharedArrayBuffer !== 'undefined' && f instanceof SharedArrayBuffer) return new Uint8Array(f);
  if (typeof Blob !== 'undefined' && f instanceof Blob) return new Uint8Array(await f.arrayBuffer());
  if (isResponse(f)) {
    if (!f.ok) throw new Error(`${fn}: ${f.url || 'the Response'} has HTTP status ${f.status}`);
    return new Uint8Array(await f.arrayBuffer());
  }
  throw new TypeError(
    `${fn}: expected a File, Blob, ArrayBuffer, typed array, Response or string, got ${describe(f)}`,
  );
}

function checkName(name: unknown, fn: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.split('/').some((p) => p === '..')) {
    throw new TypeError(
      `${fn}: a file name must be a non-empty relative path without '..', got ${describe(name)}`,
    );
  }
  return name.replace(/^\.\/+/, '');
}

/**
 * The entry of `map` for `key`: the key itself, or the one key ending in `/<key>` when every key
 * carries the same folder prefix (a browser folder picker gives `my-model/config.json`).
 */
function mapEntry(map: Map<string, unknown>, key: string): unknown {
  if (map.has(key)) return map.get(key);
  const hits = [...map.keys()].filter(
    (k) => k.endsWith(`/${key}`) && k.split('/').length === key.split('/').length + 1,
  );
  return hits.length === 1 ? map.get(hits[0]) : undefined;
}

function mapSource(map: Map<string, unknown>, fn: string, prefix = ''): FileSource {
  const where =
    prefix === '' ? `<files: ${[...map.keys()].join(', ')}>` : `<files: ${prefix.replace(/\/$/, '')}>`;
  const src: FileSource = {
    where,
    async read(name) {
      const key = prefix + checkName(name, fn);
      const f = mapEntry(map, key);
      if (f === undefined || f === null) return null;
      try {
        return await fileBytes(f, fn);
      } catch (e) {
        throw new ConfigError(`${fn}: cannot read '${key}': ${(e as Error).message}`, null, { cause: e });
      }
    },
    async has(name) {
      const f = mapEntry(map, prefix + checkName(name, fn));
      return f !== undefined && f !== null;
    },
    sub(folder) {
      return mapSource(map, fn, `${prefix}${checkName(folder, fn).replace(/\/+$/, '')}/`);
    },
  };
  return src;
}

/**
 * The folder URL that file names resolve against: `root` itself when it is an absolute URL; a
 * relative one ('models/gpt2') resolves against the page's address, as fetch() would.
 */
function folderURL(root: string, fn: string): string {
  const folder = root.endsWith('/') ? root : `${root}/`;
  if (URL.canParse(folder)) return folder;
  const page = (globalThis as { location?: { href?: unknown } }).location?.href;
  if (typeof page === 'string' && URL.canParse(folder, page)) return new URL(folder, page).href;
  throw new ConfigError(
    `${fn}: '${root}' is neither an absolute URL nor a path this environment can resolve (no page address); pass an https:// URL or a map of file names to files`,
  );
}

function urlSource(root: string, fn: string): FileSource {
  const base = folderURL(root, fn);
  const local = /^file:/i.test(base) && isNode();
  return {
    where: base,
    async read(name, onBytes) {
      const url = new URL(checkName(name, fn), base);
      if (local) return readLocal(url, url.pathname, fn);
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new ConfigError(`${fn}: fetching ${url.href} failed: ${(e as Error).message}`, null, {
          cause: e,
        });
      }
      if (res.status === 404) return null;
      if (!res.ok) throw new ConfigError(`${fn}: fetching ${url.href}: HTTP ${res.status} ${res.statusText}`);
      if (!onBytes || !res.body) return new Uint8Array(await res.arrayBuffer());
      return streamBytes(res, onBytes);
    },
    async has(name) {
      const url = new URL(checkName(name, fn), base);
      if (local) return (await statLocal(url)) === 'file';
      try {
        const res = await fetch(url, { method: 'HEAD' });
        return res.ok;
      } catch {
        return false;
      }
    },
    sub(folder) {
      return urlSource(new URL(`${checkName(folder, fn).replace(/\/+$/, '')}/`, base).href, fn);
    },
  };
}

/** A response body read chunk by chunk, reporting the bytes so far (total from content-length). */
async function streamBytes(
  res: Response,
  onBytes: (loaded: number, total: number | undefined) => void,
): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onBytes(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

async function statLocal(path: string | URL): Promise<'file' | 'folder' | null> {
  const fs = await nodeFs();
  const st = await fs.stat(path).catch(() => null);
  if (!st) return null;
  return st.isDirectory() ? 'folder' : 'file';
}

async function readLocal(path: string | URL, shown: string, fn: string): Promise<Uint8Array | null> {
  const fs = await nodeFs();
  try {
    const buf = await fs.readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new ConfigError(`${fn}: cannot read ${shown}: ${(e as Error).message}`, null, { cause: e });
  }
}

function folderSource(root: string, fn: string): FileSource {
  const dir = root.replace(/\/+$/, '') || '/';
  const join = (name: string) => `${dir}/${checkName(name, fn)}`;
  let checked = false;
  const checkRoot = async () => {
    if (checked) return;
    const kind = await statLocal(dir);
    if (kind === null) throw new ConfigError(`${fn}: the folder '${dir}' does not exist`);
    if (kind !== 'folder') throw new ConfigError(`${fn}: '${dir}' is not a folder`);
    checked = true;
  };
  return {
    where: dir,
    async read(name) {
      const path = join(name);
      const bytes = await readLocal(path, path, fn);
      if (bytes === null) await checkRoot();
      return bytes;
    },
    async has(name) {
      return (await statLocal(join(name))) === 'file';
    },
    sub(folder) {
      return folderSource(join(folder), fn);
    },
  };
}

/**
 * Opens a checkpoint source for reading files by name. `fn` names the public function in messages.
 * A string is a folder path in Node and a URL base elsewhere; `http(s):`, `blob:` and `data:`
 * strings are always URLs.
 *
 * @throws TypeError when `source` is none of the accepted kinds
 * @example
 * ```ts
 * const src = openFiles('packages/transformer/test/fixtures/bert-tiny', 'loadPretrained');
 * const config = await readJson(src, 'config.json', 'loadPretrained');        // throws when absent
 * const gen = await readJson(src, 'generation_config.json', 'loadPretrained', { optional: true });
 * gen; // => null
 * ```
 */
export function openFiles(source: FilesSource, fn = 'openFiles'): FileSource {
  if (source instanceof Map) return mapSource(source as Map<string, unknown>, fn);
  if (source && typeof source === 'object' && !(source instanceof URL)) {
    if (isResponse(source) || ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
      throw new TypeError(
        `${fn}: 'source' must be a folder path, a URL base or a map of file names to files, got one file (${describe(source)}); pass { 'config.json': …, 'model.safetensors': … }`,
      );
    }
    return mapSource(new Map(Object.entries(source as Record<string, FileLike>)), fn);
  }
  const base = source instanceof URL ? source.href : source;
  if (typeof base !== 'string' || base.length === 0) {
    throw new TypeError(
      `${fn}: 'source' must be a folder path, a URL base or a map of file names to Files/ArrayBuffers, got ${describe(source)}`,
    );
  }
  if (/^(https?|blob|data|file):/i.test(base) || !isNode()) return urlSource(base, fn);
  return folderSource(base, fn);
}

/** Whether `x` is something {@link openFiles} accepts (a cheap check for overloads). */
export function isFilesSource(x: unknown): x is FilesSource {
  return (
    (typeof x === 'string' && x.length > 0) ||
    x instanceof URL ||
    x instanceof Map ||
    (typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x) && !isResponse(x))
  );
}

/**
 * Reads one file by location: a path or `file:` URL (Node), or an http(s)/blob/data URL (fetch;
 * strings are URLs outside Node). `fn` names the public function in messages.
 *
 * @throws ConfigError naming the location when it cannot be read (missing file, HTTP error)
 * @example
 * ```ts
 * const bytes = await readFile('packages/transformer/test/fixtures/gpt2-tiny/model.safetensors', 'readSafetensors');
 * bytes instanceof Uint8Array; // => true
 * ```
 */
export async function readFile(location: string | URL, fn = 'readFile'): Promise<Uint8Array> {
  const href = location instanceof URL ? location.href : location;
  if (typeof href !== 'string' || href.length === 0) {
    throw new TypeError(`${fn}: expected a path or URL, got ${describe(location)}`);
  }
  const isUrl = /^(https?|blob|data):/i.test(href) || (!isNode() && !/^file:/i.test(href));
  if (isUrl) {
    let res: Response;
    try {
      res = await fetch(href);
    } catch (e) {
      throw new ConfigError(`${fn}: GET ${href} failed: ${(e as Error).message}`, null, { cause: e });
    }
    if (!res.ok) throw new ConfigError(`${fn}: GET ${href} failed with HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  const path = /^file:/i.test(href) ? new URL(href) : href;
  const fs = await nodeFs();
  try {
    const buf = await fs.readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new ConfigError(`${fn}: cannot read ${href}: ${(e as Error).message}`, null, { cause: e });
  }
}

/** Reads a file as UTF-8 text: null when absent and `optional`, else an error naming the file. */
export async function readText(
  src: FileSource,
  name: string,
  fn: string,
  options: { optional: true },
): Promise<string | null>;
export async function readText(
  src: FileSource,
  name: string,
  fn: string,
  options?: { optional?: false },
): Promise<string>;
export async function readText(
  src: FileSource,
  name: string,
  fn: string,
  options: { optional?: boolean } = {},
): Promise<string | null> {
  const bytes = await src.read(name);
  if (bytes === null) {
    if (options.optional) return null;
    throw new ConfigError(`${fn}(${src.where}): ${name} is missing`);
  }
  return new TextDecoder().decode(bytes);
}

/** Writes one file (Node only). `fn` names the public function in messages. */
export async function writeFile(
  path: string | URL,
  data: Uint8Array | string,
  fn = 'writeFile',
): Promise<void> {
  if (!isNode()) throw new Error(`${fn}: writing files needs Node; in a browser, use the returned bytes`);
  const fs = await nodeFs();
  await fs.writeFile(path, data);
}

/** Writes files into a folder (Node only), creating it and sub-folders as needed. */
export async function writeFolder(
  dir: string,
  files: Record<string, Uint8Array | string>,
  fn: string,
): Promise<void> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`${fn}: 'dir' must be a folder path, got ${describe(dir)}`);
  }
  if (!isNode()) throw new Error(`${fn}: writing folders needs Node; in a browser, use the returned bytes`);
  const fs = await nodeFs();
  const root = dir.replace(/\/+$/, '');
  for (const [name, data] of Object.entries(files)) {
    const path = `${root}/${checkName(name, fn)}`;
    await fs.mkdir(path.slice(0, path.lastIndexOf('/')) || '/', { recursive: true });
    await writeFile(path, data, fn);
  }
}
