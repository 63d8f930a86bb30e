// Freezing and LoRA against the real PEFT (fixtures from scripts/lora_refs.py): a PEFT adapter
// loaded onto a tiny GPT-2 (Conv1D) and a tiny BERT (Linear) gives PEFT's logits, merged and
// unmerged; an adapter attnkit saves is byte-for-byte the committed one, which PEFT loaded and ran
// to the same logits; train() with LoRA updates only the adapters, with flat memory.
import '@attnkit/backend-cpu';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Generator, manualSeed, memory, noGrad, randn, type Tensor, tensor } from '@attnkit/tensor-core';
import { countParameters, freeze, Linear, type Module, unfreeze } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import {
  applyLora,
  Conv1D,
  causalLMLoss,
  checkpointFiles,
  GPT2LMHeadModel,
  LlamaForCausalLM,
  LoraLinear,
  lmBatches,
  loadLoraAdapter,
  loadPretrained,
  loraAdapterFiles,
  loraLayers,
  mergeAndUnloadLora,
  mergeLora,
  train,
  unloadLora,
  unmergeLora,
} from '../src/index.js';
import { FIXTURES } from './helpers.js';

interface Meta {
  input_ids: number[][];
  base_logits: number[];
  peft_logits: number[];
  merged_logits: number[];
  peft_logits_attnkit_adapter?: number[];
}

const dir = (name: string) => join(FIXTURES, `lora-${name}`);
const meta = (name: string): Meta => JSON.parse(readFileSync(join(dir(name), 'meta.json'), 'utf8'));

function logits(model: Module, ids: number[][]): Float32Array {
  return noGrad(() => {
    const out = (model as unknown as { forward(i: unknown): { logits: Tensor } }).forward({
      inputIds: tensor(ids, undefined, 'int32'),
    });
    const v = out.logits.dataSync() as Float32Array;
    return v;
  });
}

/** Largest |a - b| relative to max(1, |b|). */
function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

describe('LoRA against PEFT', () => {
  for (const name of ['gpt2', 'bert']) {
    it(`${name}: PEFT's adapter gives PEFT's logits; merge, unmerge and merge-and-unload too`, async () => {
      const m = meta(name);
      const model = await loadPretrained(join(dir(name), 'base'));
      expect(maxRelErr(logits(model, m.input_ids), m.base_logits)).toBeLessThan(1e-4);
      await loadLoraAdapter(model, join(dir(name), 'adapter'));
      const layers = loraLayers(model);
      expect(layers.length).toBe(name === 'gpt2' ? 6 : 4);
      expect(maxRelErr(logits(model, m.input_ids), m.peft_logits)).toBeLessThan(1e-4);
      // the adapter matters: PEFT's logits are far from the base model's
      expect(maxRelErr(m.peft_logits, m.base_logits)).toBeGreaterThan(1e-2);
      mergeLora(model);
      expect(layers.every(([, l]) => l.merged)).toBe(true);
      expect(maxRelErr(logits(model, m.input_ids), m.merged_logits)).toBeLessThan(1e-4);
      unmergeLora(model);
      expect(maxRelErr(logits(model, m.input_ids), m.peft_logits)).toBeLessThan(1e-4);
      mergeAndUnloadLora(model);
      expect(model.modules().some((x) => x instanceof LoraLinear)).toBe(false);
      expect(maxRelErr(logits(model, m.input_ids), m.merged_logits)).toBeLessThan(1e-4);
      model.dispose();
    });
  }

  it('gpt2: the adapter attnkit saves is the committed one PEFT loaded, with PEFT’s logits', async () => {
    const m = meta('gpt2');
    const model = await loadPretrained(join(dir('gpt2'), 'base'));
    applyLora(model, { r: 2, loraAlpha: 6, targetModules: ['c_attn', 'c_fc'] });
    expect(loraLayers(model).map(([n]) => n)).toEqual([
      'transformer.h.0.attn.c_attn',
      'transformer.h.0.mlp.c_fc',
      'transformer.h.1.attn.c_attn',
      'transformer.h.1.mlp.c_fc',
    ]);
    const g = new Generator(5);
    for (const [, l] of loraLayers(model)) {
      for (const w of [l.lora_A.weight, l.lora_B.weight]) w.copy_(randn(w.shape, { generator: g }).mul(0.2));
    }
    const files = await loraAdapterFiles(model);
    const out = join(dir('gpt2'), 'attnkit-adapter');
    if (process.env.ATTNKIT_WRITE_LORA_FIXTURES === '1') {
      await mkdir(out, { recursive: true });
      for (const [f, bytes] of Object.entries(files)) await writeFile(join(out, f), bytes);
    }
    expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    for (const [f, bytes] of Object.entries(files)) {
      expect(Buffer.from(bytes).equals(readFileSync(join(out, f))), f).toBe(true);
    }
    expect(m.peft_logits_attnkit_adapter, 'rerun scripts/lora_refs.py').toBeDefined();
    const mine = logits(model, m.input_ids);
    expect(maxRelErr(mine, m.peft_logits_attnkit_adapter as number[])).toBeLessThan(1e-4);
    expect(maxRelErr(mine, m.base_logits)).toBeGreaterThan(1e-2);
    // and attnkit reads its own files back to the same logits
    const again = await loadPretrained(join(dir('gpt2'), 'base'));
    await loadLoraAdapter(again, files);
    expect(maxRelErr(logits(again, m.input_ids), mine)).toBeLessThan(1e-6);
    model.dispose();
    again.dispose();
  });
});

function tinyGpt(): GPT2LMHeadModel {
  manualSeed(3);
  return new GPT2LMHeadModel({ vocabSize: 32, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2 });
}

describe('LoRA layers', () => {
  it('starts equal to the base (B = 0), scales by alpha / r, and drops out only the adapter input', () => {
    manualSeed(1);
    const base = new Linear(6, 4);
    const x = randn([3, 6]);
    const ref = Array.from(base.forward(x).dataSync());
    const l = new LoraLinear(base, { r: 2, loraAlpha: 6, loraDropout: 0.5, useRslora: false });
    expect(l.scaling).toBe(3);
    expect(l.lora_B.weight.shape).toEqual([4, 2]);
    expect(Array.from(l.lora_B.weight.dataSync()).every((v) => v === 0)).toBe(true);
    l.train();
    // B = 0: the adapter adds nothing, dropout or not (dropout is not on the base path)
    expect(maxRelErr(l.forward(x).dataSync(), ref)).toBe(0);
    l.lora_B.weight.copy_(randn([4, 2]));
    l.eval();
    const evalOut = Array.from(l.forward(x).dataSync());
    const h = x.matmul(l.lora_A.weight.T).matmul(l.lora_B.weight.T).mul(3);
    const want = ref.map((v, i) => v + h.dataSync()[i]);
    expect(maxRelErr(evalOut, want)).toBeLessThan(1e-5);
    l.train();
    expect(maxRelErr(l.forward(x).dataSync(), evalOut)).toBeGreaterThan(1e-3);
    const rs = new LoraLinear(new Linear(6, 4), { r: 4, loraAlpha: 8, loraDropout: 0, useRslora: true });
    expect(rs.scaling).toBe(4);
  });

  it('adapts Llama attention (Linear q_proj / v_proj): starts equal to the base; saveModel refuses until merged', async () => {
    manualSeed(4);
    const llama = new LlamaForCausalLM({
      vocabSize: 40,
      hiddenSize: 16,
      intermediateSize: 32,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: 2,
    }).eval();
    const ids = [[3, 9, 27, 1, 5]];
    const before = logits(llama, ids);
    applyLora(llama, { r: 2, targetModules: ['q_proj', 'v_proj'] });
    expect(loraLayers(llama).map(([n]) => n)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    expect(maxRelErr(logits(llama, ids), before)).toBe(0);
    for (const [, l] of loraLayers(llama)) l.lora_B.weight.copy_(randn(l.lora_B.weight.shape));
    const adapted = logits(llama, ids);
    expect(maxRelErr(adapted, before)).toBeGreaterThan(1e-3);
    await expect(checkpointFiles(llama)).rejects.toThrow(
      /has LoRA adapters.*saveLoraAdapter.*mergeAndUnloadLora/,
    );
    mergeAndUnloadLora(llama);
    expect(maxRelErr(logits(llama, ids), adapted)).toBeLessThan(1e-5);
    expect(Object.keys(await checkpointFiles(llama))).toContain('model.safetensors');
    llama.dispose();
  });

  it('Conv1D with a fused activation adds the update before the activation', () => {
    manualSeed(2);
    const conv = new Conv1D(5, 3);
    const l = new LoraLinear(conv, { r: 2, loraAlpha: 2, loraDropout: 0, useRslora: false });
    l.lora_B.weight.copy_(randn([5, 2]));
    l.eval();
    const x = randn([2, 3]);
    const pre = Array.from(l.forward(x).dataSync());
    const post = Array.from(l.forward(x, 'relu').dataSync());
    expect(post).toEqual(pre.map((v) => Math.max(v, 0)));
    l.merge();
    expect(maxRelErr(l.forward(x, 'relu').dataSync(), post)).toBeLessThan(1e-5);
  });

  it('refuses targets that match nothing (listing the Linear layers), non-linear targets and a second apply', () => {
    const model = tinyGpt();
    expect(() => applyLora(model, { targetModules: ['q_proj', 'v_proj'] })).toThrow(
      /match no module of GPT2LMHeadModel; its Linear layers are transformer\.h\.0\.attn\.c_attn, .*\(names ending in c_attn, c_proj, c_fc\)/,
    );
    expect(() => applyLora(model, { targetModules: ['wte'] })).toThrow(
      /transformer\.wte \(Embedding\).*only Linear and Conv1D/,
    );
    expect(() => applyLora(model, { r: 0, targetModules: ['c_attn'] })).toThrow(
      /r must be a positive integer/,
    );
    expect(() => applyLora(model, { targetModules: [] })).toThrow(/targetModules must be/);
    // nothing was frozen by the refused calls
    expect(countParameters(model).fraction).toBe(1);
    applyLora(model, { targetModules: 'transformer\\.h\\.1\\.attn\\.c_attn' });
    expect(loraLayers(model).map(([n]) => n)).toEqual(['transformer.h.1.attn.c_attn']);
    expect(() => applyLora(model, { targetModules: ['c_fc'] })).toThrow(/already has LoRA adapters/);
    unloadLora(model);
    expect(model.transformer.h[1].attn.c_attn).toBeInstanceOf(Conv1D);
    model.dispose();
  });

  it('refuses adapter configs with features it does not implement, and tensors that do not fit', async () => {
    const files = await (async () => {
      const m = tinyGpt();
      applyLora(m, { r: 2, targetModules: ['c_attn'] });
      const f = await loraAdapterFiles(m);
      m.dispose();
      return f;
    })();
    const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
    const model = tinyGpt();
    const withCfg = (c: object) => ({ ...files, 'adapter_config.json': JSON.stringify(c) });
    await expect(loadLoraAdapter(model, withCfg({ ...cfg, use_dora: true }))).rejects.toThrow(
      /use_dora = true, which attnkit's LoRA does not implement/,
    );
    await expect(loadLoraAdapter(model, withCfg({ ...cfg, rank_pattern: { c_attn: 4 } }))).rejects.toThrow(
      /rank_pattern/,
    );
    await expect(loadLoraAdapter(model, withCfg({ ...cfg, peft_type: 'IA3' }))).rejects.toThrow(
      /only 'LORA'/,
    );
    await expect(loadLoraAdapter(model, withCfg({ ...cfg, r: 3 }))).rejects.toThrow(/shape mismatches/);
    await expect(
      loadLoraAdapter(model, withCfg({ ...cfg, target_modules: ['c_attn', 'c_proj'] })),
    ).rejects.toThrow(/missing: transformer\.h\.0\.attn\.c_proj\.lora_A\.weight/);
    // a refused load leaves the model as it was
    expect(loraLayers(model)).toEqual([]);
    expect(countParameters(model).fraction).toBe(1);
    await loadLoraAdapter(model, files);
    expect(loraLayers(model).length).toBe(2);
    model.dispose();
  });
});

describe('freezing and training with LoRA', () => {
  it('freeze / unfreeze by pattern; train() leaves frozen parameters untouched', async () => {
    const model = tinyGpt();
    const frozen = freeze(model, /^transformer\.h\.0\./);
    expect(frozen.length).toBeGreaterThan(4);
    expect(frozen.every((n) => n.startsWith('transformer.h.0.'))).toBe(true);
    expect(() => freeze(model, /^decoder\./)).toThrow(
      /matches no parameter of GPT2LMHeadModel; .*transformer\.wte\.weight/,
    );
    freeze(model, 'transformer.wte');
    unfreeze(model, 'transformer.h.0.ln_1');
    const snap = () =>
      Object.fromEntries(
        model.namedParameters().map(([n, p]) => [n, Array.from(p.dataSync() as Float32Array)]),
      );
    const before = snap();
    const tokens = Array.from({ length: 200 }, (_, i) => (i * 7) % 32);
    await train(model, {
      batches: lmBatches(tokens, { batchSize: 2, blockSize: 8, seed: 0 }),
      loss: causalLMLoss as never,
      maxSteps: 2,
      lr: 1e-2,
    });
    const after = snap();
    for (const [n, p] of model.namedParameters()) {
      const changed = after[n].some((v, i) => v !== before[n][i]);
      expect(changed, n).toBe(p.requiresGrad);
    }
    expect(model.transformer.h[0].ln_1.weight?.requiresGrad).toBe(true);
    expect(model.transformer.wte.weight.requiresGrad).toBe(false);
    model.dispose();
  });

  it('train() with LoRA updates only lora_A/lora_B, lowers the loss, and keeps memory flat', async () => {
    const model = tinyGpt();
    // unit-scale embeddings: with GPT-2's 0.02 init the frozen tied head could hardly move the logits
    model.transformer.wte.weight.copy_(randn(model.transformer.wte.weight.shape));
    applyLora(model, { r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: ['c_attn', 'c_proj', 'c_fc'] });
    const { trainable, total } = countParameters(model);
    const loraSize = loraLayers(model).reduce(
      (s, [, l]) => s + l.lora_A.weight.size + l.lora_B.weight.size,
      0,
    );
    expect(trainable).toBe(loraSize);
    expect(total).toBeGreaterThan(trainable);
    const layer = model.transformer.h[0].attn.c_attn as unknown as LoraLinear;
    const base = Array.from(layer.base_layer.weight.dataSync());
    const tokens = Array.from({ length: 400 }, (_, i) => (i * 7) % 32);
    const counts: number[] = [];
    const result = await train(model, {
      batches: lmBatches(tokens, { batchSize: 4, blockSize: 12, seed: 1 }),
      loss: causalLMLoss as never,
      maxSteps: 36,
      lr: 3e-2,
      schedule: 'constant',
      onProgress: () => {
        counts.push(memory().cpu.numTensors);
      },
    });
    // memory: the same number of live tensors after step 6 as after step 36
    expect(counts[35]).toBe(counts[5]);
    const first = result.losses.slice(0, 4).reduce((a, b) => a + b) / 4;
    const last = result.losses.slice(-4).reduce((a, b) => a + b) / 4;
    expect(last).toBeLessThan(first - 0.1);
    expect(Array.from(layer.base_layer.weight.dataSync())).toEqual(base);
    expect(Array.from(layer.lora_B.weight.dataSync()).some((v) => v !== 0)).toBe(true);
    model.dispose();
  });
});
