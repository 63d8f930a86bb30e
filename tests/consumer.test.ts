// A new user's project: every package from its packed tarball, installed with plain npm into an
// empty folder outside the workspace (tests/packed.ts), then
// 1. strict TypeScript with skipLibCheck: false, once with moduleResolution bundler (no @types/node)
//    and once with nodenext, including a CommonJS .cts file that imports a package, compiled and run;
// 2. a Vite build of a browser app that imports every package: zero warnings (no node: import
//    reaches the browser bundle, nothing unresolvable);
// 3. that app in headless Chromium: the gpu.js backend from the shipped browser build runs WebGL2.
// Needs built packages (the root `test` script builds first) and Debian's chromium.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { build, createLogger } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifests, npmProject, packAll, root, run } from './packed.js';

const CHROMIUM = '/usr/bin/chromium'; // Debian's package; no browser download
const TSC = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const work = mkdtempSync(join(tmpdir(), 'attnkit-consumer-'));
const app = join(work, 'app');

beforeAll(async () => {
  const tarballs = await packAll(join(work, 'tarballs'), 'consumer');
  await npmProject(
    app,
    [...manifests.values()].map((m) => m.name),
    tarballs,
  );
}, 600_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
}, 120_000); // many small files on a busy machine

function write(rel: string, text: string): string {
  const file = join(app, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** Runs tsc on a tsconfig of the app; returns its diagnostics (empty when it compiles). */
async function tsc(config: string): Promise<string> {
  try {
    await run(process.execPath, [TSC, '-p', join(app, config)], { cwd: app, maxBuffer: 16 << 20 });
    return '';
  } catch (e) {
    return `${(e as { stdout?: string }).stdout ?? ''}${(e as Error).message}`;
  }
}

// Uses the public API the way the READMEs show, typed end to end: every line must compile under
// strict settings against the published declaration files.
const TYPED_APP = `import { scaledDotProductAttention } from '@attnkit/attention';
import '@attnkit/backend-cpu';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { DDPMScheduler } from '@attnkit/diffusion';
import { generate } from '@attnkit/sampling';
import { matmul, randn, type Tensor, useBackend } from '@attnkit/tensor-core';
import { readSafetensors } from '@attnkit/tensor-core/io';
import { Linear } from '@attnkit/tensor-core/nn';
import { getEncoding } from '@attnkit/tokenizer';
import { AutoModelForCausalLM, type GPT2LMHeadModel, loadPretrained } from '@attnkit/transformer';

export async function main(folder: string): Promise<number[]> {
  const webgpu = await initWebGPU();
  const device: GPUDevice = webgpu.device; // WebGPU types reach the consumer through the package
  device.label = 'attnkit';
  const gpujs = await initGpuJs({ mode: 'cpu' });
  await useBackend(gpujs.name);
  const y: Tensor = matmul(randn([2, 3]), randn([3, 4]));
  const attn = scaledDotProductAttention(randn([1, 2, 4, 8]), randn([1, 2, 4, 8]), randn([1, 2, 4, 8]));
  const layer = new Linear(4, 2);
  await layer.to('cpu');
  const state: Record<string, Tensor> = await readSafetensors(folder + '/model.safetensors');
  const enc = await getEncoding('gpt2');
  const lm = await AutoModelForCausalLM.fromPretrained(folder);
  const out = await generate(lm, [enc.encode('hello')], { maxNewTokens: 4 });
  const gpt2: GPT2LMHeadModel = await loadPretrained(folder, { architecture: 'GPT2LMHeadModel' });
  const sched = new DDPMScheduler();
  void [y, attn, state, gpt2, sched];
  return out.sequences[0];
}
`;

// Lines that must NOT compile: a @ts-expect-error that no longer errors fails the build.
const TYPE_ERRORS = `import { generate } from '@attnkit/sampling';
import { type BertForMaskedLM, type GPT2LMHeadModel, loadPretrained } from '@attnkit/transformer';

export async function wrong(folder: string): Promise<void> {
  const any = await loadPretrained(folder);
  // @ts-expect-error: an untyped load is a PreTrainedModel, not a causal LM
  await generate(any, [[1]], {});
  // @ts-expect-error: nor a GPT2LMHeadModel
  const g: GPT2LMHeadModel = any;
  // @ts-expect-error: a text-generation model is not a masked LM
  const m: BertForMaskedLM = await loadPretrained(folder, { task: 'text-generation' });
  void [g, m];
}
`;

describe('a strict TypeScript consumer (skipLibCheck: false)', () => {
  it('compiles with moduleResolution bundler, without @types/node', async () => {
    write('src/app.ts', TYPED_APP);
    write('src/type-errors.ts', TYPE_ERRORS);
    write(
      'tsconfig.bundler.json',
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'bundler',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          types: [],
        },
        files: ['src/app.ts', 'src/type-errors.ts'],
      }),
    );
    expect(await tsc('tsconfig.bundler.json')).toBe('');
  }, 300_000);

  it('compiles with module nodenext, and a .cts file that imports a package compiles and runs', async () => {
    write('src/app.mts', TYPED_APP);
    write(
      'src/tokens.cts',
      `import { getEncoding } from '@attnkit/tokenizer';
import { tensor } from '@attnkit/tensor-core';
import '@attnkit/backend-cpu';
getEncoding('r50k_base').then((enc) => {
  console.log(JSON.stringify({ ids: enc.encode('hello world'), sum: Array.from(tensor([1, 2]).add(tensor([3, 4])).dataSync()) }));
});
`,
    );
    write(
      'tsconfig.nodenext.json',
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          types: [],
          outDir: 'out',
        },
        files: ['src/app.mts', 'src/tokens.cts'],
      }),
    );
    expect(await tsc('tsconfig.nodenext.json')).toBe('');
    const { stdout } = await run(process.execPath, [join(app, 'out', 'tokens.cjs')], { cwd: app });
    // Reference: tiktoken r50k_base.encode('hello world'); 1+3, 2+4.
    expect(JSON.parse(stdout)).toEqual({ ids: [31373, 995], sum: [4, 6] });
  }, 300_000);
});

describe('no node: import in what a browser bundle gets', () => {
  it("every installed package's JavaScript, except the node-condition entry of tensor-core/platform, names no Node built-in literally", () => {
    // Bundlers resolve (and Vite warns about) literal `import 'node:...'` / `import('node:...')`;
    // Node-only code sits behind the `node` exports condition or loads through a variable specifier.
    const nodeOnly = new Set([join(app, 'node_modules/@attnkit/tensor-core/dist/platform/index.js')]);
    const literal = /(?:\bfrom\s*|\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)*|\bimport\s+)['"]node:/;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (
          entry.name.endsWith('.js') &&
          !nodeOnly.has(path) &&
          // Doc comments (`/** ... */`) may show `import ... from 'node:fs'` in their @examples.
          literal.test(readFileSync(path, 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, ''))
        )
          offenders.push(path.slice(app.length + 1));
      }
    };
    let scanned = 0;
    for (const m of manifests.values()) {
      const dist = join(app, 'node_modules', ...m.name.split('/'), 'dist');
      walk(dist);
      scanned++;
    }
    expect(scanned).toBe(manifests.size);
    expect(offenders).toEqual([]);
    // The check itself finds such an import.
    expect(literal.test("const fs = await import(/* @vite-ignore */ 'node:fs/promises');")).toBe(true);
    expect(literal.test("import { join } from 'node:path';")).toBe(true);
    expect(literal.test("const specifier = 'node:fs/promises';")).toBe(false);
  });
});

describe('a Vite app importing every package', () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it('builds with zero warnings, and gpu.js runs WebGL2 in Chromium from the installed package', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `consumer test: no Chromium at ${CHROMIUM}; install Debian's package (apt-get install -y chromium)`,
      );
    }
    write('web/index.html', '<!doctype html><script type="module" src="./main.js"></script>');
    write(
      'web/main.js',
      `import '@attnkit/backend-cpu';
import '@attnkit/backend-webgpu';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { matmul, setBackend, tensor } from '@attnkit/tensor-core';
import { readSafetensors } from '@attnkit/tensor-core/io';
import { scaledDotProductAttention } from '@attnkit/attention';
import { generate } from '@attnkit/sampling';
import { loadPretrained, loadTinyGPT } from '@attnkit/transformer';
import { StableDiffusionPipeline, savePng } from '@attnkit/diffusion';
import { AutoTokenizer, getEncoding } from '@attnkit/tokenizer';
const out = { used: [loadPretrained, loadTinyGPT, StableDiffusionPipeline, savePng, getEncoding, AutoTokenizer.fromPretrained, generate, readSafetensors, scaledDotProductAttention].map((f) => typeof f) };
try {
  const backend = await initGpuJs();
  setBackend('gpujs');
  const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]]));
  out.mode = backend.mode;
  out.values = Array.from(await y.data());
  // A file path in a browser is refused with a message, not a failed node: import.
  out.pathError = await loadPretrained('models/gpt2-missing').then(() => '', (e) => e.message);
} catch (e) {
  out.error = String(e && e.stack);
}
globalThis.__result = out;
`,
    );
    // What the user sees: Vite's logger (rollup warnings reach it through Vite's own filter).
    const warnings: string[] = [];
    const logger = createLogger('warn');
    const outDir = join(app, 'dist-web');
    await build({
      configFile: false,
      root: join(app, 'web'),
      logLevel: 'warn',
      customLogger: {
        ...logger,
        warn: (msg) => warnings.push(msg),
        warnOnce: (msg) => warnings.push(msg),
        error: (msg) => warnings.push(`error: ${msg}`),
      },
      build: {
        outDir,
        emptyOutDir: true,
        target: 'es2022',
        chunkSizeWarningLimit: 1 << 20, // bundle size is not what this test checks
      },
    });
    expect(warnings).toEqual([]);
    const bundle = readFileSync(join(outDir, 'index.html'), 'utf8');
    expect(bundle).toContain('<script type="module"');

    const types: Record<string, string> = {
      '.html': 'text/html',
      '.js': 'text/javascript',
      '.wasm': 'application/wasm',
    };
    server = createServer((req, res) => {
      const path = req.url === '/' ? 'index.html' : decodeURIComponent(req.url!.slice(1).split('?')[0]!);
      try {
        const body = readFileSync(join(outDir, path));
        res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--ignore-gpu-blocklist', '--enable-unsafe-swiftshader'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://localhost:${port}/`);
      // Wait for the app's result, or stop at the first uncaught error (a module that fails to load).
      for (let i = 0; i < 1200 && !errors.length; i++) {
        if (await page.evaluate(() => !!(globalThis as { __result?: unknown }).__result)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(errors).toEqual([]);
      const result = (await page.evaluate(() => (globalThis as { __result?: unknown }).__result)) as Record<
        string,
        unknown
      >;
      expect(errors).toEqual([]);
      expect(result.error).toBeUndefined();
      expect(result.used).toEqual(Array(9).fill('function'));
      expect(result.mode).toBe('webgl2');
      // Hand-derived: [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]].
      expect(result.values).toEqual([19, 22, 43, 50]);
      expect(result.pathError).toMatch(/loadPretrained/);
    } finally {
      await browser.close();
    }
  }, 600_000);
});
