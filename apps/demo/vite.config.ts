import { defineConfig } from 'vite';

// Plain TypeScript, no framework. `base: './'` makes dist/ work from any folder or URL prefix.
export default defineConfig({
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
