/**
 * A string being normalised, which remembers for every character the span of the original input
 * it came from, so that token offsets point into the text the user passed in (as Hugging Face
 * tokenizers' NormalizedString does). Characters are code points; spans are UTF-16 indices.
 */

import { regexSpans } from './regex.js';

/** Where a split's matches go (Hugging Face's `SplitDelimiterBehavior`). */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/**
 * Text under normalisation with, for every character, the span of the original input it came
 * from (what normalizers and pre-tokenizers pass along).
 */
export class NormalizedString {
  constructor(
    /** The characters (one code point each, as strings). */
    readonly chars: string[],
    /** Original UTF-16 start of each character. */
    readonly starts: number[],
    /** Original UTF-16 end of each character. */
    readonly ends: number[],
  ) {}

  /** Wraps `text` (starting at `offset` in the original input) with identity alignments. */
  static from(text: string, offset = 0): NormalizedString {
    const chars: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    let i = 0;
    for (const c of text) {
      chars.push(c);
      starts.push(offset + i);
      i += c.length;
      ends.push(offset + i);
    }
    return new NormalizedString(chars, starts, ends);
  }

  /** The normalised text. */
  get text(): string {
    return this.chars.join('');
  }

  /** Number of characters. */
  get length(): number {
    return this.chars.length;
  }

  /** Replaces every character with the characters of `fn(char)` (possibly none), keeping its span. */
  mapChars(fn: (c: string, i: number) => string): NormalizedString {
    const chars: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < this.chars.length; i++) {
      const c = this.chars[i];
      const out = fn(c, i);
      if (out === c) {
        chars.push(c);
        starts.push(this.starts[i]);
        ends.push(this.ends[i]);
        continue;
      }
      for (const o of out) {
        chars.push(o);
        starts.push(this.starts[i]);
        ends.push(this.ends[i]);
      }
    }
    return new NormalizedString(chars, starts, ends);
  }

  /** Characters `[a, b)`. */
  slice(a: number, b: number): NormalizedString {
    return new NormalizedString(this.chars.slice(a, b), this.starts.slice(a, b), this.ends.slice(a, b));
  }

  /** Adds `s` in front; its characters are aligned with the first character. */
  prepend(s: string): NormalizedString {
    const start = this.starts.length ? this.starts[0] : 0;
    const end = this.ends.length ? this.ends[0] : 0;
    const add = [...s];
    return new NormalizedString(
      [...add, ...this.chars],
      [...add.map(() => start), ...this.starts],
      [...add.map(() => end), ...this.ends],
    );
  }

  /** Adds `s` at the end; its characters are aligned with the last character. */
  append(s: string): NormalizedString {
    const n = this.chars.length;
    const start = n ? this.starts[n - 1] : 0;
    const end = n ? this.ends[n - 1] : 0;
    const add = [...s];
    return new NormalizedString(
      [...this.chars, ...add],
      [...this.starts, ...add.map(() => start)],
      [...this.ends, ...add.map(() => end)],
    );
  }

  /**
   * Unicode normalisation. Each base character and the marks (and Hangul vowel/final jamo) after
   * it are normalised together, and the result is aligned with their combined span.
   */
  normalize(form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): NormalizedString {
    const chars: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    let i = 0;
    while (i < this.chars.length) {
      let j = i + 1;
      while (j < this.chars.length && /^[\p{M}\u1160-\u11ff]$/u.test(this.chars[j])) j++;
      const seg = this.chars.slice(i, j).join('');
      const out = seg.normalize(form);
      if (out === seg) {
        for (let k = i; k < j; k++) {
          chars.push(this.chars[k]);
          starts.push(this.starts[k]);
          ends.push(this.ends[k]);
        }
      } else {
        for (const c of out) {
          chars.push(c);
          starts.push(this.starts[i]);
          ends.push(this.ends[j - 1]);
        }
      }
      i = j;
    }
    return new NormalizedString(chars, starts, ends);
  }

  /** Character index of every UTF-16 unit of `text` (plus one past the end). */
  private unitToChar(): Int32Array {
    const map = new Int32Array(this.text.length + 1);
    let u = 0;
    for (let c = 0; c < this.chars.length; c++) {
      for (let k = 0; k < this.chars[c].length; k++) map[u++] = c;
    }
    map[u] = this.chars.length;
    return map;
  }

  /**
   * Ranges `[start, end)` of characters matched by `pattern` (a string or a global regex). As in
   * Hugging Face tokenizers, a pattern that matches the empty string gives empty ranges (split
   * points), and an empty string pattern matches between every two characters.
   */
  matches(pattern: string | RegExp): Array<[number, number]> {
    const text = this.text;
    const u2c = this.unitToChar();
    const out: Array<[number, number]> = [];
    if (text.length === 0) return out;
    if (typeof pattern === 'string' && pattern.length > 0) {
      for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + pattern.length)) {
        out.push([u2c[at], u2c[at + pattern.length]]);
      }
      return out;
    }
    const re =
      typeof pattern === 'string'
        ? /(?:)/gu
        : new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    for (const [s, e] of regexSpans(re, text)) out.push([u2c[s], u2c[e]]);
    return out;
  }

  /** Replaces every match of `pattern` with `content`, aligned with the matched span. */
  replace(pattern: string | RegExp, content: string): NormalizedString {
    const ranges = this.matches(pattern);
    if (ranges.length === 0) return this;
    const chars: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    let prev = 0;
    for (const [a, b] of ranges) {
      for (let k = prev; k < a; k++) {
        chars.push(this.chars[k]);
        starts.push(this.starts[k]);
        ends.push(this.ends[k]);
      }
      // An empty match inserts `content` at a point: a zero-width span there.
      const start = a < b ? this.starts[a] : a < this.chars.length ? this.starts[a] : (this.ends[a - 1] ?? 0);
      const end = a < b ? this.ends[b - 1] : start;
      for (const c of content) {
        chars.push(c);
        starts.push(start);
        ends.push(end);
      }
      prev = b;
    }
    for (let k = prev; k < this.chars.length; k++) {
      chars.push(this.chars[k]);
      starts.push(this.starts[k]);
      ends.push(this.ends[k]);
    }
    return new NormalizedString(chars, starts, ends);
  }

  /**
   * Splits on the matched ranges with Hugging Face's delimiter behaviours; `invert` makes the
   * text between matches the delimiters instead.
   */
  splitOn(ranges: Array<[number, number]>, behavior: SplitBehavior, invert = false): NormalizedString[] {
    // Mark each piece as delimiter (match) or not, covering the whole string.
    const pieces: Array<[number, number, boolean]> = [];
    let prev = 0;
    for (const [a, b] of ranges) {
      if (a > prev) pieces.push([prev, a, invert]);
      pieces.push([a, b, !invert]);
      prev = b;
    }
    if (prev < this.chars.length) pieces.push([prev, this.chars.length, invert]);
    const out: Array<[number, number]> = [];
    switch (behavior) {
      case 'Removed':
        for (const [a, b, d] of pieces) if (!d) out.push([a, b]);
        break;
      case 'Isolated':
        for (const [a, b] of pieces) out.push([a, b]);
        break;
      case 'MergedWithPrevious': {
        // A delimiter joins the piece before it, unless that piece is a delimiter too.
        let prevMatch = false;
        for (const [a, b, d] of pieces) {
          if (d && !prevMatch && out.length > 0) out[out.length - 1][1] = b;
          else out.push([a, b]);
          prevMatch = d;
        }
        break;
      }
      case 'MergedWithNext': {
        // A delimiter joins the piece after it, unless that piece is a delimiter too.
        let nextMatch = false;
        const rev: Array<[number, number]> = [];
        for (let k = pieces.length - 1; k >= 0; k--) {
          const [a, b, d] = pieces[k];
          if (d && !nextMatch && rev.length > 0) rev[rev.length - 1][0] = a;
          else rev.push([a, b]);
          nextMatch = d;
        }
        for (let k = rev.length - 1; k >= 0; k--) out.push(rev[k]);
        break;
      }
      case 'Contiguous': {
        let lastWasDelim = false;
        for (const [a, b, d] of pieces) {
          if (d && lastWasDelim) out[out.length - 1][1] = b;
          else out.push([a, b]);
          lastWasDelim = d;
        }
        break;
      }
      default:
        throw new Error(
          `Split: unknown behavior ${JSON.stringify(behavior)}; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous`,
        );
    }
    return out.filter(([a, b]) => b > a).map(([a, b]) => this.slice(a, b));
  }
}
