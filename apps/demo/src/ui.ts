// Small building blocks shared by the pages: sliders, heat maps, number formatting.
import { el } from './page.js';

/** A labelled range input with its value shown next to it. */
export function slider(
  id: string,
  label: string,
  min: number,
  max: number,
  step: number,
  value: number,
  format: (v: number) => string = String,
): { input: HTMLInputElement; wrap: HTMLElement } {
  const input = el('input', {
    id,
    type: 'range',
    min: String(min),
    max: String(max),
    step: String(step),
    value: String(value),
    'aria-label': label,
  });
  const out = el('output', { for: id }, format(value));
  input.addEventListener('input', () => {
    out.textContent = format(Number(input.value));
  });
  return { input, wrap: el('label', { class: 'slider' }, `${label} `, input, ' ', out) };
}

/** True when the page is in dark mode (the OS's prefers-color-scheme). */
function prefersDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

/**
 * The colour of `v`: sequential (0 → light/dark background, 1 → saturated blue) for `min = 0`,
 * diverging (negative orange, positive blue) when `min < 0`. Returns [r, g, b].
 */
export function heatColour(v: number, min: number, max: number): [number, number, number] {
  if (!Number.isFinite(v)) return [128, 128, 128];
  if (min < 0) {
    const m = Math.max(Math.abs(min), Math.abs(max)) || 1;
    const t = Math.max(-1, Math.min(1, v / m));
    // white at 0, blue (40, 100, 220) at +1, orange (230, 120, 30) at −1
    const [r, g, b] = t >= 0 ? [40, 100, 220] : [230, 120, 30];
    const a = Math.abs(t);
    return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a].map(Math.round) as [
      number,
      number,
      number,
    ];
  }
  const t = Math.max(0, Math.min(1, (v - min) / (max - min || 1)));
  const [from, to] = prefersDark()
    ? [
        [28, 32, 38],
        [110, 165, 255],
      ] // the dark surface → bright blue
    : [
        [250, 250, 240],
        [20, 60, 170],
      ]; // light yellow-white → deep blue
  return from.map((f, i) => Math.round(f + (to[i] - f) * t)) as [number, number, number];
}

/**
 * Draws a rows × cols matrix as a heat map on a canvas, `cell` pixels per value (NaN cells grey).
 * Returns the canvas; `data-rows`/`data-cols` carry the shape.
 */
export function heatmapCanvas(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  options: { cell?: number; min?: number; max?: number; label: string; id?: string },
): HTMLCanvasElement {
  const cell = options.cell ?? 8;
  let min = options.min ?? Number.POSITIVE_INFINITY;
  let max = options.max ?? Number.NEGATIVE_INFINITY;
  if (options.min === undefined || options.max === undefined) {
    for (let i = 0; i < rows * cols; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (options.min === undefined) min = Math.min(min, v);
      if (options.max === undefined) max = Math.max(max, v);
    }
  }
  const canvas = el('canvas', {
    width: String(cols * cell),
    height: String(rows * cell),
    role: 'img',
    'aria-label': options.label,
    'data-rows': String(rows),
    'data-cols': String(cols),
    class: 'heatmap',
  });
  if (options.id) canvas.id = options.id;
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  const img = ctx.createImageData(cols * cell, rows * cell);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const [R, G, B] = heatColour(values[r * cols + c], min, max);
      for (let y = 0; y < cell; y++) {
        let o = ((r * cell + y) * cols * cell + c * cell) * 4;
        for (let x = 0; x < cell; x++, o += 4) {
          img.data[o] = R;
          img.data[o + 1] = G;
          img.data[o + 2] = B;
          img.data[o + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** A readable label for one character: whitespace made visible. */
export function visibleChar(ch: string): string {
  return ch === ' ' ? '·' : ch === '\n' ? '↵' : ch === '\t' ? '→' : ch;
}
