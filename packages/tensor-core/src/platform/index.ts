/**
 * @attnkit/tensor-core/platform: the Node built-ins attnkit's packages use (files, paths, zlib),
 * behind an `exports` condition. Node (the `node` condition) loads this file, which imports
 * `node:fs/promises`, `node:path`, `node:url` and `node:zlib`; browsers and bundlers get
 * `./browser.js`, whose calls reject with a message saying what to pass instead. So a browser
 * build of any attnkit package sees no `node:` import. Internal to attnkit: used by the model
 * packages to read checkpoint folders and write files.
 *
 * @example
 * ```ts
 * import { nodeFiles } from '@attnkit/tensor-core/platform';
 * const bytes = await nodeFiles('loadPretrained').readFile('packages/transformer/test/fixtures/gpt2-tiny/config.json');
 * JSON.parse(new TextDecoder().decode(bytes)).model_type; // => 'gpt2'
 * ```
 * @packageDocumentation
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import type { NodeFiles } from './types.js';

export type { NodeFiles } from './types.js';

const files: NodeFiles = {
  platform: 'node',
  async readFile(path) {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  },
  readText: (path) => readFile(path, 'utf8'),
  writeFile: (path, bytes) => writeFile(path, bytes),
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async kind(path) {
    const st = await stat(path).catch(() => null);
    if (!st) return null;
    return st.isFile() ? 'file' : st.isDirectory() ? 'folder' : 'other';
  },
  join: (...parts) => join(...parts),
  fileURLToPath: (url) => fileURLToPath(url),
  deflate: (bytes) => new Uint8Array(deflateSync(bytes)),
};

/** The platform this entry point serves: `'node'` here, `'browser'` in the default entry point. */
export const platform: 'node' | 'browser' = 'node';

/**
 * Node's files for `fn` (the public function that needs them, named in errors). In Node this
 * never throws; the browser entry point's version throws an error naming `fn`.
 */
export function nodeFiles(_fn: string): NodeFiles {
  return files;
}
