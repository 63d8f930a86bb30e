import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Encoding, getEncoding } from '@attnkit/tokenizer';
import * as gptCl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as gptO200k from 'gpt-tokenizer/encoding/o200k_base';
import * as gptR50k from 'gpt-tokenizer/encoding/r50k_base';
import { getEncoding as tiktokenGetEncoding } from 'js-tiktoken';
import { measure } from './cli/measure.js';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';
import { printTable, ratio } from './cli/table.js';

/**
 * Tokenizer throughput: @attnkit/tokenizer beside js-tiktoken 1.0.21 and gpt-tokenizer 4.0.0, in one
 * process, on the same texts, after checking that all three return identical ids.
 *
 * Texts (generated here, deterministic, about 1 MB each; nothing copyrighted is shipped):
 * - English: sentences built from a frequency-weighted English vocabulary with inflections,
 *   names, numbers, punctuation, quotes and paragraphs. Set ATTNKIT_BENCH_TEXT=<file> to
 *   measure on a text of your own instead.
 * - Multilingual: sentences written for this benchmark in 14 languages and scripts (Latin with
 *   diacritics, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Chinese, Japanese, Korean,
 *   emoji, code), shuffled.
 *
 * Reports encode MB/s (UTF-8 megabytes of input per second, median of runs), decode MB/s, and
 * the heap held by a loaded encoding. `--quick`: texts of about 50 kB, timed for about 0.1 s each.
 */
export async function benchTokenizer(): Promise<void> {
  const english = process.env.ATTNKIT_BENCH_TEXT
    ? readFileSync(process.env.ATTNKIT_BENCH_TEXT, 'utf8')
    : englishText(settings.quick ? 50_000 : 1_050_000);
  const multilingual = multilingualText(settings.quick ? 50_000 : 1_050_000);
  const t = (ms: number) => (settings.quick ? Math.min(ms, 100) : ms);
  const texts: Array<[string, string]> = [
    ['English', english],
    ['multilingual', multilingual],
  ];
  const mb = (s: string) => Buffer.byteLength(s, 'utf8') / 1e6;
  console.log(
    `\nTexts: English ${mb(english).toFixed(2)} MB, multilingual ${mb(multilingual).toFixed(2)} MB (UTF-8).`,
  );

  const memory = await loadedMemory();

  const peers = {
    r50k_base: { gpt: gptR50k },
    cl100k_base: { gpt: gptCl100k },
    o200k_base: { gpt: gptO200k },
  } as const;

  const encodeRows: Array<Array<string | number>> = [];
  const decodeRows: Array<Array<string | number>> = [];
  for (const name of ['r50k_base', 'cl100k_base', 'o200k_base'] as const) {
    const ours: Encoding = await getEncoding(name);
    const tik = tiktokenGetEncoding(name);
    const gpt = peers[name].gpt;
    for (const [label, text] of texts) {
      const size = mb(text);
      const a = ours.encode(text);
      const b = tik.encode(text);
      const c = gpt.encode(text);
      const same =
        a.length === b.length && a.length === c.length && a.every((v, i) => v === b[i] && v === c[i]);
      if (!same)
        throw new Error(
          `tokenizer bench: ids differ on ${label} text with ${name} (ours ${a.length}, js-tiktoken ${b.length}, gpt-tokenizer ${c.length} tokens)`,
        );
      const tOurs = await measure(() => ours.encode(text), { warmup: 2, minRuns: 5, minTimeMs: t(1500) });
      const tGpt = await measure(() => gpt.encode(text), { warmup: 2, minRuns: 5, minTimeMs: t(1500) });
      const tTik = await measure(() => tik.encode(text), { warmup: 1, minRuns: 2, minTimeMs: 0 });
      const ro = size / (tOurs.medianMs / 1000);
      const rg = size / (tGpt.medianMs / 1000);
      const rt = size / (tTik.medianMs / 1000);
      encodeRows.push([name, label, String(a.length), ro, rg, rt, ratio(ro, rg), ratio(ro, rt)]);

      const dOurs = await measure(() => ours.decode(a), { warmup: 2, minRuns: 5, minTimeMs: t(500) });
      const dGpt = await measure(() => gpt.decode(a), { warmup: 2, minRuns: 5, minTimeMs: t(500) });
      const dTik = await measure(() => tik.decode(a), { warmup: 1, minRuns: 3, minTimeMs: t(300) });
      if (ours.decode(a) !== text)
        throw new Error(`tokenizer bench: decode(encode(text)) !== text for ${label} with ${name}`);
      const d1 = size / (dOurs.medianMs / 1000);
      const d2 = size / (dGpt.medianMs / 1000);
      const d3 = size / (dTik.medianMs / 1000);
      decodeRows.push([name, label, d1, d2, d3, ratio(d1, d2), ratio(d1, d3)]);
      for (const [metric, values] of [
        ['encode', [ro, rg, rt]],
        ['decode', [d1, d2, d3]],
      ] as const)
        for (const [i, implementation] of ['attnkit', 'gpt-tokenizer 4.0.0', 'js-tiktoken 1.0.21'].entries())
          record({
            suite: 'tokenizer',
            case: `${name} ${label} ${metric}`,
            implementation,
            metric,
            value: values[i],
            unit: 'MB/s',
            params: { encoding: name, text: label },
          });
    }
  }
  printTable(
    'tokenizer encode, MB/s (median; identical ids checked in this run)',
    [
      'encoding',
      'text',
      'tokens',
      'attnkit',
      'gpt-tokenizer 4.0.0',
      'js-tiktoken 1.0.21',
      'vs gpt-tokenizer',
      'vs js-tiktoken',
    ],
    encodeRows,
  );
  printTable(
    'tokenizer decode, MB/s of text produced (median)',
    [
      'encoding',
      'text',
      'attnkit',
      'gpt-tokenizer 4.0.0',
      'js-tiktoken 1.0.21',
      'vs gpt-tokenizer',
      'vs js-tiktoken',
    ],
    decodeRows,
  );
  printTable(
    'tokenizer memory: heap held by one loaded encoding, MB (after GC, loaded alone)',
    ['encoding', 'attnkit (incl. rank module)', 'load ms'],
    memory.map((m) => [m.name, m.heapMb, m.loadMs]),
    1,
  );
  for (const m of memory) {
    const params = { encoding: m.name };
    record({
      suite: 'tokenizer',
      case: `${m.name} loaded`,
      implementation: 'attnkit',
      metric: 'heap held',
      value: m.heapMb,
      unit: 'MB',
      params,
    });
    record({
      suite: 'tokenizer',
      case: `${m.name} loaded`,
      implementation: 'attnkit',
      metric: 'load time',
      value: m.loadMs,
      unit: 'ms',
      params,
    });
  }
}

/** Loads each encoding with nothing else held and reports the heap growth after a full GC. */
async function loadedMemory(): Promise<Array<{ name: string; heapMb: number; loadMs: number }>> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const out: Array<{ name: string; heapMb: number; loadMs: number }> = [];
  for (const name of ['r50k_base', 'cl100k_base', 'o200k_base'] as const) {
    gc();
    const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const enc = await getEncoding(name);
    const loadMs = performance.now() - t0;
    enc.encode('warm up the merge memo: 中文 العربية');
    gc();
    const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    out.push({ name, heapMb: (after - before) / 1e6, loadMs });
  }
  return out;
}

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMON =
  `the of and to a in is that for it as was with be by on not he this are or his from at which but have an they you
were her she there one all we their has been would when if will more no out so up said what its about into than them can only other new
some could time these two may then do first any my now such like our over man me even most made after also did many before must through
back years where much your way well down should because each just those people how too little state good very make world still own see
men work long get here between both life being under never day same another know while last might us great old year off come since
against go came right used take three states himself few house use during without again place american around however home small found
thought went say part once general high upon school every does got united left number course war until always away something fact
though water less public put think almost hand enough far took head yet government system better set told nothing night end why
called didn eyes find going look asked later knew point next program city business give group toward young days let room president
side social present given several order national possible rather second face per among form important often things looking early
white case john become large big need four within felt along children saw best church ever least power development light thing seemed
family interest want members mind country area others done turned although open god service certain kind problem began different
door thus help sense means whole matter perhaps itself york times law human line above name example action company hands local show
whether five history gave today either act feet across taken past quite anything seen having death experience body word half really
field am car words already themselves information tell together college shall money period held keep sure free real probably seems
behind cannot miss political air question making office brought whose special heard major problems ago became federal moment study
available known result street economic boy position reason change south board individual job society areas west close turn love
community true court force full seem wife future age voice center woman control common policy necessary following front sometimes
six girl clear further land run students provide model network training attention weights tokenizer gradient matrix layer sequence`.split(
    /\s+/,
  );

const SUFFIXES = [
  '',
  '',
  '',
  '',
  's',
  'ed',
  'ing',
  'ly',
  'er',
  'ness',
  'tion',
  'able',
  'ment',
  "'s",
  'est',
  'ful',
];
const NAMES = [
  'Alice',
  'Bob',
  'Chen',
  'Dmitri',
  'Elena',
  'Fatima',
  'García',
  'Hiroshi',
  'Ingrid',
  'Jamal',
  'Kowalski',
  'London',
  'Paris',
  'Nairobi',
  'Toronto',
  'McAllister',
  "O'Brien",
];
const SYL = [
  'ka',
  'lo',
  'mi',
  'ren',
  'dor',
  'qua',
  'zel',
  'th',
  'ix',
  'ple',
  'str',
  'on',
  'vi',
  'gr',
  'ush',
  'ae',
];

/** Deterministic English-like text of about `bytes` bytes. */
export function englishText(bytes: number, seed = 42): string {
  const r = rng(seed);
  const zipf = () => COMMON[Math.min(COMMON.length - 1, Math.floor(COMMON.length * r() ** 2.2))];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const sentenceLen = 6 + Math.floor(r() * 20);
    const words: string[] = [];
    for (let i = 0; i < sentenceLen; i++) {
      const x = r();
      let w: string;
      if (x < 0.8) w = zipf();
      else if (x < 0.9) w = zipf() + SUFFIXES[Math.floor(r() * SUFFIXES.length)];
      else if (x < 0.94) w = NAMES[Math.floor(r() * NAMES.length)];
      else if (x < 0.97) w = String(Math.floor(r() ** 3 * 100000));
      else {
        w = '';
        const n = 2 + Math.floor(r() * 3);
        for (let k = 0; k < n; k++) w += SYL[Math.floor(r() * SYL.length)];
      }
      if (i > 0 && r() < 0.08) words[words.length - 1] += r() < 0.5 ? ',' : ';';
      words.push(w);
    }
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    let s = words.join(' ');
    const q = r();
    s += q < 0.8 ? '.' : q < 0.9 ? '?' : '!';
    if (r() < 0.1) s = `"${s}"`;
    if (r() < 0.05) s = `(${s})`;
    s += r() < 0.12 ? '\n\n' : ' ';
    parts.push(s);
    size += s.length;
  }
  return parts.join('');
}

const SENTENCES = [
  'The weather in the mountains changes quickly, so we packed warm clothes and a map.',
  'Le petit déjeuner était servi à huit heures précises dans la salle à manger.',
  'Die Straßenbahn fährt alle zehn Minuten über die Brücke zum Hauptbahnhof.',
  'El niño corrió hacia la playa mientras su abuela leía el periódico bajo la sombrilla.',
  'Покупатели выстроились в очередь у пекарни задолго до её открытия.',
  'Οι μαθητές διάβασαν το ποίημα δυνατά και συζήτησαν το νόημά του.',
  'ذهبنا إلى السوق القديم واشترينا التوابل والقهوة والتمر.',
  'המורה ביקשה מהתלמידים לכתוב חיבור קצר על החופשה שלהם.',
  'बच्चों ने बगीचे में पेड़ लगाए और हर सुबह उन्हें पानी दिया।',
  'นักท่องเที่ยวเดินชมวัดเก่าและถ่ายรูปพระอาทิตย์ตก',
  '我们在周末去了博物馆，看到了很多古代的瓷器和书法作品。',
  '駅の近くに新しいパン屋ができて、毎朝たくさんの人が並んでいます。',
  '우리는 주말마다 한강 공원에서 자전거를 타고 산책을 합니다.',
  'Tôi thích uống cà phê sữa đá vào buổi sáng trước khi đi làm.',
  'Czy możesz mi powiedzieć, gdzie znajduje się najbliższa apteka?',
  'Bugün hava çok güzel, parka gidip biraz yürüyüş yapalım mı?',
  'Team update 🚀: shipped v2.3 ✅, fixed 14 bugs 🐛, next sprint 👨‍💻👩‍💻 starts Monday 🇺🇸🇯🇵.',
  'const total = items.reduce((sum, x) => sum + x.price * x.qty, 0); // 合計',
  'Prices: €12.50, £9.99, ¥1,200, ₹450 — all taxes (19 %) included.',
];

/**
 * Deterministic multilingual text of about `bytes` UTF-8 bytes: new sentences recombined from the
 * words of each language above (runs of 1-4 characters for scripts written without spaces), so
 * the text is varied rather than 19 sentences repeated.
 */
export function multilingualText(bytes: number, seed = 7): string {
  const r = rng(seed);
  const pools = SENTENCES.map((sentence) => {
    const spaced = sentence.includes(' ') && !/[\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff]/u.test(sentence);
    if (spaced) return { sep: ' ', units: sentence.split(' ') };
    const chars = [...sentence.replace(/\s+/g, '')];
    const units: string[] = [];
    for (let i = 0; i < chars.length; ) {
      const n = 1 + Math.floor(r() * 4);
      units.push(chars.slice(i, i + n).join(''));
      i += n;
    }
    return { sep: '', units };
  });
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const pool = pools[Math.floor(r() * pools.length)];
    const n = 5 + Math.floor(r() * 12);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(pool.units[Math.floor(r() * pool.units.length)]);
    const s = words.join(pool.sep) + (r() < 0.15 ? '\n' : ' ');
    parts.push(s);
    size += Buffer.byteLength(s, 'utf8');
  }
  return parts.join('');
}
