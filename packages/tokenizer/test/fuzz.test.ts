import { readdirSync, readFileSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Tokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import { runFuzz } from './helpers/fuzz-tokenizer-json.mjs';
import { randomTexts } from './helpers/random-text.js';

const fixture = (p: string) => new URL(`./fixtures/${p}`, import.meta.url);
const BASES = [
  'pairs/bytelevel.tokenizer.json',
  'pairs/template-bytelevel.tokenizer.json',
  'pairs/template-wordpiece.tokenizer.json',
  'pairs/bert.tokenizer.json',
  'pairs/roberta.tokenizer.json',
  'bert-wordpiece.tokenizer.json',
  'llama2-style.tokenizer.json',
].map((name) => ({ name, json: JSON.parse(readFileSync(fixture(name), 'utf8')) }));

const CASES = 1200;
const SEED = 22;
/** A case that reports nothing for this long is a hang. */
const HANG_MS = 10_000;

/** The newest modification time under a folder. */
function newest(dir: URL): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(`${e.parentPath}/${e.name}`).mtimeMs);
  }
  return t;
}

interface FuzzStats {
  built: number;
  refused: number;
  encodeRefused: number;
  failures: string[];
}

/** Runs the cases in a worker (on the built package) and stops it if one case hangs. */
function runInWorker(): Promise<FuzzStats> {
  const dist = new URL('../dist/index.js', import.meta.url);
  // The worker runs the build, so the build must be current (the root `pnpm test` builds first).
  if (newest(new URL('../dist/', import.meta.url)) < newest(new URL('../src/', import.meta.url)))
    throw new Error('fuzz.test: packages/tokenizer/dist is older than src; build the package first');
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./helpers/fuzz-worker.mjs', import.meta.url), {
      workerData: { entry: dist.href, bases: BASES, seed: SEED, count: CASES },
    });
    let current = 'before the first case';
    let timer: ReturnType<typeof setTimeout>;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        worker.terminate();
        reject(new Error(`fuzz: ${current} did not finish in ${HANG_MS} ms (a hang)`));
      }, HANG_MS);
    };
    arm();
    worker.on('message', (m: { type: string; label?: string; stats?: FuzzStats }) => {
      if (m.type === 'case') {
        current = m.label as string;
        arm();
      } else {
        clearTimeout(timer);
        worker.terminate();
        resolve(m.stats as FuzzStats);
      }
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('fuzzing tokenizer.json', () => {
  it(`${CASES} seeded mutants each load and encode, or fail with an error naming the field; none hangs`, {
    timeout: 120_000,
  }, async () => {
    const stats = await runInWorker();
    expect(stats.failures.slice(0, 10)).toEqual([]);
    expect(stats.built + stats.refused).toBe(CASES);
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(stats.built).toBeGreaterThan(CASES / 10);
    expect(stats.refused).toBeGreaterThan(CASES / 10);
  });

  it('the first 300 cases also pass in-process on the sources', { timeout: 120_000 }, () => {
    // The worker runs the build; this runs the sources (small inputs keep every case short).
    const stats = runFuzz(Tokenizer, BASES, SEED, 300);
    expect(stats.failures.slice(0, 10)).toEqual([]);
  });
});

describe('byte-level BPE round trips', () => {
  it('decode(encode(s)) === s for seeded random strings (trained GPT-2 style and Llama 3 style files)', () => {
    const texts = randomTexts(2222, 1500).filter((s) => !/\p{Cs}/u.test(s));
    expect(texts.length).toBeGreaterThan(1000);
    for (const name of ['pairs/bytelevel.tokenizer.json', 'pairs/template-bytelevel.tokenizer.json']) {
      const tok = Tokenizer.fromJSON(readFileSync(fixture(name), 'utf8'));
      for (const s of texts) {
        const ids = tok.encode(s, null, { addSpecialTokens: false }).ids;
        expect(tok.decode(ids), `${name}: ${JSON.stringify(s)}`).toBe(s);
      }
    }
  });
});
