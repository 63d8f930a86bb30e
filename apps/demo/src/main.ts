// The attnkit demo: one page per concept of the course, in the order data flows.
import './style.css';
import { el, type Page } from './page.js';
import { attentionPage } from './pages/attention.js';
import { diffusionPage } from './pages/diffusion.js';
import { generationPage } from './pages/generation.js';
import { tensorsPage } from './pages/tensors.js';
import { tokenizerPage } from './pages/tokenizer.js';

const pages: Page[] = [tokenizerPage, tensorsPage, attentionPage, generationPage, diffusionPage];

const nav = document.querySelector<HTMLElement>('#nav')!;
const app = document.querySelector<HTMLElement>('#app')!;
const rendered = new Map<string, HTMLElement>();

for (const page of pages) nav.append(el('a', { href: `#${page.id}`, 'data-page': page.id }, page.title));

async function show(id: string): Promise<void> {
  const page = pages.find((p) => p.id === id) ?? pages[0];
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.page === page.id);
  let section = rendered.get(page.id);
  if (!section) {
    section = el(
      'section',
      { id: page.id, class: 'page' },
      el('h2', {}, page.title),
      el('p', { class: 'summary' }, page.summary),
    );
    const body = el('div', { class: 'body' });
    section.append(body);
    rendered.set(page.id, section);
    app.append(section);
    try {
      await page.render(body);
    } catch (err) {
      body.append(el('p', { class: 'error' }, `this page failed: ${(err as Error).message}`));
      console.error(err);
    }
  }
  for (const s of rendered.values()) s.hidden = s !== section;
  document.body.dataset.ready = page.id;
}

window.addEventListener('hashchange', () => void show(location.hash.slice(1)));
void show(location.hash.slice(1));
