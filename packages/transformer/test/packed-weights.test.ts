// GPT-2 on a CPU backend that packs its weights once (CpuBackend's packWeights): prefill and
// KV-cached decoding give the same logits bit for bit as the same model with packing off, and
// after loadStateDict writes new weights in place the packed copies are not used stale.
import { CpuBackend } from '@attnkit/backend-cpu';
import { manualSeed, registerBackend, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { afterAll, describe, expect, it } from 'vitest';
import { GPT2LMHeadModel } from '../src/index.js';

const cpu = new CpuBackend({ packWeights: true });
registerBackend('cpu-packed-gpt2', () => cpu);
afterAll(() => setBackend('cpu'));

/** Logits of a 16-token prefill and of 3 decode steps after it, as host arrays. */
function run(model: GPT2LMHeadModel, ids: number[]): Float32Array[] {
  const out: Float32Array[] = [];
  const first = model.forward({ inputIds: tensor(Int32Array.from(ids), [1, ids.length], 'int32') });
  out.push(first.logits.dataSync() as Float32Array);
  const past = first.pastKeyValues;
  for (const tok of [7, 1, 30]) {
    const o = model.forward({ inputIds: tensor([[tok]], undefined, 'int32'), pastKeyValues: past });
    out.push((o.logits as Tensor).dataSync() as Float32Array);
  }
  past?.dispose();
  return out;
}

describe('GPT-2 with packed weights', () => {
  it('prefill and decode logits equal the unpacked model bit for bit, also after loadStateDict', () => {
    setBackend('cpu-packed-gpt2');
    manualSeed(3);
    const config = { nLayer: 2, nEmbd: 64, nHead: 4, vocabSize: 300, nPositions: 64 };
    const model = new GPT2LMHeadModel(config).eval();
    const ids = Array.from({ length: 16 }, (_, i) => (i * 37) % 300);
    cpu.packWeights = false;
    const plain = run(model, ids);
    cpu.packWeights = true;
    const before = cpu.packedWeightBytes;
    run(model, ids); // notes each weight's use
    const packed = run(model, ids); // packs, then reads the packed copies
    expect(cpu.packedWeightBytes).toBeGreaterThan(before);
    for (let i = 0; i < plain.length; i++) expect(packed[i], `output ${i}`).toEqual(plain[i]);

    // new weights written into the same storages: the packed copies are stale
    manualSeed(4);
    const other = new GPT2LMHeadModel(config).eval();
    model.loadStateDict(other.stateDict());
    cpu.packWeights = false;
    const plain2 = run(other, ids);
    cpu.packWeights = true;
    const after = run(model, ids);
    for (let i = 0; i < plain2.length; i++)
      expect(after[i], `output ${i} after loadStateDict`).toEqual(plain2[i]);
    expect(after[0]).not.toEqual(packed[0]);
    model.dispose();
    other.dispose();
  });
});
