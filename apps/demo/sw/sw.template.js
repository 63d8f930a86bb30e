// The demo's service worker: makes the app work offline after one online visit. vite.config.ts
// turns this template into dist/sw.js at build time, replacing the two placeholders below with the
// build's file list (every JS chunk, the CSS, index.html, the model weights and vocabularies, the
// tiktoken rank tables) and a hash of their contents. Install caches them all; activate drops the
// caches of older builds and takes control of the open pages (clients.claim, so the first visit is
// controlled too); fetch answers from the cache first, the network second.
const PRECACHE = __PRECACHE__;
const CACHE = `attnkit-demo-${__VERSION__}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // cache: 'reload' bypasses the HTTP cache, so a new build never precaches a stale file
      await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith('attnkit-demo-') && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // ignoreVary: the server says `Vary: Origin`, and module scripts (crossorigin) send an Origin
      // header that the precache requests did not, so a strict match would miss every script.
      // ignoreSearch: the query string never selects a different file of this static app.
      const hit = await cache.match(request, { ignoreVary: true, ignoreSearch: true });
      if (hit) return hit;
      try {
        return await fetch(request);
      } catch (err) {
        // offline: any page of the app is its one index.html (the views are #hash routes)
        if (request.mode === 'navigate') {
          const shell = await cache.match('./', { ignoreVary: true });
          if (shell) return shell;
        }
        throw err;
      }
    })(),
  );
});
