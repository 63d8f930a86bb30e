import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vite';

/**
 * Emits dist/sw.js, the service worker that makes the demo work offline: sw/sw.template.js with
 * the list of every file of this build (JS chunks, CSS, index.html, and the assets Vite copied for
 * `new URL(..., import.meta.url)`: model weights, vocabularies) and a hash of their contents, so a
 * new build gets a new cache; and tells the app to register it. Runs last (`enforce: 'post'`), after index.html is in the bundle.
 */
function precacheServiceWorker(): Plugin {
  const template = readFileSync(new URL('./sw/sw.template.js', import.meta.url), 'utf8');
  return {
    name: 'attnkit-demo-precache-sw',
    apply: 'build',
    enforce: 'post',
    // The app registers the worker where this is set: in every `vite build`, whatever NODE_ENV says
    // (under vitest NODE_ENV is 'test', which turns import.meta.env.PROD off even in a build).
    config: () => ({ define: { 'import.meta.env.VITE_SERVICE_WORKER': JSON.stringify('./sw.js') } }),
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((f) => !f.endsWith('.map') && f !== 'sw.js')
        .sort();
      if (!files.includes('index.html')) throw new Error('precache: index.html is not in the bundle yet');
      const hash = createHash('sha256').update(template);
      for (const f of files) {
        const out = bundle[f];
        hash.update(f).update(out.type === 'chunk' ? out.code : out.source);
      }
      // './' is the page itself (index.html under the URL a visitor opens)
      const urls = ['./', ...files.map((f) => `./${f}`)];
      const source = template
        .replace('__PRECACHE__', JSON.stringify(urls, null, 2))
        .replace('__VERSION__', JSON.stringify(hash.digest('hex').slice(0, 16)));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

// Plain TypeScript, no framework. `base: './'` makes dist/ work from any folder or URL prefix.
export default defineConfig({
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  plugins: [precacheServiceWorker()],
});
