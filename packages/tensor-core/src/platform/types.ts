/**
 * The file-system and compression calls attnkit's packages make in Node, typed without Node's
 * types so that a browser project's type check needs no `@types/node`.
 */
export interface NodeFiles {
  /** `'node'` from the Node entry point, `'browser'` from the default one. */
  readonly platform: 'node' | 'browser';
  /** The bytes of a file (rejects with Node's error, `code` included, e.g. `'ENOENT'`). */
  readFile(path: string | URL): Promise<Uint8Array>;
  /** A UTF-8 text file. */
  readText(path: string | URL): Promise<string>;
  /** Writes (replaces) a file. */
  writeFile(path: string | URL, bytes: Uint8Array | string): Promise<void>;
  /** Creates a folder and its parents. */
  mkdir(path: string | URL): Promise<void>;
  /** What is at `path`: a file, a folder, or nothing (`null`). */
  kind(path: string | URL): Promise<'file' | 'folder' | 'other' | null>;
  /** Joins path segments with the platform's separator. */
  join(...parts: string[]): string;
  /** A file: URL (or its string) as a path. */
  fileURLToPath(url: string | URL): string;
  /** zlib deflate (RFC 1950) of `bytes`. */
  deflate(bytes: Uint8Array): Uint8Array;
}
