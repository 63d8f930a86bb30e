// Rotary-embedding frequency scaling as Hugging Face transformers computes it
// (modeling_rope_utils.py): the six rope types in use, read from either generation of config.json.
//
//   transformers 5: "rope_parameters": { "rope_type": "yarn", "rope_theta": 10000, "factor": 4, ... }
//   transformers 4: "rope_theta": 10000, "rope_scaling": { "rope_type" (or "type"): "yarn", "factor": 4, ... }
//
//   default   inv_freq[i] = 1 / theta^(2i / dim)
//   linear    inv_freq / factor                                  (position interpolation)
//   dynamic   theta' = theta · (factor · L / max_pos − (factor − 1))^(dim / (dim − 2)) once the
//             sequence L outgrows max_position_embeddings (NTK-aware, recomputed per forward)
//   yarn      a per-frequency blend of interpolated and original frequencies, and cos/sin scaled by
//             attention_factor (0.1 ln(factor) + 1 unless given, or the mscale ratio)
//   longrope  inv_freq / short_factor[i], or / long_factor[i] once the sequence outgrows
//             original_max_position_embeddings; cos/sin scaled by attention_factor
//   llama3    low frequencies divided by factor, high ones kept, the band between blended
//
// Scaling cos and sin by a factor s multiplies q·k by s², so the attention factor is applied as a
// softmax scale of s² / √D.
import { RotaryEmbedding } from '@attnkit/attention';
import { isTracing, type Tensor } from '@attnkit/tensor-core';
import { describe } from '../internal.js';

/** The rope types transformers implements for Llama-style models, which attnkit implements too. */
export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'yarn', 'longrope', 'llama3'] as const;
/** One of {@link ROPE_TYPES}. */
export type RopeType = (typeof ROPE_TYPES)[number];

/** The config.json fields rope settings are read from (both generations). */
export interface RopeConfigFields {
  /** transformers 5's `rope_parameters`. */
  ropeParameters?: Record<string, unknown> | null;
  /** transformers 4's `rope_scaling` (wins over rope_parameters when both are set, as in transformers). */
  ropeScaling?: Record<string, unknown> | null;
  /** transformers 4's top-level `rope_theta` (used when the dict has none). */
  ropeTheta: number;
  maxPositionEmbeddings: number;
  /** A top-level `original_max_position_embeddings` (Phi-3 style); wins over the dict's. */
  originalMaxPositionEmbeddings?: number | null;
  /** A top-level `partial_rotary_factor`. */
  partialRotaryFactor?: number | null;
}

/** Resolved rope settings of a model. */
export interface RopeSettings {
  ropeType: RopeType;
  theta: number;
  /** Rotated features per head. */
  dim: number;
  maxPositionEmbeddings: number;
  /** The scaling parameters (factor, original_max_position_embeddings, ...), snake_case as in config.json. */
  params: Record<string, unknown>;
}

function num(p: Record<string, unknown>, key: string, who: string, required: boolean): number | null {
  const v = p[key];
  if (v === undefined || v === null) {
    if (required)
      throw new Error(`${who}: rope '${p.rope_type}' needs '${key}' in rope_parameters (rope_scaling)`);
    return null;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`${who}: rope_parameters '${key}' must be a positive number, got ${describe(v)}`);
  }
  return v;
}

/**
 * Reads and checks the rope settings of a config (either generation of keys). A rope type attnkit
 * does not implement is refused by name.
 */
export function ropeSettings(fields: RopeConfigFields, headDim: number, who: string): RopeSettings {
  const given = fields.ropeScaling ?? fields.ropeParameters ?? null;
  if (given !== null && (typeof given !== 'object' || Array.isArray(given))) {
    throw new TypeError(`${who}: rope_parameters (rope_scaling) must be an object, got ${describe(given)}`);
  }
  const p: Record<string, unknown> = { ...(given ?? {}) };
  const type = p.rope_type ?? p.type ?? 'default';
  if (!(ROPE_TYPES as readonly unknown[]).includes(type)) {
    throw new Error(
      `${who}: rope_type ${describe(type)} is not implemented (implemented: ${ROPE_TYPES.join(', ')})`,
    );
  }
  p.rope_type = type;
  const theta = p.rope_theta ?? fields.ropeTheta;
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0) {
    throw new Error(`${who}: rope_theta must be a positive number, got ${describe(theta)}`);
  }
  const prf = p.partial_rotary_factor ?? fields.partialRotaryFactor ?? 1;
  if (prf !== 1) {
    throw new Error(
      `${who}: partial_rotary_factor ${describe(prf)} is not implemented for this family (only 1)`,
    );
  }
  const ropeType = type as RopeType;
  if (ropeType === 'llama3' || ropeType === 'yarn' || ropeType === 'longrope') {
    p.original_max_position_embeddings =
      fields.originalMaxPositionEmbeddings ??
      p.original_max_position_embeddings ??
      fields.maxPositionEmbeddings;
    num(p, 'original_max_position_embeddings', who, true);
  }
  if (ropeType === 'linear' || ropeType === 'dynamic' || ropeType === 'llama3') num(p, 'factor', who, true);
  if (ropeType === 'yarn' || ropeType === 'longrope') {
    num(p, 'factor', who, false);
    if (p.attention_factor !== undefined && p.attention_factor !== null)
      num(p, 'attention_factor', who, true);
  }
  if (ropeType === 'yarn') {
    for (const k of ['beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim']) num(p, k, who, false);
  }
  if (ropeType === 'llama3') {
    num(p, 'low_freq_factor', who, true);
    num(p, 'high_freq_factor', who, true);
  }
  if (ropeType === 'longrope') {
    for (const k of ['short_factor', 'long_factor']) {
      const f = p[k];
      if (!Array.isArray(f) || f.length !== headDim / 2 || f.some((x) => typeof x !== 'number' || !(x > 0))) {
        throw new Error(
          `${who}: rope 'longrope' needs '${k}', a list of ${headDim / 2} positive numbers (head_dim / 2), got ${describe(f)}`,
        );
      }
    }
  }
  return { ropeType, theta, dim: headDim, maxPositionEmbeddings: fields.maxPositionEmbeddings, params: p };
}

/** True when the frequencies depend on the sequence length (dynamic, longrope). */
export function ropeDependsOnLength(s: RopeSettings): boolean {
  return s.ropeType === 'dynamic' || s.ropeType === 'longrope';
}

/** The factor cos and sin are multiplied by (1 except for yarn and longrope). */
export function ropeAttentionFactor(s: RopeSettings): number {
  const p = s.params;
  const given = p.attention_factor as number | null | undefined;
  if (given !== undefined && given !== null) return given;
  const orig = p.original_max_position_embeddings as number;
  const factor = (p.factor as number | null | undefined) ?? s.maxPositionEmbeddings / orig;
  if (s.ropeType === 'yarn') {
    const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
    const m = p.mscale as number | undefined;
    const mAll = p.mscale_all_dim as number | undefined;
    return m && mAll ? mscale(factor, m) / mscale(factor, mAll) : mscale(factor);
  }
  if (s.ropeType === 'longrope') return factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig));
  return 1;
}

/** The inverse frequencies [dim / 2] for a forward whose positions reach `seqLen - 1`. */
export function ropeInvFreq(s: RopeSettings, seqLen = 0): Float64Array {
  const { dim, params: p } = s;
  const half = dim / 2;
  let base = s.theta;
  if (s.ropeType === 'dynamic') {
    const factor = p.factor as number;
    const len = Math.max(seqLen, s.maxPositionEmbeddings);
    base *= ((factor * len) / s.maxPositionEmbeddings - (factor - 1)) ** (dim / (dim - 2));
  }
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / base ** ((2 * i) / dim);
  if (s.ropeType === 'linear') for (let i = 0; i < half; i++) inv[i] /= p.factor as number;
  if (s.ropeType === 'longrope') {
    const orig = p.original_max_position_embeddings as number;
    const ext = (seqLen > orig ? p.long_factor : p.short_factor) as number[];
    for (let i = 0; i < half; i++) inv[i] /= ext[i];
  }
  if (s.ropeType === 'llama3') llama3Frequencies(inv, p);
  if (s.ropeType === 'yarn') yarnFrequencies(inv, s);
  return inv;
}

/** Llama 3.1: wavelengths beyond original/low_freq_factor are divided by factor, a band is blended. */
function llama3Frequencies(inv: Float64Array, p: Record<string, unknown>): void {
  const factor = p.factor as number;
  const low = p.low_freq_factor as number;
  const high = p.high_freq_factor as number;
  const old = p.original_max_position_embeddings as number;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen < old / high) continue;
    if (wavelen > old / low) inv[i] /= factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
    }
  }
}

/** YaRN: frequencies below the correction range interpolated (÷ factor), above it kept, ramped between. */
function yarnFrequencies(inv: Float64Array, s: RopeSettings): void {
  const p = s.params;
  const orig = p.original_max_position_embeddings as number;
  const factor = (p.factor as number | null | undefined) ?? s.maxPositionEmbeddings / orig;
  const betaFast = (p.beta_fast as number | undefined) || 32;
  const betaSlow = (p.beta_slow as number | undefined) || 1;
  const truncate = p.truncate ?? true;
  const dim = s.dim;
  const correctionDim = (rotations: number) =>
    (dim * Math.log(orig / (rotations * 2 * Math.PI))) / (2 * Math.log(s.theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < inv.length; i++) {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrapolation = 1 - ramp;
    inv[i] = (inv[i] / factor) * (1 - extrapolation) + inv[i] * extrapolation;
  }
}

/**
 * The rotary embedding a model's layers share, with its config's scaling. For dynamic and longrope
 * the frequencies follow the sequence length: call {@link ScaledRotary.prepare} at the start of
 * each forward with the largest position it will see (transformers recomputes them per forward too).
 */
export class ScaledRotary {
  readonly rotary: RotaryEmbedding;
  /** cos/sin multiplier (yarn, longrope), 1 otherwise. */
  readonly attentionFactor: number;

  constructor(readonly settings: RopeSettings) {
    this.rotary = new RotaryEmbedding({
      rotaryDim: settings.dim,
      theta: settings.theta,
      layout: 'rotate_half',
    });
    this.rotary.invFreq.set(ropeInvFreq(settings));
    this.attentionFactor = ropeAttentionFactor(settings);
  }

  /** Sets the frequencies for a forward whose positions reach `seqLen - 1` (dynamic, longrope). */
  prepare(seqLen: number): void {
    if (!ropeDependsOnLength(this.settings)) return;
    if (isTracing()) {
      // a traced graph (ONNX export) would keep the frequencies of the traced lengths
      throw new Error(
        `rope type '${this.settings.ropeType}' recomputes its frequencies from the sequence length on the host, so a traced forward (ONNX export) cannot follow it; export a checkpoint with another rope type`,
      );
    }
    this.rotary.invFreq.set(ropeInvFreq(this.settings, seqLen));
  }

  /** The softmax scale of a head of size `headDim`: attentionFactor² / √headDim. */
  attentionScale(headDim: number): number {
    return (this.attentionFactor * this.attentionFactor) / Math.sqrt(headDim);
  }
}

/**
 * The sequence length a forward reaches: the largest position id + 1 (read on the host when the
 * backend can), else the cache offset + the new tokens.
 */
export function reachedLength(positions: number | Tensor, newTokens: number, pastLength: number): number {
  if (typeof positions === 'number') return positions + newTokens;
  if (positions.backend.readSync) {
    const d = positions.dataSync();
    let m = -1;
    for (let i = 0; i < d.length; i++) if (d[i] > m) m = d[i];
    return m + 1;
  }
  return pastLength + newTokens;
}

/**
 * config.json rope keys that both transformers generations read the same way: `rope_theta` and
 * `rope_scaling` (what version 4 reads), and `rope_parameters` when the model was loaded with it
 * (version 5 gives rope_scaling precedence and fills rope_theta in, so the two agree).
 */
export function ropeConfigJson(json: Record<string, unknown>): Record<string, unknown> {
  const rp = json.rope_parameters as Record<string, unknown> | null | undefined;
  if (rp === null || rp === undefined) {
    delete json.rope_parameters;
    return json;
  }
  if (json.rope_scaling === null || json.rope_scaling === undefined) {
    const { rope_theta, ...rest } = rp;
    if (typeof rope_theta === 'number') json.rope_theta = rope_theta;
    const type = rest.rope_type ?? rest.type ?? 'default';
    json.rope_scaling = type === 'default' ? null : { ...rest, rope_type: type, type };
  }
  return json;
}
