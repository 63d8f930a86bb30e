import '@attnkit/backend-cpu';
import { matmul, softmax, tensor } from '@attnkit/tensor-core';
import { el, type Page } from '../page.js';

/** Tensors: the arithmetic every later stage runs on, computed by the CPU backend. */
export const tensorsPage: Page = {
  id: 'tensors',
  title: 'Tensors',
  summary: 'Every model is arrays of numbers and a few operations on them: matmul, softmax, norms.',
  async render(root) {
    const logitsInput = el('input', { id: 'softmax-input', value: '2, 1, 0.1', 'aria-label': 'Logits' });
    const out = el('pre', { id: 'tensor-output' });
    const update = async () => {
      const values = logitsInput.value.split(',').map((s) => Number(s.trim()));
      if (!values.length || values.some((v) => !Number.isFinite(v))) {
        out.textContent = 'type numbers separated by commas';
        return;
      }
      const logits = tensor(values);
      const p = await softmax(logits).data();
      const a = tensor([
        [1, 2],
        [3, 4],
      ]);
      const b = tensor([[5], [6]]);
      out.textContent = [
        `softmax([${values.join(', ')}]) = [${Array.from(p, (x) => x.toFixed(4)).join(', ')}]`,
        `[[1, 2], [3, 4]] @ [[5], [6]] = ${JSON.stringify(await matmul(a, b).array())}`,
      ].join('\n');
    };
    logitsInput.addEventListener('input', update);
    root.append(el('label', {}, 'logits ', logitsInput), out);
    await update();
  },
};
