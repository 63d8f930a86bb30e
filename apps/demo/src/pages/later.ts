import * as diffusion from '@attnkit/diffusion';
import * as sampling from '@attnkit/sampling';
import * as transformer from '@attnkit/transformer';
import { el, type Page } from '../page.js';

function exportsOf(mod: object): HTMLElement {
  const names = Object.keys(mod).sort();
  return el('p', { class: 'note' }, names.length ? `exports: ${names.join(', ')}` : 'nothing exported yet');
}

/** Transformer blocks and generation (filled in as @attnkit/transformer and @attnkit/sampling grow). */
export const generationPage: Page = {
  id: 'generation',
  title: 'Generation',
  summary: 'Transformer blocks turn tokens into next-token logits; sampling turns logits into text.',
  render(root) {
    root.append(
      el('h3', {}, '@attnkit/transformer'),
      exportsOf(transformer),
      el('h3', {}, '@attnkit/sampling'),
      exportsOf(sampling),
    );
  },
};

/** Diffusion: noise to data (filled in as @attnkit/diffusion grows). */
export const diffusionPage: Page = {
  id: 'diffusion',
  title: 'Diffusion',
  summary: 'Start from noise; a network predicts the noise and a scheduler removes it, step by step.',
  render(root) {
    root.append(el('h3', {}, '@attnkit/diffusion'), exportsOf(diffusion));
  },
};
