import type { Backend } from './backend.js';

interface Entry {
  /** Creates the backend: synchronously, or asynchronously for backends that need a device. */
  factory: () => Backend | Promise<Backend>;
  priority: number;
  instance?: Backend;
  /** The asynchronous factory's result while it runs. */
  pending?: Promise<Backend>;
}

const entries = new Map<string, Entry>();
let current: Backend | null = null;

/** The package and the call that make each attnkit backend available, for error messages. */
const KNOWN: Record<string, string> = {
  cpu: "import '@attnkit/backend-cpu'",
  webgpu:
    "import '@attnkit/backend-webgpu' (then `await useBackend('webgpu')`), or `await initWebGPU()` from it",
  gpujs: "import '@attnkit/backend-gpujs' (then `await useBackend('gpujs')`), or `await initGpuJs()` from it",
};

function notRegistered(fn: string, name: string): Error {
  const registered = [...entries.keys()].join(', ') || 'none';
  const how = KNOWN[name]
    ? `; to add it: ${KNOWN[name]}`
    : `; attnkit's backends are 'cpu' (import '@attnkit/backend-cpu'), 'webgpu' (import '@attnkit/backend-webgpu') and 'gpujs' (import '@attnkit/backend-gpujs'); a backend of your own registers with registerBackend()`;
  return new Error(`${fn}: no backend named '${name}' is registered (registered: ${registered})${how}`);
}

function isPromise(x: unknown): x is Promise<Backend> {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}

/** Starts (once) an entry's factory; returns the instance, or the promise of it. */
function start(entry: Entry): Backend | Promise<Backend> {
  if (entry.instance) return entry.instance;
  if (entry.pending) return entry.pending;
  const made = entry.factory();
  if (!isPromise(made)) {
    entry.instance = made;
    return made;
  }
  entry.pending = made.then(
    (b) => {
      entry.instance = b;
      entry.pending = undefined;
      return b;
    },
    (e: unknown) => {
      entry.pending = undefined; // a later call retries
      throw e;
    },
  );
  return entry.pending;
}

/**
 * Registers a backend under `name`. Higher `priority` wins when no backend was chosen with
 * {@link setBackend} or {@link useBackend}; the CPU backend registers with priority 1 and is the
 * default. The factory runs once, when the backend is first used; a factory that returns a promise
 * (a backend that needs a device, such as WebGPU) is initialised by `await useBackend(name)`.
 *
 * @example
 * ```ts
 * import { CpuBackend } from '@attnkit/backend-cpu';
 * registerBackend('my-backend', () => new CpuBackend(), 0);
 * setBackend('my-backend');
 * // a backend that needs a device is created asynchronously, on first use
 * registerBackend('my-gpu', async () => new CpuBackend());
 * await useBackend('my-gpu');
 * listBackends().includes('my-gpu'); // => true
 * ```
 */
export function registerBackend(name: string, factory: () => Backend | Promise<Backend>, priority = 0): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('registerBackend: name must be a non-empty string');
  if (typeof factory !== 'function')
    throw new TypeError(`registerBackend('${name}'): factory must be a function returning a Backend`);
  entries.set(name, { factory, priority });
}

/**
 * Makes `name` the backend for every op that follows, synchronously. A backend that initialises
 * asynchronously (WebGPU) must be initialised first: use `await useBackend(name)`, which does
 * both; `setBackend` on it before then throws an error that says so.
 */
export function setBackend(name: string): Backend {
  const entry = entries.get(name);
  if (!entry) throw notRegistered('setBackend', name);
  const b = start(entry);
  if (isPromise(b)) {
    b.catch(() => {}); // reported by useBackend; no unhandled rejection from this call
    throw new Error(
      `setBackend('${name}'): the '${name}' backend initialises asynchronously (it needs a device); use \`await useBackend('${name}')\`, which initialises it and makes it current`,
    );
  }
  current = b;
  return current;
}

/**
 * Initialises the backend registered as `name` if needed (awaiting a device for WebGPU) and makes
 * it the backend for every op that follows; resolves to it. Works for every backend.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-webgpu';
 * import { useBackend } from '@attnkit/tensor-core';
 * await useBackend('webgpu');
 * ```
 */
export async function useBackend(name: string): Promise<Backend> {
  const b = await loadBackend(name, 'useBackend');
  current = b;
  return b;
}

/**
 * The backend registered as `name`, initialised if needed, without making it current.
 * @internal
 */
export async function loadBackend(name: string, fn: string): Promise<Backend> {
  const entry = entries.get(name);
  if (!entry) throw notRegistered(fn, name);
  try {
    return await start(entry);
  } catch (e) {
    throw new Error(`${fn}('${name}'): the backend failed to initialise: ${(e as Error).message}`, {
      cause: e,
    });
  }
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

/**
 * Returns the backend instance registered under `name` (creating it), without making it current;
 * `undefined` when none is registered, or while an asynchronous backend is not initialised yet
 * (`await useBackend(name)` initialises it).
 */
export function findBackend(name: string): Backend | undefined {
  const entry = entries.get(name);
  if (!entry) return undefined;
  const b = start(entry);
  if (isPromise(b)) {
    b.catch(() => {});
    return undefined;
  }
  return b;
}
