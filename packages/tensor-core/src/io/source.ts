/**
 * Reading a file's bytes from the sources users have: a path (Node), a URL (fetch, or the file
 * system for file: URLs in Node), a fetch Response, a Blob or File (browser), or bytes in memory.
 * The reading itself is @attnkit/hub's (`readFile` for locations, `fileBytes` for files in
 * memory), shared with every loader; this module names the source for safetensors' messages.
 */
import { fileBytes, readFile, writeFile } from '@attnkit/hub';

/** Where a file's bytes come from. */
export type ByteSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response;

/** A short name of the source for error messages. */
export function describeSource(source: unknown): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (typeof File !== 'undefined' && source instanceof File) return source.name;
  if (typeof Blob !== 'undefined' && source instanceof Blob) return '<Blob>';
  if (source && typeof (source as Response).arrayBuffer === 'function' && 'status' in (source as object)) {
    return (source as Response).url || '<Response>';
  }
  return '<buffer>';
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
  try {
    if (typeof source === 'string' || source instanceof URL)
      return { bytes: await readFile(source, fn), where };
    return { bytes: await fileBytes(source, fn), where };
  } catch (e) {
    if (e instanceof TypeError) {
      throw new TypeError(
        `${fn}: expected a path, URL, Response, Blob/File, ArrayBuffer or Uint8Array, got ${source === null ? 'null' : typeof source === 'object' ? ((source as object).constructor?.name ?? 'object') : typeof source}`,
      );
    }
    throw new Error(`${fn}(${where}): ${(e as Error).message.replace(`${fn}: `, '')}`, { cause: e });
  }
}

/** Writes bytes to a file (Node only). @internal */
export async function writeFileBytes(path: string | URL, bytes: Uint8Array, fn: string): Promise<void> {
  await writeFile(path, bytes, fn);
}
