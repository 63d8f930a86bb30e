/**
 * The default (browser and bundler) entry point of @attnkit/tensor-core/platform: the same API as
 * the Node entry point (./index.ts), without Node built-ins. File paths need Node; everything
 * else in attnkit reads URLs, Files, Blobs and bytes instead.
 * @packageDocumentation
 */
import type { NodeFiles } from './types.js';

export type { NodeFiles } from './types.js';

/** The platform this entry point serves. */
export const platform: 'node' | 'browser' = 'browser';

/** Throws: reading and writing files by path needs Node. */
export function nodeFiles(fn: string): NodeFiles {
  throw new Error(
    `${fn}: file paths need Node (this is the browser build of @attnkit/tensor-core/platform); in a browser pass an http(s) URL, a File/Blob or bytes instead`,
  );
}
