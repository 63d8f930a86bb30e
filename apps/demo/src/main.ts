// The attnkit demo: one view per concept of the course, in the order data flows. Each view has a
// hash route (#attention); the backend switch in the header re-runs the current view on another
// engine and shows how long it took.
import './style.css';
import { type BackendName, backendName, offeredBackends, switchBackend } from './backend.js';
import { el, type Page } from './page.js';
import { attentionPage } from './pages/attention.js';
import { diffusionPage } from './pages/diffusion.js';
import { embeddingsPage } from './pages/embeddings.js';
import { generationPage } from './pages/generation.js';
import { overviewPage } from './pages/overview.js';
import { t5Page } from './pages/t5.js';
import { tensorsPage } from './pages/tensors.js';
import { tokenizerPage } from './pages/tokenizer.js';
import { trainingPage } from './pages/training.js';
import { whisperPage } from './pages/whisper.js';

const pages: Page[] = [
  overviewPage,
  tokenizerPage,
  tensorsPage,
  embeddingsPage,
  attentionPage,
  generationPage,
  trainingPage,
  t5Page,
  diffusionPage,
  whisperPage,
];

const nav = document.querySelector<HTMLElement>('#nav')!;
const app = document.querySelector<HTMLElement>('#app')!;
const backendSelect = document.querySelector<HTMLSelectElement>('#backend')!;
const backendTime = document.querySelector<HTMLElement>('#backend-time')!;
const rendered = new Map<string, HTMLElement>();
let current: Page | undefined;

for (const page of pages) nav.append(el('a', { href: `#${page.id}`, 'data-page': page.id }, page.title));

/** Renders `page` into a fresh section (replacing an earlier one); resolves to the milliseconds taken. */
async function render(page: Page): Promise<number> {
  rendered.get(page.id)?.remove();
  const heading = el('h2', { tabindex: '-1' }, page.title);
  const section = el(
    'section',
    { id: page.id, class: 'page', 'aria-labelledby': `${page.id}-title` },
    heading,
    el('p', { class: 'summary' }, page.summary),
  );
  heading.id = `${page.id}-title`;
  const body = el('div', { class: 'body' });
  section.append(body);
  rendered.set(page.id, section);
  app.append(section);
  const t0 = performance.now();
  try {
    await page.render(body);
  } catch (err) {
    body.append(
      el('p', { class: 'error' }, `this view failed on ${backendName()}: ${(err as Error).message}`),
    );
    console.error(err);
  }
  return performance.now() - t0;
}

async function show(id: string, focus = false): Promise<void> {
  const page = pages.find((p) => p.id === id) ?? pages[0];
  current = page;
  for (const a of nav.querySelectorAll('a')) {
    const active = a.dataset.page === page.id;
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${page.title} · attnkit demo`;
  if (!rendered.has(page.id)) {
    delete document.body.dataset.ready;
    const ms = await render(page);
    if (current !== page) return;
    backendTime.textContent = `${page.title}: ${ms.toFixed(0)} ms on ${backendName()}`;
  }
  for (const s of rendered.values()) s.hidden = s !== rendered.get(page.id);
  if (focus) rendered.get(page.id)?.querySelector<HTMLElement>('h2')?.focus();
  document.body.dataset.ready = page.id;
}

/** Switches the engine, then re-runs the current view on it (the other views re-run when shown). */
async function changeBackend(name: BackendName): Promise<void> {
  backendSelect.disabled = true;
  delete document.body.dataset.ready;
  backendTime.textContent = `switching to ${name}…`;
  // Views render again on the new engine: take every rendered view out first, so that work still
  // running in one (generation, denoising, training) sees it is detached and stops before the switch.
  for (const section of rendered.values()) section.remove();
  rendered.clear();
  try {
    await switchBackend(name);
    document.body.dataset.backend = name;
    const page = current ?? pages[0];
    const ms = await render(page);
    for (const s of rendered.values()) s.hidden = s !== rendered.get(page.id);
    backendTime.textContent = `${page.title}: ${ms.toFixed(0)} ms on ${backendName()}`;
  } catch (err) {
    backendTime.textContent = `could not switch to ${name}: ${(err as Error).message}`;
    backendSelect.value = backendName();
  } finally {
    backendSelect.disabled = false;
    document.body.dataset.ready = current?.id ?? pages[0].id;
  }
}

backendSelect.addEventListener('change', () => void changeBackend(backendSelect.value as BackendName));
document.body.dataset.backend = backendName();
void offeredBackends().then((names) => {
  backendSelect.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
  backendSelect.value = backendName();
  document.body.dataset.backends = names.join(' ');
});

// The skip link moves focus to the view without changing the route.
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  app.focus();
});

window.addEventListener('hashchange', () => void show(location.hash.slice(1), true));

// Offline: builds register the service worker that vite.config.ts generates and names in
// VITE_SERVICE_WORKER (it precaches the whole build), once the first view has rendered, so that its
// 9 MB download does not compete with the first render; the dev server has none. body[data-offline="ready"] once it
// controls this page, i.e. once every file is cached.
function registerServiceWorker(): void {
  const script: string | undefined = import.meta.env.VITE_SERVICE_WORKER;
  if (!script || !('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;
  const controlled = () => {
    if (sw.controller) document.body.dataset.offline = 'ready';
  };
  sw.addEventListener('controllerchange', controlled);
  controlled();
  sw.register(script).catch((err: Error) => {
    console.warn(`offline use is off: the service worker did not register (${err.message})`);
  });
}

// 'attnkit:first-view' marks when the first view has rendered (tests/demo-views-chromium.test.ts
// reads it from a cold cache for the README's time to first render).
void show(location.hash.slice(1)).finally(() => {
  performance.mark('attnkit:first-view');
  registerServiceWorker();
});
