// Runs the whole tensor-core conformance suite on the gpu.js backend in headless Chromium (WebGL2;
// SwiftShader when there is no GPU). Bundles with vite, serves on localhost, drives Chromium with
// playwright-core (both root devDependencies). Usage, from the repository root:
//   node packages/backend-gpujs/scripts/browser-conformance.mjs [path-to-chromium]
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gpujs-browser-'));
const entry = join(dir, 'entry.ts');
writeFileSync(
  entry,
  `import '@attnkit/backend-cpu';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { setBackend } from '@attnkit/tensor-core';
import { checkCase, conformanceCases, GLSL_ES_3_PRECISION } from '@attnkit/tensor-core/testing';
const out = [];
try {
  const b = await initGpuJs(); // the gpu.js browser build this package ships
  out.push('mode ' + b.mode);
  let pass = 0;
  for (const c of conformanceCases) {
    setBackend('gpujs');
    try { await checkCase(c, { precision: GLSL_ES_3_PRECISION }); pass++; } catch (e) { out.push('FAIL ' + c.op + ' (' + c.name + '): ' + e.message.slice(0, 300)); }
  }
  out.push('passed ' + pass + ' of ' + conformanceCases.length);
} catch (e) { out.push('init error ' + e.stack); }
globalThis.__result = out;
`,
);
writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./bundle.js"></script>');
await build({
  configFile: false,
  logLevel: 'warn',
  root: dir,
  resolve: {
    alias: [
      { find: /^@attnkit\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@attnkit\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/$2/index.ts` },
    ],
  },
  build: {
    outDir: dir,
    emptyOutDir: false,
    target: 'es2022',
    minify: false,
    rollupOptions: { input: entry, output: { entryFileNames: 'bundle.js', inlineDynamicImports: true } },
  },
});
const server = createServer((req, res) => {
  const file = req.url === '/' ? 'index.html' : req.url.slice(1);
  try {
    const body = readFileSync(join(dir, file));
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const { port } = server.address();
const browser = await chromium.launch({
  executablePath: process.argv[2] ?? '/usr/bin/chromium',
  args: ['--ignore-gpu-blocklist', '--enable-unsafe-swiftshader'],
});
try {
  const page = await browser.newPage();
  const t0 = Date.now();
  await page.goto(`http://localhost:${port}/`, { waitUntil: 'commit' });
  await page.waitForFunction(() => globalThis.__result, null, { timeout: 600_000, polling: 1000 });
  const lines = await page.evaluate(() => globalThis.__result);
  console.log(lines.join('\n'));
  console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exitCode = lines.some((l) => l.startsWith('FAIL') || l.startsWith('init error')) ? 1 : 0;
} finally {
  await browser.close();
  server.close();
}
