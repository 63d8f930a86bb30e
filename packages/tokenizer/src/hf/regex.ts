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
  try {
    return new RegExp(src, 'gu');
  } catch (e) {
    throw new Error(
      `${where}: cannot compile the regular expression ${JSON.stringify(pattern)} in JavaScript: ${(e as Error).message}`,
    );
  }
}
