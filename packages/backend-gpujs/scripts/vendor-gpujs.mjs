// Vendors gpu.js' browser build into this package, so that installing @attnkit/backend-gpujs never
// installs gpu.js' native dependency `gl` (headless-gl builds with node-gyp, X11 headers and a
// download). gpu.js is MIT licensed; its browser build (dist/gpu-browser.min.js, a browserify UMD
// bundle of gpu.js with acorn, gl-wiretap and gpu-mock.js, all MIT) has no native parts: WebGL2/WebGL
// in browsers, gpu.js' CPU mode in Node. The UMD bundle is wrapped as an ES module (it runs in
// strict mode unchanged) and written to vendor/gpu-browser.js with the licenses beside it.
//
// Usage, from the repository root, after changing the gpu.js devDependency:
//   node packages/backend-gpujs/scripts/vendor-gpujs.mjs          # writes vendor/
//   node packages/backend-gpujs/scripts/vendor-gpujs.mjs --check  # exits 1 if vendor/ is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const vendor = join(pkg, 'vendor');

/** The files vendor/ must hold, generated from the installed gpu.js devDependency. */
export function vendoredFiles() {
  const require = createRequire(join(pkg, 'package.json'));
  const gpuDir = dirname(require.resolve('gpu.js/package.json'));
  const gpu = JSON.parse(readFileSync(join(gpuDir, 'package.json'), 'utf8'));
  const fromGpu = createRequire(join(gpuDir, 'package.json'));
  const bundle = readFileSync(join(gpuDir, 'dist/gpu-browser.min.js'), 'utf8');
  const js = [
    `// gpu.js ${gpu.version} browser build (dist/gpu-browser.min.js, MIT; licenses in THIRD_PARTY_LICENSES.txt),`,
    '// wrapped as an ES module by scripts/vendor-gpujs.mjs. Do not edit: run that script.',
    'const module = { exports: {} };',
    'const exports = module.exports;',
    'const define = undefined;',
    bundle,
    ';',
    'const gpujs = module.exports;',
    'export const GPU = gpujs.GPU;',
    'export default gpujs;',
    '',
  ].join('\n');
  const licenses = [['gpu.js', gpuDir]];
  for (const dep of ['acorn', 'gl-wiretap', 'gpu-mock.js']) {
    licenses.push([dep, dirname(fromGpu.resolve(`${dep}/package.json`))]);
  }
  const text = licenses
    .map(([name, dir]) => {
      const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
      return `${name} ${version}\n\n${readFileSync(join(dir, 'LICENSE'), 'utf8').trim()}\n`;
    })
    .join(`\n${'-'.repeat(72)}\n\n`);
  return {
    'gpu-browser.js': js,
    'THIRD_PARTY_LICENSES.txt': `Third-party code in vendor/gpu-browser.js (gpu.js' browser bundle):\n\n${text}`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = vendoredFiles();
  const check = process.argv.includes('--check');
  let stale = false;
  for (const [name, text] of Object.entries(files)) {
    const path = join(vendor, name);
    if (check) {
      let old = '';
      try {
        old = readFileSync(path, 'utf8');
      } catch {}
      if (old !== text) {
        console.error(`vendor-gpujs: ${path} is stale; run node ${fileURLToPath(import.meta.url)}`);
        stale = true;
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${path} (${(text.length / 1024).toFixed(0)} KiB)`);
    }
  }
  if (stale) process.exit(1);
}
