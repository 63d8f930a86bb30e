// saveModel / checkpointFiles of a 16-bit model (loaded with dtype 'auto'): the checkpoint holds
// the F16 / BF16 tensors transformers saved (bit for bit; the very file for the two that
// save_pretrained wrote, scripts/half_refs.py), config.json names the dtype, and it loads back.
// scripts/check_half_save.py checks that transformers loads what saveModel writes.
import '@attnkit/backend-cpu';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memory, type Tensor } from '@attnkit/tensor-core';
import { readSafetensors } from '@attnkit/tensor-core/io';
import { describe, expect, it } from 'vitest';
import { checkpointFiles, loadPretrained, saveModel } from '../src/index.js';
import { loadFixture } from './helpers.js';

/** A float tensor's values as the bits of their float32 widening (exact for float16 / bfloat16). */
function bitsOf(t: Tensor): number[] {
  return [...new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer)];
}

/** The tensors of a safetensors file: name → [dtype, shape, bits of the float32 widening]. */
async function rawTensors(bytes: Uint8Array): Promise<Map<string, [string, number[], number[]]>> {
  const out = new Map<string, [string, number[], number[]]>();
  const ts = await readSafetensors(bytes, { bfloat16: 'keep', float16: 'keep' });
  for (const [k, t] of Object.entries(ts)) {
    out.set(k, [t.dtype, [...t.shape], bitsOf(t)]);
    t.dispose();
  }
  return out;
}

describe('saveModel / checkpointFiles of a 16-bit model', () => {
  for (const name of [
    'half-gpt2-bf16',
    'half-gpt2-f16',
    'gpt2-untied-f16',
    'llama-bf16-padded',
    'bert-f16',
  ]) {
    it(`${name} loaded with dtype 'auto' saves the tensors transformers saved, bit for bit`, async () => {
      const dir = loadFixture(name).dir;
      const before = memory().cpu?.numTensors ?? 0;
      const model = await loadPretrained(dir, { dtype: 'auto' });
      const files = await checkpointFiles(model);
      const config = JSON.parse(new TextDecoder().decode(files['config.json']));
      const theirs = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      // (the parity suite's fixtures were written without a dtype key; half_refs.py's by save_pretrained)
      const fileDtype = name.includes('bf16') ? 'bfloat16' : 'float16';
      expect(theirs.dtype ?? fileDtype).toBe(fileDtype);
      expect([config.dtype, config.torch_dtype]).toEqual([fileDtype, fileDtype]);
      const theirBytes = readFileSync(join(dir, 'model.safetensors'));
      if (name.startsWith('half-')) {
        // written by transformers' save_pretrained (scripts/half_refs.py): the same file, byte for byte
        expect(Buffer.from(files['model.safetensors']).equals(theirBytes)).toBe(true);
      }
      const want = await rawTensors(theirBytes);
      const got = await rawTensors(files['model.safetensors']);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, [dtype, shape, bits]] of want) {
        const [d, s, b] = got.get(k) as [string, number[], number[]];
        expect([d, s], k).toEqual([dtype, shape]);
        expect(
          b.every((v, i) => v === bits[i]),
          `${k}: bits differ`,
        ).toBe(true);
      }
      // and it loads back into the same model
      const tmp = join(mkdtempSync(join(tmpdir(), 'attnkit-half-')), 'm');
      await saveModel(model, tmp);
      const again = await loadPretrained(tmp, { dtype: 'auto' });
      const a = model.stateDict();
      for (const [k, t] of Object.entries(again.stateDict())) {
        expect(t.dtype, k).toBe(a[k].dtype);
        expect(bitsOf(t), k).toEqual(bitsOf(a[k]));
      }
      again.dispose();
      model.dispose();
      expect(memory().cpu.numTensors).toBe(before);
    });
  }
});
