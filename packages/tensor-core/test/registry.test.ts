// Backend switching: lazily initialised backends, hints that name real packages and calls, and
// moving a model whose weights live on another backend.

import {
  add,
  findBackend,
  getBackend,
  registerBackend,
  setBackend,
  tensor,
  toBackend,
  useBackend,
} from '@attnkit/tensor-core';
import { Linear } from '@attnkit/tensor-core/nn';
import { afterEach, describe, expect, it } from 'vitest';
import { ReferenceBackend } from './reference-backend.js';

/** A CPU backend under another name, created asynchronously like a GPU backend is. */
function asyncBackend(name: string): { factory: () => Promise<ReferenceBackend>; calls: () => number } {
  let calls = 0;
  return {
    factory: async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      const b = new ReferenceBackend('reference');
      Object.defineProperty(b, 'name', { value: name });
      return b;
    },
    calls: () => calls,
  };
}

afterEach(() => {
  setBackend('reference');
});

describe('useBackend: backends that initialise asynchronously', () => {
  it('initialises a lazily registered backend once, makes it current, and ops run on it', async () => {
    const lazy = asyncBackend('lazy-a');
    registerBackend('lazy-a', lazy.factory, -1);
    expect(lazy.calls()).toBe(0); // registering creates nothing
    const [b1, b2] = await Promise.all([useBackend('lazy-a'), useBackend('lazy-a')]);
    expect(b1).toBe(b2);
    expect(lazy.calls()).toBe(1);
    expect(getBackend()).toBe(b1);
    const y = add(tensor([1, 2]), tensor([3, 4]));
    expect(y.backend).toBe(b1);
    expect(Array.from(await y.data())).toEqual([4, 6]);
    // Once initialised, setBackend switches synchronously.
    setBackend('reference');
    expect(setBackend('lazy-a')).toBe(b1);
  });

  it('setBackend on an uninitialised asynchronous backend says to await useBackend', () => {
    registerBackend('lazy-b', asyncBackend('lazy-b').factory, -1);
    expect(() => setBackend('lazy-b')).toThrow(
      "setBackend('lazy-b'): the 'lazy-b' backend initialises asynchronously (it needs a device); use `await useBackend('lazy-b')`",
    );
    expect(findBackend('lazy-b')).toBeUndefined();
    expect(getBackend().name).toBe('reference'); // the current backend did not change
  });

  it('a failed initialisation rejects naming the backend, and a later call retries', async () => {
    let fail = true;
    registerBackend(
      'lazy-c',
      async () => {
        if (fail) throw new Error('no adapter');
        return new ReferenceBackend('reference');
      },
      -1,
    );
    await expect(useBackend('lazy-c')).rejects.toThrow(
      "useBackend('lazy-c'): the backend failed to initialise: no adapter",
    );
    expect(getBackend().name).toBe('reference');
    fail = false;
    await expect(useBackend('lazy-c')).resolves.toBeInstanceOf(ReferenceBackend);
  });

  it('toBackend and Module.to initialise the target backend themselves', async () => {
    const lazy = asyncBackend('lazy-d');
    registerBackend('lazy-d', lazy.factory, -1);
    const x = await toBackend(tensor([1, 2, 3]), 'lazy-d');
    expect(x.backend.name).toBe('lazy-d');
    expect(Array.from(await x.data())).toEqual([1, 2, 3]);
    const lazyE = asyncBackend('lazy-e');
    registerBackend('lazy-e', lazyE.factory, -1);
    const layer = new Linear(2, 1);
    await layer.to('lazy-e');
    expect(layer.weight.backend.name).toBe('lazy-e');
    expect(lazyE.calls()).toBe(1);
  });
});

describe('hints name real packages and calls', () => {
  it.each([
    [
      'webgpu',
      "import '@attnkit/backend-webgpu' (then `await useBackend('webgpu')`), or `await initWebGPU()` from it",
    ],
    [
      'gpujs',
      "import '@attnkit/backend-gpujs' (then `await useBackend('gpujs')`), or `await initGpuJs()` from it",
    ],
  ])('setBackend(%j) when its package was not imported', (name, hint) => {
    expect(() => setBackend(name)).toThrow(`setBackend: no backend named '${name}' is registered`);
    expect(() => setBackend(name)).toThrow(`; to add it: ${hint}`);
  });

  it('a name attnkit has no backend for lists the real ones instead of inventing a package', async () => {
    let message = '';
    try {
      setBackend('wasm');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("setBackend: no backend named 'wasm' is registered");
    expect(message).toContain("attnkit's backends are 'cpu' (import '@attnkit/backend-cpu')");
    expect(message).not.toContain('@attnkit/backend-wasm');
    await expect(useBackend('wasm')).rejects.toThrow("useBackend: no backend named 'wasm' is registered");
  });

  it("an op across backends says to move the model's weights with await model.to()", async () => {
    registerBackend('lazy-f', asyncBackend('lazy-f').factory, -1);
    const layer = new Linear(2, 1); // built on 'reference'
    await useBackend('lazy-f');
    const x = tensor([[1, 2]]); // on 'lazy-f'
    expect(() => layer.forward(x)).toThrow(
      /operands live on different backends \('lazy-f' and 'reference'\)/,
    );
    expect(() => layer.forward(x)).toThrow("a model's weights with `await model.to('lazy-f')`");
    await layer.to('lazy-f');
    expect(layer.forward(x).backend.name).toBe('lazy-f');
  });
});
