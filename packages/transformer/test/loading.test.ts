// loadPretrained from folders, URL bases and maps of files; saveModel round trips; one error listing
// every missing, unexpected and mis-shaped tensor; malformed folders.
import '@attnkit/backend-cpu';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memory } from '@attnkit/tensor-core';
import { readSafetensors, writeSafetensors } from '@attnkit/tensor-core/io';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BertForMaskedLM,
  BertModel,
  checkpointFiles,
  GPT2LMHeadModel,
  type LlamaForCausalLM,
  loadPretrained,
  saveModel,
} from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'attnkit-transformer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function filesOf(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const n of readdirSync(dir)) out[n] = new Uint8Array(readFileSync(join(dir, n)));
  return out;
}

function writeFolder(name: string, files: Record<string, Uint8Array | string>): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
  return dir;
}

async function gpt2Logits(model: GPT2LMHeadModel, fx = loadFixture('gpt2-tiny')): Promise<Float32Array> {
  const ids = fx.tensor('input_ids');
  const out = model.forward({ inputIds: ids, useCache: false });
  const d = out.logits.dataSync() as Float32Array;
  out.logits.dispose();
  ids.dispose();
  return d;
}

describe('loadPretrained', () => {
  it('loads a map of file names to ArrayBuffers / Blobs (browser Files)', async () => {
    const fx = loadFixture('gpt2-tiny');
    const files = filesOf(fx.dir);
    const model = (await loadPretrained({
      'config.json': new Blob([files['config.json'].slice()]),
      'model.safetensors': files['model.safetensors'].slice().buffer,
    })) as GPT2LMHeadModel;
    expect(model).toBeInstanceOf(GPT2LMHeadModel);
    expect(model.training).toBe(false);
    expect(closeness(await gpt2Logits(model), fx.array('logits').data).ratio).toBeLessThanOrEqual(1);
    model.dispose();
  });

  it('loads from a URL base over HTTP, shards included', async () => {
    const fx = loadFixture('gpt2-bf16-sharded');
    const files = filesOf(fx.dir);
    const server = createServer((req, res) => {
      const name = (req.url ?? '').replace(/^\/ckpt\//, '');
      if (files[name]) {
        res.writeHead(200);
        res.end(Buffer.from(files[name]));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as AddressInfo).port;
      const model = (await loadPretrained(`http://127.0.0.1:${port}/ckpt`)) as GPT2LMHeadModel;
      expect(closeness(await gpt2Logits(model, fx), fx.array('logits').data).ratio).toBeLessThanOrEqual(1);
      model.dispose();
    } finally {
      server.close();
    }
  });

  it('loads shards written from a single file (index.json + two files)', async () => {
    const fx = loadFixture('llama-gqa-batch');
    const state = await readSafetensors(join(fx.dir, 'model.safetensors'));
    const names = Object.keys(state);
    const half = Math.floor(names.length / 2);
    const a = Object.fromEntries(names.slice(0, half).map((n) => [n, state[n]]));
    const b = Object.fromEntries(names.slice(half).map((n) => [n, state[n]]));
    const weightMap = Object.fromEntries(
      names.map((n, i) => [n, i < half ? 'a.safetensors' : 'b.safetensors']),
    );
    const dir = writeFolder('llama-shards', {
      'config.json': readFileSync(join(fx.dir, 'config.json'), 'utf8'),
      'a.safetensors': await writeSafetensors(a),
      'b.safetensors': await writeSafetensors(b),
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
    });
    for (const t of Object.values(state)) t.dispose();
    const model = (await loadPretrained(dir)) as LlamaForCausalLM;
    const ids = fx.tensor('input_ids');
    const out = model.forward({ inputIds: ids, useCache: false });
    expect(closeness(out.logits.dataSync(), fx.array('logits').data).ratio).toBeLessThanOrEqual(1);
    out.logits.dispose();
    ids.dispose();
    model.dispose();
    // a missing shard is named
    rmSync(join(dir, 'b.safetensors'));
    await expect(loadPretrained(dir)).rejects.toThrow(/shard 'b\.safetensors'.*missing/);
  });

  it('picks the class from architectures, then model_type; architecture can be overridden', async () => {
    const mlm = await loadPretrained(loadFixture('bert-mlm').dir);
    expect(mlm).toBeInstanceOf(BertForMaskedLM);
    mlm.dispose();
    // a BertModel checkpoint read through model_type alone (no architectures)
    const fx = loadFixture('bert-tiny');
    const config = JSON.parse(readFileSync(join(fx.dir, 'config.json'), 'utf8'));
    delete config.architectures;
    const files = filesOf(fx.dir);
    files['config.json'] = new TextEncoder().encode(JSON.stringify(config));
    const bare = await loadPretrained(files);
    expect(bare).toBeInstanceOf(BertModel);
    bare.dispose();
    // an MLM checkpoint has no pooler: reading it as BertModel names the missing tensors
    await expect(loadPretrained(loadFixture('bert-mlm').dir, { architecture: 'BertModel' })).rejects.toThrow(
      /missing tensors \(2\): pooler\.dense\.weight, pooler\.dense\.bias/,
    );
    await expect(loadPretrained(fx.dir, { architecture: 'GPT3' })).rejects.toThrow(
      /unknown architecture 'GPT3'/,
    );
  });

  it('lists every missing, unexpected and mis-shaped tensor in one error', async () => {
    const fx = loadFixture('gpt2-tiny');
    const state = await readSafetensors(join(fx.dir, 'model.safetensors'));
    // the folder is as transformers' save_pretrained writes it: names with the class prefix
    const ln = state['transformer.ln_f.bias'];
    delete state['transformer.ln_f.bias'];
    delete state['transformer.h.1.mlp.c_fc.weight'];
    state['transformer.h.0.attn.c_attn.bias'] = state['transformer.h.0.attn.c_proj.bias']; // [32] where [96] is expected
    state['transformer.h.9.extra.weight'] = ln;
    state['transformer.h.0.attn.bias'] = ln; // ignorable (old GPT-2 causal-mask buffer name)
    const dir = writeFolder('gpt2-bad', {
      'config.json': readFileSync(join(fx.dir, 'config.json'), 'utf8'),
      'model.safetensors': await writeSafetensors(state),
    });
    const before = memory().cpu.numTensors;
    let msg = '';
    try {
      await loadPretrained(dir);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/loadPretrained\(.*gpt2-bad\)/);
    expect(msg).toMatch(/missing tensors \(2\): .*transformer\.h\.1\.mlp\.c_fc\.weight/);
    expect(msg).toMatch(/transformer\.ln_f\.bias/);
    expect(msg).toMatch(/unexpected tensors \(1\): transformer\.h\.9\.extra\.weight/);
    expect(msg).toMatch(
      /mis-shaped tensors \(1\): transformer\.h\.0\.attn\.c_attn\.bias: checkpoint \[32\], model \[96\]/,
    );
    expect(memory().cpu.numTensors).toBe(before); // nothing left behind
    for (const t of new Set(Object.values(state))) t.dispose();
  });

  it('explains malformed folders', async () => {
    await expect(loadPretrained(join(tmp, 'nope'))).rejects.toThrow(/folder .*nope.* does not exist/);
    const noConfig = writeFolder('no-config', { 'model.safetensors': new Uint8Array(8) });
    await expect(loadPretrained(noConfig)).rejects.toThrow(/config\.json is missing/);
    const badJson = writeFolder('bad-json', { 'config.json': '{"model_type": "gpt2",' });
    await expect(loadPretrained(badJson)).rejects.toThrow(/config\.json is not valid JSON/);
    const unknown = writeFolder('unknown', {
      'config.json': '{"model_type": "wav2vec2", "architectures": ["Wav2Vec2ForCTC"]}',
    });
    await expect(loadPretrained(unknown)).rejects.toThrow(/model_type string "wav2vec2".*does not implement/);
    const noWeights = writeFolder('no-weights', {
      'config.json':
        '{"model_type": "gpt2", "n_layer": 1, "n_embd": 8, "n_head": 2, "vocab_size": 10, "n_positions": 8}',
    });
    await expect(loadPretrained(noWeights)).rejects.toThrow(
      /neither model\.safetensors nor model\.safetensors\.index\.json/,
    );
    const badCfg = writeFolder('bad-cfg', {
      'config.json': '{"model_type": "gpt2", "n_embd": 10, "n_head": 3}',
    });
    await expect(loadPretrained(badCfg)).rejects.toThrow(/n_embd 10 must be divisible by n_head 3/);
    const corrupt = writeFolder('corrupt', {
      'config.json': readFileSync(join(loadFixture('gpt2-tiny').dir, 'config.json'), 'utf8'),
      'model.safetensors': new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 123]),
    });
    await expect(loadPretrained(corrupt)).rejects.toThrow(/safetensors|header/i);
    await expect(loadPretrained(null as never)).rejects.toThrow(/'source' must be/);
  });
});

describe('saveModel', () => {
  for (const name of ['gpt2-untied-f16', 'llama-tied-noprefix', 'bert-mlm', 'bert-prefixed']) {
    it(`${name}: save then load gives the same outputs and HF names`, async () => {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      const dir = join(tmp, `saved-${name}`);
      await saveModel(model, dir);
      expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      const original = JSON.parse(readFileSync(join(fx.dir, 'config.json'), 'utf8'));
      for (const [k, v] of Object.entries(original)) expect(config[k], k).toEqual(v);
      const saved = await readSafetensors(join(dir, 'model.safetensors'));
      const keys = Object.keys(saved);
      if (name.startsWith('gpt2')) {
        expect(keys).toContain('transformer.wte.weight');
        expect(keys).toContain('lm_head.weight'); // untied
      }
      if (name.startsWith('llama')) {
        expect(keys).toContain('model.embed_tokens.weight');
        expect(keys).not.toContain('lm_head.weight'); // tied: stored once
      }
      if (name === 'bert-mlm') {
        expect(keys).toContain('cls.predictions.bias');
        expect(keys).not.toContain('cls.predictions.decoder.weight');
      }
      if (name === 'bert-prefixed') expect(keys).toContain('pooler.dense.weight');
      for (const t of Object.values(saved)) t.dispose();
      const again = await loadPretrained(dir);
      expect(again.constructor).toBe(model.constructor);
      const a = model.stateDict();
      const b = again.stateDict();
      expect(Object.keys(b)).toEqual(Object.keys(a));
      for (const k of Object.keys(a))
        expect(Array.from(b[k].dataSync()), k).toEqual(Array.from(a[k].dataSync()));
      model.dispose();
      again.dispose();
    });
  }

  it('checkpointFiles gives the bytes (browser) and saveModel checks its arguments', async () => {
    const model = new GPT2LMHeadModel({ nLayer: 1, nEmbd: 8, nHead: 2, vocabSize: 11, nPositions: 6 });
    const files = await checkpointFiles(model);
    const again = (await loadPretrained(files)) as GPT2LMHeadModel;
    const w1 = model.transformer.wte.weight.dataSync();
    expect(Array.from(again.transformer.wte.weight.dataSync())).toEqual(Array.from(w1));
    // tied: the head is the embedding
    expect(again.lm_head.weight).toBe(again.transformer.wte.weight);
    await expect(saveModel(model, '' as never)).rejects.toThrow(/saveModel: 'dir'/);
    await expect(saveModel({} as never, tmp)).rejects.toThrow(/saveModel: 'model'/);
    model.dispose();
    again.dispose();
  });
});
