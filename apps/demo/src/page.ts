/** One concept of the course, one page of the demo. */
export interface Page {
  /** URL hash and element id: `#tokenizer`. */
  id: string;
  /** Navigation label. */
  title: string;
  /** One line: where the concept sits in the pipeline. */
  summary: string;
  /** Fills `root` (an empty <section>); may load data asynchronously. */
  render(root: HTMLElement): void | Promise<void>;
}

/** Creates an element with attributes and children (text or nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** A note that a package does not offer this yet (pages stay usable while packages grow). */
export function notYet(pkg: string, what: string): HTMLElement {
  return el('p', { class: 'note' }, `${pkg} does not export ${what} yet; this view fills in when it does.`);
}
