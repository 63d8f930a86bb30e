/**
 * Reading a file's bytes from the sources users have: a path (Node), a URL (fetch, or the file
 * system for file: URLs in Node), a fetch Response, a Blob or File (browser), or bytes in memory.
 * Node modules are imported lazily, only for paths, so browsers can import this module.
 */

/** Where a file's bytes come from. */
export type ByteSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response;

const isNode = (): boolean =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

function isResponse(x: unknown): x is Response {
  return (
    typeof Response !== 'undefined' &&
    (x instanceof Response ||
      (typeof x === 'object' &&
        x !== null &&
        typeof (x as Response).arrayBuffer === 'function' &&
        typeof (x as Response).ok === 'boolean' &&
        typeof (x as Response).status === 'number'))
  );
}

function isBlob(x: unknown): x is Blob {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

/** A short name of the source for error messages. */
export function describeSource(source: unknown): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (isResponse(source)) return source.url || '<Response>';
  if (typeof File !== 'undefined' && source instanceof File) return source.name;
  if (isBlob(source)) return '<Blob>';
  return '<buffer>';
}

type NodeFs = typeof import('node:fs/promises');

/**
 * Loads node:fs/promises only when a path is read. The specifier is a variable so that browser
 * bundlers (Vite, webpack, esbuild) do not try to resolve a Node built-in.
 */
async function nodeFs(): Promise<NodeFs> {
  const specifier = 'node:fs/promises';
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as NodeFs;
}

async function readPath(path: string | URL, fn: string, where: string): Promise<Uint8Array> {
  const fs = await nodeFs();
  try {
    const buf = await fs.readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new Error(`${fn}(${where}): cannot read the file: ${(e as Error).message}`, { cause: e });
  }
}

async function readResponse(res: Response, fn: string, where: string): Promise<Uint8Array> {
  if (!res.ok) throw new Error(`${fn}(${where}): HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Reads all bytes of `source` once. Bytes in memory are used as they are (no copy).
 * @internal
 */
export async function readBytes(
  source: ByteSource,
  fn: string,
): Promise<{ bytes: Uint8Array; where: string }> {
  const where = describeSource(source);
  if (source instanceof Uint8Array) return { bytes: source, where };
  if (ArrayBuffer.isView(source)) {
    return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength), where };
  }
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), where };
  if (typeof SharedArrayBuffer !== 'undefined' && source instanceof SharedArrayBuffer) {
    return { bytes: new Uint8Array(source), where };
  }
  if (typeof source === 'string') {
    if (/^(https?|blob|data):/i.test(source) || !isNode()) {
      return { bytes: await readResponse(await fetch(source), fn, where), where };
    }
    if (/^file:/i.test(source)) return { bytes: await readPath(new URL(source), fn, where), where };
    return { bytes: await readPath(source, fn, where), where };
  }
  if (source instanceof URL) {
    if (source.protocol === 'file:' && isNode()) return { bytes: await readPath(source, fn, where), where };
    return { bytes: await readResponse(await fetch(source), fn, where), where };
  }
  if (isResponse(source)) return { bytes: await readResponse(source, fn, where), where };
  if (isBlob(source)) return { bytes: new Uint8Array(await source.arrayBuffer()), where };
  throw new TypeError(
    `${fn}: expected a path, URL, Response, Blob/File, ArrayBuffer or Uint8Array, got ${source === null ? 'null' : typeof source === 'object' ? ((source as object).constructor?.name ?? 'object') : typeof source}`,
  );
}

/** Writes bytes to a file (Node only). @internal */
export async function writeFileBytes(path: string | URL, bytes: Uint8Array, fn: string): Promise<void> {
  if (!isNode()) throw new Error(`${fn}: writing files needs Node; in a browser, use the returned bytes`);
  const fs = await nodeFs();
  await fs.writeFile(path, bytes);
}
