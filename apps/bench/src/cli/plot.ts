/**
 * A small SVG line plot, written by hand (no plotting dependency): axes with ticks and labels, one
 * polyline with point markers per series, and a legend under the plot. Used by the bench report
 * ({@link ./report.ts}); the output is a standalone `<svg>` document that browsers, GitHub and the
 * docs site render.
 */

/** One line of a plot. Points are drawn in the order given. */
export interface PlotSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  /**
   * How the points are drawn: 'line+points' (default) joins markers with a line, 'points' draws
   * markers only (measurements), 'line' a line only (a fitted curve).
   */
  style?: 'line+points' | 'points' | 'line';
}

/** What {@link linePlot} draws. */
export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly PlotSeries[];
  /** Logarithmic x axis, for sizes that double; its ticks are the measured x values. */
  logX?: boolean;
  /** Logarithmic y axis (base 10: ticks at powers of ten), for figures spanning decades. */
  logY?: boolean;
  /**
   * Categorical x axis: x values are indices into this list, and its entries are the tick labels
   * (tokenizer encodings, for instance).
   */
  categories?: readonly string[];
  /** Ticks of a log x axis (default: the measured x values, at most 8). */
  xTicks?: readonly number[];
  /** Ticks of a log y axis (default: powers of ten); the axis spans them. */
  yTicks?: readonly number[];
  /** Width of the whole image in px (default 640). */
  width?: number;
  /** Height of the plot area in px (default 280); the legend adds a line per series below it. */
  height?: number;
}

/** Line colours, in series order (Tableau 10, distinguishable in colour and in greyscale order). */
export const PLOT_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A tick label: integers as they are, others with up to 3 significant digits. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  return String(Number(v.toPrecision(3)));
}

/**
 * Round-number ticks (steps of 1, 2 or 5 × 10^k, about `count` of them) from the last one at or
 * below `lo` to the first one at or above `hi`, so that they span the data.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/**
 * Renders `options` as a standalone SVG document. Throws when there is nothing to draw, when a
 * point is not finite, or when a log axis gets a value ≤ 0.
 */
export function linePlot(options: PlotOptions): string {
  const { title, xLabel, yLabel, series, logX = false, logY = false, categories } = options;
  const width = options.width ?? 640;
  const plotH = options.height ?? 280;
  const all = series.flatMap((s) => s.points);
  if (series.length === 0 || all.length === 0)
    throw new Error(`linePlot '${title}': no points to draw (expected at least one series with points)`);
  for (const s of series)
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y))
        throw new Error(
          `linePlot '${title}': series '${s.name}' has a point (${x}, ${y}) that is not finite`,
        );
      if ((logX && x <= 0) || (logY && y <= 0))
        throw new Error(
          `linePlot '${title}': series '${s.name}' has a point (${x}, ${y}) at or below 0 on a log axis`,
        );
    }

  const m = { left: 72, right: 32, top: 36, bottom: 48 };
  const legendLine = 18;
  const totalH = m.top + plotH + m.bottom + legendLine * series.length + 8;
  const plotW = width - m.left - m.right;

  // x domain and ticks
  const xs = all.map((p) => p[0]);
  let xTicks: { v: number; label: string }[];
  let xLo: number;
  let xHi: number;
  const fx = logX ? Math.log2 : (v: number) => v;
  if (categories) {
    xLo = -0.5;
    xHi = categories.length - 0.5;
    xTicks = categories.map((label, i) => ({ v: i, label }));
  } else if (logX) {
    xLo = Math.log2(Math.min(...xs));
    xHi = Math.log2(Math.max(...xs));
    // ticks at the measured x values (sizes that double, or a few chosen sizes), at most 8
    const distinct = [...new Set(options.xTicks ?? xs)].sort((a, b) => a - b);
    const every = options.xTicks ? 1 : Math.ceil(distinct.length / 8);
    xTicks = distinct
      .filter((_, i) => i % every === 0)
      .map((v) => ({ v: Math.log2(v), label: formatTick(v) }));
    if (options.xTicks) {
      xLo = Math.min(xLo, xTicks[0].v);
      xHi = Math.max(xHi, xTicks[xTicks.length - 1].v);
    }
  } else {
    xLo = Math.min(...xs);
    xHi = Math.max(...xs);
    xTicks = niceTicks(xLo, xHi).map((v) => ({ v, label: formatTick(v) }));
    xLo = Math.min(xLo, xTicks[0].v);
    xHi = Math.max(xHi, xTicks[xTicks.length - 1].v);
  }
  if (xHi === xLo) {
    xLo -= 0.5;
    xHi += 0.5;
  }

  // y domain and ticks (linear axes start at 0: figures are sizes, times and rates)
  const ys = all.map((p) => p[1]);
  let yLo: number;
  let yHi: number;
  let yTicks: { v: number; label: string }[];
  const fy = logY ? Math.log10 : (v: number) => v;
  if (logY && options.yTicks?.length) {
    const given = [...options.yTicks].sort((a, b) => a - b);
    yLo = Math.min(Math.log10(given[0]), Math.log10(Math.min(...ys)));
    yHi = Math.max(Math.log10(given[given.length - 1]), Math.log10(Math.max(...ys)));
    yTicks = given.map((v) => ({ v: Math.log10(v), label: formatTick(v) }));
  } else if (logY) {
    yLo = Math.floor(Math.log10(Math.min(...ys)));
    yHi = Math.ceil(Math.log10(Math.max(...ys)));
    if (yHi === yLo) yHi++;
    yTicks = [];
    for (let e = yLo; e <= yHi; e++) yTicks.push({ v: e, label: formatTick(10 ** e) });
  } else {
    yLo = Math.min(0, ...ys);
    yHi = Math.max(...ys);
    if (yHi === yLo) yHi = yLo + 1;
    yTicks = niceTicks(yLo, yHi).map((v) => ({ v, label: formatTick(v) }));
    yLo = yTicks[0].v;
    yHi = yTicks[yTicks.length - 1].v;
  }

  const px = (x: number) => m.left + ((categories ? x : fx(x)) - xLo) * (plotW / (xHi - xLo));
  const py = (y: number) => m.top + plotH - (fy(y) - yLo) * (plotH / (yHi - yLo));
  const pxT = (v: number) => m.left + (v - xLo) * (plotW / (xHi - xLo));
  const pyT = (v: number) => m.top + plotH - (v - yLo) * (plotH / (yHi - yLo));
  const r = (v: number) => Number(v.toFixed(1));

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${totalH}" viewBox="0 0 ${width} ${totalH}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect width="${width}" height="${totalH}" fill="#ffffff"/>`);
  out.push(
    `<text x="${r(width / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  );
  // grid and ticks
  const x0 = m.left;
  const x1 = m.left + plotW;
  const y0 = m.top + plotH;
  for (const t of yTicks) {
    const y = r(pyT(t.v));
    out.push(`<line class="grid" x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e0e0e0"/>`);
    out.push(`<line class="tick" x1="${x0 - 5}" y1="${y}" x2="${x0}" y2="${y}" stroke="#333"/>`);
    out.push(
      `<text class="ytick" x="${x0 - 8}" y="${r(y + 4)}" text-anchor="end">${escapeXml(t.label)}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = r(pxT(t.v));
    out.push(`<line class="tick" x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#333"/>`);
    out.push(`<text class="xtick" x="${x}" y="${y0 + 18}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  // axes
  out.push(`<line class="axis" x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/>`);
  out.push(`<line class="axis" x1="${x0}" y1="${m.top}" x2="${x0}" y2="${y0}" stroke="#333"/>`);
  out.push(
    `<text x="${r(m.left + plotW / 2)}" y="${y0 + 36}" text-anchor="middle">${escapeXml(xLabel + (logX ? ' (log scale)' : ''))}</text>`,
  );
  out.push(
    `<text x="16" y="${r(m.top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 16 ${r(m.top + plotH / 2)})">${escapeXml(yLabel + (logY ? ' (log scale)' : ''))}</text>`,
  );
  // series
  series.forEach((s, i) => {
    const color = PLOT_COLORS[i % PLOT_COLORS.length];
    const pts = s.points.map(([x, y]) => `${r(px(x))},${r(py(y))}`);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    const style = s.style ?? 'line+points';
    if (pts.length > 1 && style !== 'points')
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    if (style !== 'line')
      for (const p of pts) {
        const [cx, cy] = p.split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="${style === 'points' ? 4 : 3}" fill="${color}"/>`);
      }
    out.push('</g>');
    // legend entry
    const ly = y0 + m.bottom + legendLine * i + 4;
    if (style === 'points')
      out.push(`<circle class="legend" cx="${m.left + 12}" cy="${ly}" r="4" fill="${color}"/>`);
    else
      out.push(
        `<line class="legend" x1="${m.left}" y1="${ly}" x2="${m.left + 24}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      );
    out.push(`<text x="${m.left + 32}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * Checks that `svg` is one well-formed `<svg>` element: tags balanced and properly nested, and no
 * `<` or `&` in text or attributes other than tags and entities. Throws an error naming the first
 * problem. (A small check for the documents {@link linePlot} writes, not a full XML parser.)
 */
export function checkSvg(svg: string): void {
  const text = svg.trim();
  if (!text.startsWith('<svg ') || !text.endsWith('</svg>'))
    throw new Error('SVG: expected one <svg ...> ... </svg> document');
  const stack: string[] = [];
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:lt|gt|amp|quot|#\d+);)/g;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    if (m[0] === '<' || m[0] === '&')
      throw new Error(`SVG: stray '${m[0]}' at offset ${m.index} (expected a tag or an entity)`);
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name)
        throw new Error(`SVG: </${name}> at offset ${m.index} closes <${open ?? 'nothing'}>`);
      if (stack.length === 0 && m.index + m[0].length !== text.length)
        throw new Error('SVG: content after the closing </svg>');
    } else if (!selfClose) stack.push(name);
  }
  if (stack.length) throw new Error(`SVG: <${stack[stack.length - 1]}> is never closed`);
}
