/**
 * Pre-tokenisation: splitting text into the pieces that byte-pair encoding works on.
 *
 * tiktoken's encodings split text with a regular expression (`patStr`). Running that expression
 * is the slowest part of encoding in JavaScript, so the four standard patterns (r50k/p50k,
 * cl100k, o200k) have hand-written scanners here that return exactly the pieces the regular
 * expression returns (JavaScript `u`-mode semantics, as js-tiktoken runs them): the same
 * alternatives in the same order, including the backtracking of `\s+(?!\S)`, `\s*[\r\n]+` and
 * o200k's `[upper]*[lower]+` letter runs. Character classes come from a table built once from the
 * engine's own Unicode property escapes, so scanner and regex agree on every code point.
 * Any other pattern runs through {@link RegexSplitter}.
 */

/** `\p{L}` */
const L = 1;
/** `\p{N}` */
const N = 2;
/** JavaScript `\s` */
const S = 4;
/** o200k's "upper" class `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]` */
const UP = 8;
/** o200k's "lower" class `[\p{Ll}\p{Lm}\p{Lo}\p{M}]` */
const LO = 16;
/** The code point is a surrogate pair (two UTF-16 code units). */
const WIDE = 32;

const CLASS_TESTS: ReadonlyArray<[RegExp, number]> = [
  [/\p{L}/u, L],
  [/\p{N}/u, N],
  [/\s/u, S],
  [/[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]/u, UP],
  [/[\p{Ll}\p{Lm}\p{Lo}\p{M}]/u, LO],
];

function classify(cp: number): number {
  const s = String.fromCodePoint(cp);
  let k = 0;
  for (const [re, bit] of CLASS_TESTS) if (re.test(s)) k |= bit;
  return k;
}

let BMP: Uint8Array | undefined;
const astralCache = new Map<number, number>();

/** The class table for the Basic Multilingual Plane (surrogates are class 0: "other"). */
function bmpClasses(): Uint8Array {
  if (BMP) return BMP;
  const t = new Uint8Array(65536);
  for (let c = 0; c < 65536; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    t[c] = classify(c);
  }
  BMP = t;
  return t;
}

function astralClass(cp: number): number {
  let k = astralCache.get(cp);
  if (k === undefined) {
    k = classify(cp) | WIDE;
    astralCache.set(cp, k);
  }
  return k;
}

/** Class bits of the code point at `i` (a lone surrogate is "other", one unit wide). */
function clsAt(t: Uint8Array, text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff) return t[c];
  if (i + 1 < end) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return astralClass(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
  }
  return 0;
}

/** Advances over code points whose class has any bit of `mask`. */
function runOf(t: Uint8Array, text: string, i: number, end: number, mask: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) {
      if ((t[c] & mask) === 0) return i;
      i++;
    } else {
      const k = clsAt(t, text, i, end);
      if ((k & mask) === 0) return i;
      i += k & WIDE ? 2 : 1;
    }
  }
  return i;
}

/** Advances over `[^\s\p{L}\p{N}]` code points. */
function runOther(t: Uint8Array, text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) {
      if ((t[c] & (L | N | S)) !== 0) return i;
      i++;
    } else {
      const k = clsAt(t, text, i, end);
      if ((k & (L | N | S)) !== 0) return i;
      i += k & WIDE ? 2 : 1;
    }
  }
  return i;
}

/** Advances over at most three `\p{N}` code points. */
function runDigits3(t: Uint8Array, text: string, i: number, end: number): number {
  for (let n = 0; n < 3 && i < end; n++) {
    const k = clsAt(t, text, i, end);
    if ((k & N) === 0) break;
    i += k & WIDE ? 2 : 1;
  }
  return i;
}

/** The whitespace alternatives shared by cl100k and o200k: `\s*[\r\n]+|\s+(?!\S)|\s+`. */
function whitespaceWithNewlines(t: Uint8Array, text: string, i: number, end: number): number {
  const j = runOf(t, text, i, end, S);
  for (let p = j - 1; p >= i; p--) {
    const c = text.charCodeAt(p);
    if (c === 10 || c === 13) return p + 1;
  }
  if (j === end || j - 1 === i) return j;
  return j - 1;
}

/** `'s|'t|'re|'ve|'m|'ll|'d` at `i` (case-insensitive when `ci`); returns the end or -1. */
function contraction(text: string, i: number, end: number, ci: boolean): number {
  if (i + 1 >= end || text.charCodeAt(i) !== 39) return -1;
  let a = text.charCodeAt(i + 1);
  if (ci && a >= 65 && a <= 90) a += 32;
  if (a === 115 || a === 116 || a === 109 || a === 100) return i + 2; // s t m d
  if (i + 2 >= end) return -1;
  let b = text.charCodeAt(i + 2);
  if (ci && b >= 65 && b <= 90) b += 32;
  if ((a === 114 && b === 101) || (a === 118 && b === 101) || (a === 108 && b === 108)) return i + 3; // re ve ll
  return -1;
}

/** A function returning the end of the piece that starts at `i` (`i < end`). */
export type PieceScanner = (text: string, i: number, end: number) => number;

/**
 * GPT-2 / r50k_base / p50k_base:
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 */
export const scanR50k: PieceScanner = (text, i, end) => {
  const t = BMP ?? bmpClasses();
  const c = text.charCodeAt(i);
  if (c === 39) {
    const e = contraction(text, i, end, false);
    if (e >= 0) return e;
  }
  let start = i;
  let k = clsAt(t, text, i, end);
  if (c === 32 && i + 1 < end) {
    const k2 = clsAt(t, text, i + 1, end);
    if ((k2 & S) === 0) {
      start = i + 1;
      k = k2;
    }
  }
  if (k & L) return runOf(t, text, start, end, L);
  if (k & N) return runOf(t, text, start, end, N);
  if ((k & S) === 0) return runOther(t, text, start, end);
  const j = runOf(t, text, i, end, S);
  if (j === end || j - 1 === i) return j;
  return j - 1;
};

/**
 * cl100k_base:
 * `'(?i:s|t|re|ve|m|ll|d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
 */
export const scanCl100k: PieceScanner = (text, i, end) => {
  const t = BMP ?? bmpClasses();
  const c = text.charCodeAt(i);
  if (c === 39) {
    const e = contraction(text, i, end, true);
    if (e >= 0) return e;
  }
  const k = clsAt(t, text, i, end);
  if (k & L) return runOf(t, text, i, end, L);
  if (k & N) return runDigits3(t, text, i, end);
  const w = k & WIDE ? 2 : 1;
  // [^\r\n\p{L}\p{N}]\p{L}+
  if (c !== 10 && c !== 13 && i + w < end && clsAt(t, text, i + w, end) & L)
    return runOf(t, text, i + w, end, L);
  let o = -1;
  if ((k & S) === 0) o = i;
  else if (c === 32 && i + 1 < end && (clsAt(t, text, i + 1, end) & (L | N | S)) === 0) o = i + 1;
  if (o >= 0) {
    let e = runOther(t, text, o, end);
    while (e < end) {
      const d = text.charCodeAt(e);
      if (d !== 10 && d !== 13) break;
      e++;
    }
    return e;
  }
  return whitespaceWithNewlines(t, text, i, end);
};

/** Adds a trailing `'(?i:s|t|re|ve|m|ll|d)` to an o200k letter piece ending at `e`. */
function withContraction(text: string, e: number, end: number): number {
  if (e < end && text.charCodeAt(e) === 39) {
    const x = contraction(text, e, end, true);
    if (x >= 0) return x;
  }
  return e;
}

/** `[UP]*[LO]+` from `p`, with the regex's backtracking; returns the end or -1. */
function upperStarLowerPlus(t: Uint8Array, text: string, p: number, end: number): number {
  let q = p;
  let lastLo = -1;
  let lastLoEnd = -1;
  while (q < end) {
    const k = clsAt(t, text, q, end);
    if ((k & UP) === 0) break;
    const w = k & WIDE ? 2 : 1;
    if (k & LO) {
      lastLo = q;
      lastLoEnd = q + w;
    }
    q += w;
  }
  if (q < end && clsAt(t, text, q, end) & LO) return runOf(t, text, q, end, LO);
  return lastLo >= 0 ? lastLoEnd : -1;
}

/** `[UP]+[LO]*` from `p`; returns the end or -1. */
function upperPlusLowerStar(t: Uint8Array, text: string, p: number, end: number): number {
  const q = runOf(t, text, p, end, UP);
  if (q === p) return -1;
  return runOf(t, text, q, end, LO);
}

/**
 * o200k_base:
 * `[^\r\n\p{L}\p{N}]?[UP]*[LO]+C?|[^\r\n\p{L}\p{N}]?[UP]+[LO]*C?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
 * with UP = `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, LO = `[\p{Ll}\p{Lm}\p{Lo}\p{M}]` and C the
 * case-insensitive contractions.
 */
export const scanO200k: PieceScanner = (text, i, end) => {
  const t = BMP ?? bmpClasses();
  const c = text.charCodeAt(i);
  const k = clsAt(t, text, i, end);
  const w = k & WIDE ? 2 : 1;
  const prefix = (k & (L | N)) === 0 && c !== 10 && c !== 13 && i + w < end;
  let e: number;
  if (prefix) {
    e = upperStarLowerPlus(t, text, i + w, end);
    if (e >= 0) return withContraction(text, e, end);
  }
  if (k & (UP | LO)) {
    e = upperStarLowerPlus(t, text, i, end);
    if (e >= 0) return withContraction(text, e, end);
  }
  if (prefix) {
    e = upperPlusLowerStar(t, text, i + w, end);
    if (e >= 0) return withContraction(text, e, end);
  }
  if (k & UP) {
    e = upperPlusLowerStar(t, text, i, end);
    if (e >= 0) return withContraction(text, e, end);
  }
  if (k & N) return runDigits3(t, text, i, end);
  let o = -1;
  if ((k & (L | N | S)) === 0) o = i;
  else if (c === 32 && i + 1 < end && (clsAt(t, text, i + 1, end) & (L | N | S)) === 0) o = i + 1;
  if (o >= 0) {
    e = runOther(t, text, o, end);
    while (e < end) {
      const d = text.charCodeAt(e);
      if (d !== 10 && d !== 13 && d !== 47) break;
      e++;
    }
    return e;
  }
  return whitespaceWithNewlines(t, text, i, end);
};

/** r50k_base, p50k_base and GPT-2's pattern, as tiktoken/js-tiktoken write it. */
export const R50K_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/** cl100k_base's pattern, with the case-insensitive contractions spelled out (JavaScript has no `(?i:`). */
export const CL100K_PATTERN =
  "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const O200K_C = "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)?";
/** o200k_base's pattern. */
export const O200K_PATTERN = `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${O200K_C}|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${O200K_C}|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

/** Spellings of the standard patterns that are the same expression (Python's `(?i:` forms). */
const PATTERN_ALIASES: ReadonlyArray<[string, PieceScanner]> = [
  [R50K_PATTERN, scanR50k],
  [CL100K_PATTERN, scanCl100k],
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    scanCl100k,
  ],
  [
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    scanCl100k,
  ],
  [O200K_PATTERN, scanO200k],
];

/** The hand-written scanner for a pattern, if it is one of the standard ones. */
export function scannerForPattern(pattern: string): PieceScanner | undefined {
  for (const [p, s] of PATTERN_ALIASES) if (p === pattern) return s;
  return undefined;
}

/**
 * Splits with an arbitrary regular expression (JavaScript syntax, run with the `u` flag), the way
 * tiktoken does: the matches are the pieces; text between matches is dropped.
 */
export class RegexSplitter {
  readonly re: RegExp;
  constructor(pattern: string | RegExp) {
    this.re = typeof pattern === 'string' ? new RegExp(pattern, 'gu') : new RegExp(pattern.source, 'gu');
  }
  /** Calls `piece(start, end)` for every match in `text[start, end)`. */
  forEach(text: string, start: number, end: number, piece: (s: number, e: number) => void): void {
    const re = this.re;
    const sub = start === 0 && end === text.length ? text : text.slice(start, end);
    re.lastIndex = 0;
    for (let m = re.exec(sub); m !== null; m = re.exec(sub)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      piece(start + m.index, start + m.index + m[0].length);
    }
  }
}

/** Splits `text` into its pieces with a standard pattern or any regular expression. */
export function splitPieces(text: string, pattern: string): string[] {
  const scan = scannerForPattern(pattern);
  const out: string[] = [];
  if (scan) {
    for (let i = 0; i < text.length; ) {
      const e = scan(text, i, text.length);
      out.push(text.slice(i, e));
      i = e;
    }
  } else {
    new RegexSplitter(pattern).forEach(text, 0, text.length, (s, e) => out.push(text.slice(s, e)));
  }
  return out;
}
