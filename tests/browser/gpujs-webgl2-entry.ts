// Browser side of gpujs-webgl2-chromium.test.ts: the backend conformance suite and a tiny GPT-2
// forward on backend-gpujs in WebGL2 mode, results published on window for the Node side.
import '@attnkit/backend-cpu';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { fromValues, setBackend } from '@attnkit/tensor-core';
import { checkCase, conformanceCases, GLSL_ES_3_PRECISION } from '@attnkit/tensor-core/testing';
import { type GPT2LMHeadModel, loadPretrained } from '@attnkit/transformer';

interface Results {
  mode: string;
  total: number;
  failures: string[];
  /** Largest |got - torch| / (1e-4 + 1e-3 |torch|) over the tiny GPT-2's logits (<= 1 passes). */
  gptWorst: number;
  gptElements: number;
  error?: string;
}

const w = window as unknown as { __attnkitResults?: Results };
async function bytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

async function main(): Promise<Results> {
  const backend = await initGpuJs({ mode: 'webgl2' }); // the gpu.js browser build the package ships
  const failures: string[] = [];
  for (const c of conformanceCases) {
    setBackend('gpujs');
    try {
      await checkCase(c, { precision: GLSL_ES_3_PRECISION });
    } catch (e) {
      failures.push(`${c.op} (${c.name}): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // Tiny GPT-2 (packages/transformer/test/fixtures/gpt2-tiny, logits from the PyTorch reference) on WebGL2.
  setBackend('gpujs');
  const base = `${location.origin}/gpt2-tiny/`;
  const model = (await loadPretrained(base)) as GPT2LMHeadModel;
  const ids = new Int32Array(await bytes(`${base}input_ids.i32`));
  const want = new Float32Array(await bytes(`${base}logits.f32`));
  const out = model.forward({ inputIds: fromValues(ids, [1, ids.length], 'int32') });
  const got = await out.logits.data();
  let worst = got.length === want.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-4 + 1e-3 * Math.abs(want[i])));
  }
  return {
    mode: backend.mode,
    total: conformanceCases.length,
    failures,
    gptWorst: worst,
    gptElements: want.length,
  };
}

main().then(
  (r) => {
    w.__attnkitResults = r;
  },
  (e) => {
    w.__attnkitResults = {
      mode: '',
      total: 0,
      failures: [],
      gptWorst: Number.NaN,
      gptElements: 0,
      error: String(e?.stack ?? e),
    };
  },
);
