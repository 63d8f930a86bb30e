// A draft model for speculative decoding, made from the tiny GPT itself: its embeddings, its first
// `layers` blocks, its final norm and head (an "early exit"). Cheaper than the target, and often right.
import { GPT2LMHeadModel } from '@attnkit/transformer';

/** The tiny GPT cut after its first `layers` blocks, sharing the trained weights' values. */
export function truncatedDraft(target: GPT2LMHeadModel, layers: number): GPT2LMHeadModel {
  const c = target.config;
  if (!Number.isInteger(layers) || layers < 1 || layers >= c.nLayer) {
    throw new RangeError(`truncatedDraft: layers must be an integer in 1..${c.nLayer - 1}, got ${layers}`);
  }
  const draft = new GPT2LMHeadModel({ ...c, nLayer: layers });
  const state = target.stateDict();
  const kept = Object.fromEntries(
    Object.entries(state).filter(([name]) => {
      const m = /^transformer\.h\.(\d+)\./.exec(name);
      return !m || Number(m[1]) < layers;
    }),
  );
  draft.loadStateDict(kept, { strict: false });
  return draft.eval();
}
