/**
 * Regular expressions from tokenizer.json files (written for Rust's regex / Oniguruma) made
 * runnable by JavaScript: `(?i:...)` groups are expanded into explicit case alternatives and
 * possessive quantifiers (`++`, `*+`, `?+`) become greedy ones. Patterns always run with the `u`
 * flag, so `\p{L}` and friends work.
 */

function bothCases(ch: string): string {
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  return lo === up || lo.length !== 1 || up.length !== 1 ? ch : `${lo}${up}`;
}

/** Expands the body of a `(?i:...)` group. */
function caseInsensitive(body: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      out += body.slice(i, i + 2);
      // \p{..} / \u{..} keep their braces verbatim
      if ((body[i + 1] === 'p' || body[i + 1] === 'P' || body[i + 1] === 'u') && body[i + 2] === '{') {
        const close = body.indexOf('}', i);
        out += body.slice(i + 2, close + 1);
        i = close;
      } else i++;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    if (/[a-zA-Z]/.test(c)) {
      const both = bothCases(c);
      out += inClass ? both : both.length > 1 ? `[${both}]` : c;
      continue;
    }
    out += c;
  }
  return out;
}

// Oniguruma (and Rust's regex) give \w, \d and \b their Unicode meaning; JavaScript's are ASCII.
const WORD = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
const UNICODE_ESCAPES: Record<string, [outside: string, inClass: string | null]> = {
  w: [`[${WORD}]`, WORD],
  W: [`[^${WORD}]`, null],
  d: ['\\p{Nd}', '\\p{Nd}'],
  D: ['\\P{Nd}', '\\P{Nd}'],
  b: [`(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`, null],
  B: [`(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`, null],
};

/** Rewrites \w \W \d \D \b \B with their Unicode meaning (inside a class, \w \d \D only). */
function unicodeClasses(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const e = src[i + 1];
      const rule = UNICODE_ESCAPES[e];
      const sub = rule ? (inClass ? rule[1] : rule[0]) : null;
      out += sub ?? src.slice(i, i + 2);
      i++;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

/** Translates a tokenizer.json regex into a JavaScript one (flags `gu`). */
export function translateRegex(pattern: string, where: string): RegExp {
  let src = pattern;
  // (?i:...) groups, innermost first.
  for (let guard = 0; guard < 100; guard++) {
    const at = src.indexOf('(?i:');
    if (at < 0) break;
    let depth = 0;
    let end = -1;
    for (let i = at; i < src.length; i++) {
      if (src[i] === '\\') {
        i++;
        continue;
      }
      if (src[i] === '(') depth++;
      else if (src[i] === ')') {
        depth--;
        if (depth === 0) {
          end = i;
          break;
        }
      }
    }
    if (end < 0) break;
    src = `${src.slice(0, at)}(?:${caseInsensitive(src.slice(at + 4, end))})${src.slice(end + 1)}`;
  }
  // Possessive quantifiers: X++ X*+ X?+ X{n,m}+ -> greedy.
  src = src.replace(/(?<!\\)([+*?}])\+/g, '$1');
  src = unicodeClasses(src);
  try {
    return new RegExp(src, 'gu');
  } catch (e) {
    throw new Error(
      `${where}: cannot compile the regular expression ${JSON.stringify(pattern)} in JavaScript: ${(e as Error).message}`,
    );
  }
}

/**
 * The spans `[start, end)` (UTF-16 indices) of the matches of a global regex in `text[from, to)`,
 * iterated as Hugging Face tokenizers does it (Oniguruma's find_iter): an empty match is kept,
 * except one that starts where the previous match ended; after an empty match the search resumes
 * one character (code point) later. So a pattern that can match the empty string splits between
 * characters instead of looping forever.
 */
export function regexSpans(re: RegExp, text: string, from = 0, to = text.length): Array<[number, number]> {
  const sub = from === 0 && to === text.length ? text : text.slice(from, to);
  const out: Array<[number, number]> = [];
  let prevEnd = -1;
  re.lastIndex = 0;
  while (re.lastIndex <= sub.length) {
    const m = re.exec(sub);
    if (m === null) break;
    const s = m.index;
    const e = s + m[0].length;
    if (s === e) {
      const c = sub.charCodeAt(s);
      const pair = c >= 0xd800 && c <= 0xdbff && (sub.charCodeAt(s + 1) & 0xfc00) === 0xdc00;
      re.lastIndex = s + (pair ? 2 : 1);
      if (s === prevEnd) continue;
    }
    out.push([from + s, from + e]);
    prevEnd = e;
  }
  re.lastIndex = 0;
  return out;
}
