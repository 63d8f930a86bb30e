/**
 * GPT-2's byte-to-character table: every byte maps to a printable character, so byte-level
 * vocabularies can be written as JSON strings (`Ġ` is the space byte, `Ċ` the newline byte).
 */

/** Character for each byte. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = printable ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return table;
})();

/** Byte for each table character. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The byte-level spelling of `bytes`. */
export function bytesToByteLevel(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** The bytes of a byte-level token, or undefined if a character is not in the table. */
export function byteLevelToBytes(token: string): number[] | undefined {
  const out: number[] = [];
  for (const c of token) {
    const b = CHAR_TO_BYTE.get(c);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return out;
}
