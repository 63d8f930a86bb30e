import { describe, expect, it } from 'vitest';
import { CL100K_PATTERN, O200K_PATTERN, R50K_PATTERN, splitPieces } from '../src/pretokenize.js';
import { randomTexts } from './helpers/random-text.js';

// The reference is the pattern itself, run by the JavaScript regex engine exactly as js-tiktoken runs it.
function regexPieces(text: string, pattern: string): string[] {
  return [...text.matchAll(new RegExp(pattern, 'gu'))].map((m) => m[0]);
}

const CASES = [
  "Hello world, it's 12345 o'clock!\n\n  indented\tTabs\r\nCRLF",
  "DON'T YOU'LL we'Re i'M 'sup ''s 's",
  '   leading and trailing   ',
  '\n\n\n   \n  x',
  'camelCaseWord HTTPServer iPhone ÀÉÎõü ǅungla',
  '数学は楽しい。한국어 텍스트 العربية हिन्दी ภาษาไทย',
  '👨‍👩‍👧‍👦 🇫🇷🇩🇪 e\u0301 a\u0308\u0301 ﷺ 𝐀𝐁𝐂𝐚𝐛 𐐀𐐨',
  'a/b//c !/\n/ path/to/file.ts\r\n/',
  '\ud800 lone \udc00 surrogates \ud83d',
  '1234567890 ١٢٣٤٥ ⅫⅧ ½ ²³',
  'x = [1, 2, 3];\n    return x ** 2 # comment\n\t\t}',
];

describe.each([
  ['r50k', R50K_PATTERN],
  ['cl100k', CL100K_PATTERN],
  ['o200k', O200K_PATTERN],
])('%s scanner', (_name, pattern) => {
  it('matches the regular expression on crafted cases', () => {
    for (const text of CASES) expect(splitPieces(text, pattern)).toEqual(regexPieces(text, pattern));
  });
  it('matches the regular expression on 20,000 seeded random strings', () => {
    for (const text of randomTexts(7, 20000)) {
      const got = splitPieces(text, pattern);
      const want = regexPieces(text, pattern);
      if (got.join('\u0000') !== want.join('\u0000')) expect({ text, got }).toEqual({ text, got: want });
    }
  });
});
