// Stable Diffusion's tokenizer: a CLIP tokenizer.json (the layout of transformers' CLIPConverter: BPE with
// the `</w>` end-of-word suffix, NFC + whitespace Replace + Lowercase, CLIP's Split regex + ByteLevel,
// RobertaProcessing) loaded by @attnkit/tokenizer, against ids from an independent re-implementation of
// OpenAI CLIP's own tokenizer (packages/transformer/scripts/clip_tokenizer_refs.py), then used as the
// pipeline's `tokenize`.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import { AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel } from '../src/index.js';

// the fixture lives with the other CLIP references in @attnkit/transformer's test fixtures
const dir = fileURLToPath(new URL('../../transformer/test/fixtures/clip-tokenizer/', import.meta.url));
const tok = Tokenizer.fromJSON(readFileSync(`${dir}tokenizer.json`, 'utf8'));
const refs = JSON.parse(readFileSync(`${dir}encodings.json`, 'utf8')) as {
  bos_token_id: number;
  eos_token_id: number;
  cases: { text: string; ids: number[] }[];
};

describe('CLIP tokenizer.json (@attnkit/tokenizer) against CLIP’s own BPE', () => {
  it('has the reference cases', () => {
    expect(refs.cases.length).toBe(10);
  });

  for (const { text, ids } of refs.cases) {
    it(`encodes ${JSON.stringify(text)}`, () => {
      expect(tok.encode(text).ids).toEqual(ids);
    });
  }

  it('pads and truncates like Stable Diffusion in the pipeline (<|endoftext|> padding, end token kept)', async () => {
    const fixtures = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
    const unet = await UNet2DConditionModel.fromPretrained(`${fixtures}unet2d_condition_tiny`);
    const vae = await AutoencoderKL.fromPretrained(`${fixtures}vae_tiny`);
    const pipe = new StableDiffusionPipeline({
      unet,
      vae,
      scheduler: new DDIMScheduler(),
      textEncoder: { forward: (ids) => ids },
      tokenize: (t) => tok.encode(t).ids,
      maxLength: 10,
      padTokenId: refs.eos_token_id,
    });
    const [short, long] = [refs.cases[0].ids, refs.cases[2].ids]; // 8 and 13 ids
    const t = pipe.tokenIds([refs.cases[0].text, refs.cases[2].text]);
    expect(t.shape).toEqual([2, 10]);
    const ids = Array.from(t.dataSync());
    t.dispose();
    expect(ids.slice(0, 10)).toEqual([...short, refs.eos_token_id, refs.eos_token_id]);
    expect(ids.slice(10)).toEqual([...long.slice(0, 9), refs.eos_token_id]);
    unet.dispose();
    vae.dispose();
  });
});
