/**
 * Seeded mutations of tokenizer.json objects for the fuzz test: delete or alter a field, give it
 * the wrong type, a huge number or an odd regular expression. Plain JavaScript so that a worker
 * thread can run it (the test bounds each case by watching the worker).
 */

/** mulberry32: a small seeded generator. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_REGEXES = [
  '',
  'x*',
  '(?=a)',
  '\\b',
  '(',
  '[',
  'a{2,1}',
  '(?<=a)',
  '\\p{Foo}',
  '(?i:',
  '(?i:abc)',
  '\\s+(?!\\S)',
  '.',
  '[^\\s\\p{L}]+',
  'a++b',
  '$',
  '^',
  '|',
  '\\',
  '(?<name>a)',
];
const ODD_VALUES = [
  null,
  undefined,
  true,
  false,
  0,
  -1,
  1.5,
  1e9,
  2 ** 31,
  2 ** 53,
  1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'x',
  'Left',
  'BPE',
  [],
  [1, 2],
  ['a', 'b'],
  {},
  { type: 'Nope' },
  { Regex: 'x*' },
  { String: '' },
];

/** Every [parent, key] in a JSON tree, skipping the middle of large vocabularies and merge lists. */
function slots(root) {
  const out = [];
  const walk = (node, depth) => {
    if (node === null || typeof node !== 'object' || depth > 6) return;
    const keys = Object.keys(node);
    const big = keys.length > 40;
    keys.forEach((k, i) => {
      if (big && i > 3 && i < keys.length - 3) return;
      out.push([node, k]);
      walk(node[k], depth + 1);
    });
  };
  walk(root, 0);
  return out;
}

function pick(r, list) {
  return list[Math.floor(r() * list.length)];
}

/**
 * Applies 1-3 seeded mutations to a deep copy of `base`; returns the mutant and a description.
 */
export function mutate(base, r) {
  const json = structuredClone(base);
  const what = [];
  const n = 1 + Math.floor(r() * 3);
  for (let m = 0; m < n; m++) {
    const all = slots(json);
    if (all.length === 0) break;
    // Favour the small parts (normalizer, pre_tokenizer, post_processor, decoder, truncation,
    // padding, added_tokens, model options) over the vocabulary entries.
    const [parent, key] = pick(r, all);
    const path = key;
    const kind = r();
    if (kind < 0.2) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      what.push(`delete ${path}`);
    } else if (kind < 0.35 && typeof parent[key] === 'string') {
      parent[key] = pick(r, ODD_REGEXES);
      what.push(`${path} = ${JSON.stringify(parent[key])}`);
    } else if (kind < 0.45 && parent[key] && typeof parent[key] === 'object' && 'Regex' in parent[key]) {
      parent[key] = { Regex: pick(r, ODD_REGEXES) };
      what.push(`${path}.Regex = ${JSON.stringify(parent[key].Regex)}`);
    } else if (kind < 0.55 && typeof parent[key] === 'number') {
      parent[key] = pick(r, [-1, 1e9, 2 ** 21, 2 ** 32, 2 ** 53 + 2, 1e300, 0.5, Number.NaN]);
      what.push(`${path} = ${parent[key]}`);
    } else {
      parent[key] = structuredClone(pick(r, ODD_VALUES));
      what.push(`${path} = ${JSON.stringify(parent[key]) ?? String(parent[key])}`);
    }
  }
  // Sometimes also switch on truncation or padding with odd settings.
  if (r() < 0.15)
    json.truncation = {
      max_length: pick(r, [0, 1, 3, 7, -2, 'x', 1e12]),
      strategy: pick(r, ['LongestFirst', 'OnlyFirst', 'OnlySecond', 'Bad']),
      stride: pick(r, [0, 1, 5]),
      direction: pick(r, ['Left', 'Right', 'Up']),
    };
  if (r() < 0.15)
    json.padding = {
      strategy: pick(r, ['BatchLongest', { Fixed: 9 }, { Fixed: 1e9 }, { Fixed: -1 }, 'Weird']),
      direction: pick(r, ['Left', 'Right']),
      pad_to_multiple_of: pick(r, [null, 0, 3, 1e10]),
      pad_id: pick(r, [0, 1, 999999, -1, '0']),
      pad_type_id: pick(r, [0, 1, -1]),
      pad_token: pick(r, ['[PAD]', '<pad>', 5]),
    };
  return { json, what: what.join('; ') };
}

export const TEXTS = [
  ['', null],
  ['Hello world', null],
  ['naïve café 東京 😀', 'How are you?'],
  [' a  b\tc\n', ''],
  ['[CLS] <s> </s> <|endoftext|> [PAD]', 'x'],
];

/** Messages of errors the JavaScript engine throws from inside code (a bug, not a validation). */
const ENGINE =
  /Cannot read prop|Cannot set prop|is not a function|is not iterable|is not defined|Invalid array length|Maximum call stack|Cannot convert|Cannot mix BigInt|undefined is not|null is not|Invalid regular expression|Invalid string length|toFixed|Unexpected token/;

/** Where a thrown error must start: the name of the function or the tokenizer.json field. */
const OURS =
  /^(Tokenizer\.[A-Za-z]+: |model|normalizer|pre_tokenizer|post_processor|decoder|BPE|WordPiece|WordLevel|Split)/;

/** Why an error does not count as a clear, attributed error (or null when it does). */
export function badError(e) {
  if (!(e instanceof Error)) return `threw a non-Error ${String(e)}`;
  if (ENGINE.test(e.message) && !OURS.test(e.message)) return `engine error ${e.name}: ${e.message}`;
  if (!OURS.test(e.message)) return `error not naming a field or function: ${e.name}: ${e.message}`;
  return null;
}

/**
 * Runs `count` seeded cases over `bases` with the Tokenizer class; calls `onCase(i, what)` before
 * each. Returns counts and the first failures.
 */
export function runFuzz(Tokenizer, bases, seed, count, onCase = () => {}) {
  const r = rng(seed);
  const stats = { built: 0, refused: 0, encodeRefused: 0, failures: [] };
  for (let i = 0; i < count; i++) {
    const base = bases[i % bases.length];
    const { json, what } = mutate(base.json, r);
    const label = `case ${i} (${base.name}: ${what})`;
    onCase(i, label);
    let tok;
    try {
      tok = Tokenizer.fromJSON(r() < 0.5 ? json : JSON.stringify(json));
    } catch (e) {
      const bad = badError(e);
      if (bad) stats.failures.push(`${label}: fromJSON ${bad}`);
      else stats.refused++;
      continue;
    }
    stats.built++;
    for (const [text, pair] of TEXTS) {
      try {
        const enc = tok.encode(text, pair);
        tok.decode(enc.ids, { skipSpecialTokens: true });
        tok.decode(enc.ids);
      } catch (e) {
        const bad = badError(e);
        if (bad) stats.failures.push(`${label}: encode/decode ${JSON.stringify([text, pair])} ${bad}`);
        else stats.encodeRefused++;
      }
    }
  }
  return stats;
}
