import './reference-backend.js';
import { readFileSync } from 'node:fs';
import { ACTIVATIONS } from '@attnkit/hub';
import { tensor } from '@attnkit/tensor-core';
import { activationByName } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';

// Reference: transformers' ACT2FN in float64 (scripts/reference/activations.py).
const fixture = JSON.parse(readFileSync(new URL('./fixtures/activations.json', import.meta.url), 'utf8')) as {
  x: number[];
  y: Record<string, number[]>;
};

describe('activationByName (Hugging Face names)', () => {
  it('covers every name of the hub table, and the fixture covers every name', () => {
    expect(Object.keys(fixture.y).sort()).toEqual(Object.keys(ACTIVATIONS).sort());
  });

  for (const name of Object.keys(fixture.y)) {
    it(`${name} equals transformers' ACT2FN['${name}']`, () => {
      const y = activationByName(name)(tensor(fixture.x)).dataSync();
      const want = fixture.y[name];
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(y[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i])));
      }
    });
  }

  it('refuses an unknown name, naming the caller and the known names', () => {
    expect(() => activationByName('gelu_fancy', 'GPT2Config')).toThrow(
      /GPT2Config: unknown activation 'gelu_fancy' \(known: relu, .*gelu_new/,
    );
  });
});
