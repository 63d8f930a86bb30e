/**
 * Where a tokenizer's files come from: a folder path (Node), a URL (a Hub repository's
 * `resolve/main/` URL or any folder served over HTTP), or a map of file name to contents (Files
 * from a browser's file picker, strings or bytes).
 *
 * The reading itself is `@attnkit/hub`'s `openFiles` / `readText` / `readJson`, shared with the
 * model packages; this module keeps the tokenizer's public source types.
 */

import type { FileLike } from '@attnkit/hub';

/**
 * A file's contents as a map can hold them: text, bytes (an ArrayBuffer or any view of one), a
 * Blob/File or a fetch Response (the same as a model checkpoint's files, @attnkit/hub's FileLike).
 */
export type FileContents = FileLike;

/**
 * Where a tokenizer's files are: a folder path, a URL of a folder (ending in `/` or not), or a
 * map (or plain object) from file name to contents. Map keys may carry one folder prefix
 * (`'my-model/tokenizer.json'`), as a browser folder picker gives them.
 */
export type FileSource = string | URL | Map<string, FileContents> | Record<string, FileContents>;
