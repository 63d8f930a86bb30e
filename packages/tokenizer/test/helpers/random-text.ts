/**
 * Seeded random strings drawn from mixed Unicode blocks and whitespace, for parity tests.
 * The generator (mulberry32) is deterministic, so a failure names a reproducible case.
 */

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Code point ranges to draw from: letters of many scripts, marks, digits, punctuation, emoji, whitespace. */
const BLOCKS: ReadonlyArray<[number, number]> = [
  [0x20, 0x7e], // ASCII printable
  [0x20, 0x7e],
  [0x61, 0x7a], // a-z
  [0x41, 0x5a], // A-Z
  [0x30, 0x39], // digits
  [0xa0, 0xff], // Latin-1 supplement (NBSP, accented letters, ×, ÷)
  [0x100, 0x24f], // Latin extended
  [0x2b0, 0x2ff], // modifier letters (Lm)
  [0x300, 0x36f], // combining diacritics (Mn)
  [0x370, 0x3ff], // Greek
  [0x400, 0x4ff], // Cyrillic
  [0x590, 0x5ff], // Hebrew
  [0x600, 0x6ff], // Arabic (incl. Arabic-Indic digits, marks)
  [0x900, 0x97f], // Devanagari (Mc, Mn, Nd)
  [0xe00, 0xe7f], // Thai
  [0x10a0, 0x10ff], // Georgian
  [0x1100, 0x11ff], // Hangul Jamo
  [0x16a0, 0x16ff], // Runic (Nl)
  [0x1c80, 0x1cbf], // Cyrillic ext C / Georgian Mtavruli (Lu)
  [0x1f00, 0x1fff], // Greek extended (Lt)
  [0x2000, 0x206f], // general punctuation + spaces (U+2000-200A, 2028, 2029, ZWJ)
  [0x2150, 0x218f], // number forms (Nl, No)
  [0x2460, 0x24ff], // enclosed alphanumerics (No, So)
  [0x3000, 0x303f], // CJK punctuation, ideographic space, 〇 (Nl)
  [0x3040, 0x30ff], // kana
  [0x4e00, 0x4fff], // CJK ideographs
  [0xac00, 0xad00], // Hangul syllables
  [0xfe00, 0xfe0f], // variation selectors
  [0xff00, 0xffef], // fullwidth forms
  [0xfeff, 0xfeff], // BOM (JS \s)
  [0x1f300, 0x1f64f], // emoji
  [0x1f1e6, 0x1f1ff], // regional indicators (flags)
  [0x1d400, 0x1d7ff], // math alphanumerics (astral Lu/Ll/Nd)
  [0x10400, 0x1044f], // Deseret (astral Lu/Ll)
  [0x20000, 0x2008f], // CJK ext B
  [0xe0020, 0xe007f], // tags
];

const WHITESPACE = [
  ' ',
  ' ',
  ' ',
  '  ',
  '\n',
  '\n\n',
  '\r\n',
  '\r',
  '\t',
  '\t\t',
  '\u000b',
  '\u000c',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u3000',
  '    ',
  ' \n ',
];
const SPECIAL = [
  "'s",
  "'S",
  "'t",
  "'re",
  "'VE",
  "'ll",
  "'Ll",
  "'d",
  "'M",
  "'",
  '/',
  '//',
  '\u200d',
  '\ufe0f',
  '\ud800',
  '\udc00',
  '\udbff\udfff',
  '\r\n/',
  '1234567',
  "n't",
  "'sup",
];

/** One random string of up to `maxParts` fragments. */
export function randomText(rand: () => number, maxParts = 24): string {
  const parts = 1 + Math.floor(rand() * maxParts);
  let s = '';
  for (let p = 0; p < parts; p++) {
    const r = rand();
    if (r < 0.2) s += WHITESPACE[Math.floor(rand() * WHITESPACE.length)];
    else if (r < 0.3) s += SPECIAL[Math.floor(rand() * SPECIAL.length)];
    else {
      const [lo, hi] = BLOCKS[Math.floor(rand() * BLOCKS.length)];
      const n = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) s += String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
    }
  }
  return s;
}

/** `count` seeded random strings. */
export function randomTexts(seed: number, count: number, maxParts = 24): string[] {
  const rand = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(randomText(rand, maxParts));
  return out;
}
