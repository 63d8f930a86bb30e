import { getBackend, manualSeed, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { MistralForCausalLM, MixtralForCausalLM } from '@attnkit/transformer';
import { type BenchBackends, fullWorkload } from './backends.js';

/**
 * What a sparse mixture of experts costs and saves: a Mixtral-shaped model (8 experts, top-2 per
 * token) beside the dense model with the same active parameter count (a Mistral whose MLP is as
 * wide as the two experts a token runs through), same attention, embeddings and head. Prefill of
 * 128 tokens and KV-cached decode, tokens/s, on every backend available; random weights, float32.
 * The "MoE / dense" row says how much slower the MoE runs per token for its 4× larger
 * feed-forward capacity (its total parameters are in the first column).
 *
 * Settings: ATTNKIT_BENCH_MOE_LAYERS (default 8), ATTNKIT_BENCH_MOE_HIDDEN (default 512; experts
 * are 2× as wide, the dense MLP 4×). Software backends keep 2 layers and decode 4 tokens unless
 * ATTNKIT_BENCH_FULL=1. On the CPU only the chosen experts run (the routing is read on the host);
 * backends without synchronous reads (webgpu, gpujs) keep the routing on the device and run every
 * expert on every token with a dense routing matrix (zero weight for the experts not chosen), so their
 * MoE row pays for all 8 experts.
 */
export async function benchMoE(backends: BenchBackends): Promise<void> {
  const layers = Number(process.env.ATTNKIT_BENCH_MOE_LAYERS ?? 8);
  const hidden = Number(process.env.ATTNKIT_BENCH_MOE_HIDDEN ?? 512);
  const expertFfn = 2 * hidden;
  const prompt = 128;
  const vocab = 8000;
  const original = getBackend().name;
  console.log(
    `\n## transformer: Mixtral-shaped MoE (8 experts, top-2, expert FFN ${expertFfn}) vs the dense model with the same active parameters (FFN ${2 * expertFfn}); ${layers} layers, ${hidden} wide, 8 heads (4 kv), vocab ${vocab}, random weights, float32`,
  );
  console.log(
    '| backend | model | layers | parameters (active) | prefill 128 tokens ms | prefill tokens/s | decode ms/token | decode tokens/s |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const b of backends.available) {
    const capped = b.slow && !fullWorkload();
    const nLayer = capped ? Math.min(2, layers) : layers;
    const decodeTokens = capped ? 4 : 16;
    setBackend(b.name);
    const common = {
      vocabSize: vocab,
      hiddenSize: hidden,
      numHiddenLayers: nLayer,
      numAttentionHeads: 8,
      numKeyValueHeads: 4,
      maxPositionEmbeddings: 4096,
      slidingWindow: null,
    };
    const rows: [string, () => MistralForCausalLM | MixtralForCausalLM][] = [
      ['dense', () => new MistralForCausalLM({ ...common, intermediateSize: 2 * expertFfn })],
      [
        'MoE 8×top-2',
        () =>
          new MixtralForCausalLM({
            ...common,
            intermediateSize: expertFfn,
            numLocalExperts: 8,
            numExpertsPerTok: 2,
          }),
      ],
    ];
    const speeds: number[][] = [];
    for (const [label, make] of rows) {
      manualSeed(0);
      const model = make().eval();
      const params = count(model);
      const active = label === 'dense' ? params : params - nLayer * 6 * 3 * hidden * expertFfn;
      try {
        const r = await timeModel(model, prompt, decodeTokens, vocab, capped ? 1 : 2);
        speeds.push([r.prefillMs, r.decodeMs]);
        console.log(
          `| attnkit ${b.label} | ${label} | ${nLayer}${capped ? ' (capped)' : ''} | ${(params / 1e6).toFixed(1)}M (${(active / 1e6).toFixed(1)}M) | ` +
            `${r.prefillMs.toFixed(0)} | ${((prompt / r.prefillMs) * 1000).toFixed(1)} | ${r.decodeMs.toFixed(1)} | ${(1000 / r.decodeMs).toFixed(1)} |`,
        );
      } catch (e) {
        console.log(
          `| attnkit ${b.label} | ${label} | ${nLayer} | | n/a: ${(e as Error).message.split('\n')[0]} | | | |`,
        );
      }
      model.dispose();
    }
    if (speeds.length === 2) {
      const [dense, moe] = speeds;
      console.log(
        `| attnkit ${b.label} | MoE / dense time | | | ${(moe[0] / dense[0]).toFixed(2)}× | | ${(moe[1] / dense[1]).toFixed(2)}× | |`,
      );
    }
  }
  setBackend(original);
}

function count(model: MistralForCausalLM | MixtralForCausalLM): number {
  let n = 0;
  for (const t of Object.values(model.stateDict())) n += t.size;
  return n;
}

async function timeModel(
  model: MistralForCausalLM | MixtralForCausalLM,
  prompt: number,
  decodeTokens: number,
  vocab: number,
  repeats: number,
): Promise<{ prefillMs: number; decodeMs: number }> {
  const ids = Int32Array.from({ length: prompt }, (_, i) => (i * 7919) % vocab);
  const run = async () => {
    const input = tensor(ids, [1, prompt], 'int32');
    const t0 = performance.now();
    const out = model.forward({ inputIds: input });
    await out.logits.data();
    const prefillMs = performance.now() - t0;
    out.logits.dispose();
    input.dispose();
    const past = out.pastKeyValues;
    const t1 = performance.now();
    let tok = 1;
    for (let i = 0; i < decodeTokens; i++) {
      const step = tensor([[tok]], undefined, 'int32');
      const o = model.forward({ inputIds: step, pastKeyValues: past });
      const logits: Tensor = o.logits;
      const v = await logits.data();
      tok = (Math.abs(Math.round(v[0] * 1000)) + i) % vocab;
      logits.dispose();
      step.dispose();
    }
    const decodeMs = (performance.now() - t1) / decodeTokens;
    past?.dispose();
    return { prefillMs, decodeMs };
  };
  await run(); // warm-up
  const runs = [];
  for (let i = 0; i < repeats; i++) runs.push(await run());
  return {
    prefillMs: Math.min(...runs.map((r) => r.prefillMs)),
    decodeMs: Math.min(...runs.map((r) => r.decodeMs)),
  };
}
