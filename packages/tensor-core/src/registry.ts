import type { Backend } from './backend.js';

interface Entry {
  factory: () => Backend;
  priority: number;
  instance?: Backend;
}

const entries = new Map<string, Entry>();
let current: Backend | null = null;

/**
 * Registers a backend under `name`. Higher `priority` wins when no backend was chosen with
 * {@link setBackend}; the CPU backend registers with priority 1 and is the default.
 *
 * @example
 * ```ts
 * registerBackend('my-backend', () => new MyBackend(), 0);
 * setBackend('my-backend');
 * ```
 */
export function registerBackend(name: string, factory: () => Backend, priority = 0): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('registerBackend: name must be a non-empty string');
  if (typeof factory !== 'function')
    throw new TypeError(`registerBackend('${name}'): factory must be a function returning a Backend`);
  entries.set(name, { factory, priority });
}

/** Makes `name` the backend for every op that follows. */
export function setBackend(name: string): Backend {
  const entry = entries.get(name);
  if (!entry) {
    throw new Error(
      `setBackend: no backend named '${name}' is registered (registered: ${[...entries.keys()].join(', ') || 'none'}); import its package first, e.g. import '@attnkit/backend-${name}'`,
    );
  }
  entry.instance ??= entry.factory();
  current = entry.instance;
  return current;
}

/** The backend ops run on: the one set with {@link setBackend}, else the registered one of highest priority. */
export function getBackend(): Backend {
  if (current) return current;
  let best: [string, Entry] | undefined;
  for (const e of entries) if (!best || e[1].priority > best[1].priority) best = e;
  if (!best) {
    throw new Error(
      "No attnkit backend is registered: import one before using tensors, e.g. import '@attnkit/backend-cpu'",
    );
  }
  return setBackend(best[0]);
}

/** Names of the registered backends, highest priority first. */
export function listBackends(): string[] {
  return [...entries].sort((a, b) => b[1].priority - a[1].priority).map(([n]) => n);
}

/** Returns the backend instance registered under `name` (creating it), without making it current. */
export function findBackend(name: string): Backend | undefined {
  const entry = entries.get(name);
  if (!entry) return undefined;
  entry.instance ??= entry.factory();
  return entry.instance;
}
