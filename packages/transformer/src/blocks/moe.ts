// A sparse Mixture-of-Experts feed-forward (Shazeer et al. 2017; Switch Transformer, Fedus et al.
// 2021; Mixtral, Jiang et al. 2024): a router scores every expert for every token, each token runs
// through its top-k experts only, and their outputs are mixed by the renormalised router weights.
// A load-balancing loss keeps the router from sending everything to a few experts.
//
//   x [B, L, E] ─ gate ─▶ router logits [B·L, n] ─ softmax, top-k ─▶ weights [B·L, k], experts [B·L, k]
//   y[t] = Σ_j weight[t, j] · expert_{experts[t, j]}(x[t])
//   expert_i(x) = w2(silu(w1 x) ⊙ w3 x)       (Mixtral's names; SwiGLU)
import {
  add,
  eq,
  indexSelect,
  isTracing,
  mean,
  mul,
  oneHot,
  scatterAdd,
  softmax,
  sum,
  type Tensor,
  tensor,
  topk,
  zeros,
} from '@attnkit/tensor-core';
import { Linear, Module } from '@attnkit/tensor-core/nn';
import { assertTensorArg, fmtShape } from '../internal.js';
import { activation } from './feed-forward.js';

/** One expert: a SwiGLU feed-forward with Mixtral's names (`w1` gate, `w3` up, `w2` down). */
export class MoEExpert extends Module {
  w1: Linear;
  w2: Linear;
  w3: Linear;
  private readonly act: (x: Tensor) => Tensor;

  constructor(hidden: number, ffn: number, act = 'silu') {
    super();
    this.w1 = new Linear(hidden, ffn, { bias: false });
    this.w2 = new Linear(ffn, hidden, { bias: false });
    this.w3 = new Linear(hidden, ffn, { bias: false });
    this.act = activation(act, 'MoEExpert');
  }

  /** x [N, hidden] → [N, hidden] */
  override forward(x: Tensor): Tensor {
    return this.w2.forward(mul(this.act(this.w1.forward(x)), this.w3.forward(x)));
  }
}

/** Options of {@link MixtureOfExperts}. */
export interface MixtureOfExpertsOptions {
  /** Number of experts (8). */
  numExperts?: number;
  /** Experts per token (2). */
  topK?: number;
  /** Expert activation ('silu'). */
  activation?: string;
  /** Renormalise the top-k router probabilities to sum to 1 (true, as Mixtral). */
  normalizeTopK?: boolean;
}

/** What {@link MixtureOfExperts.forward} returns. */
export interface MixtureOfExpertsOutput {
  /** [..., hidden] */
  output: Tensor;
  /** [tokens, numExperts] */
  routerLogits: Tensor;
  /** The load-balancing loss of this call (add `coef · auxLoss` to the training loss). */
  auxLoss: Tensor;
}

/**
 * The load-balancing loss of Switch Transformer / Mixtral, as transformers'
 * `load_balancing_loss_func`: `numExperts · Σ_e f_e · P_e`, where f_e is the fraction of top-k
 * assignments that went to expert e (per slot) and P_e the mean router probability of e. It is 1
 * (times topK) when routing is uniform and grows as it concentrates.
 *
 * @example
 * ```ts
 * const routerLogits = zeros([16, 8]); // [tokens, experts]: a uniform router
 * loadBalancingLoss(routerLogits, 8, 2); // => 2
 * ```
 */
export function loadBalancingLoss(routerLogits: Tensor, numExperts: number, topK: number): Tensor {
  assertTensorArg(routerLogits, 'routerLogits', 'loadBalancingLoss');
  if (routerLogits.rank !== 2 || routerLogits.shape[1] !== numExperts) {
    throw new Error(
      `loadBalancingLoss: routerLogits must be [tokens, ${numExperts}], got ${fmtShape(routerLogits.shape)}`,
    );
  }
  const probs = softmax(routerLogits, -1); // [N, n]
  const { indices } = topk(probs.detach(), topK, -1); // [N, k]
  const mask = oneHot(indices, numExperts).cast('float32'); // [N, k, n]
  const tokensPerExpert = mean(mask, 0); // [k, n]
  const probPerExpert = mean(probs, 0); // [n]
  return mul(sum(mul(tokensPerExpert, probPerExpert.unsqueeze(0))), numExperts);
}

/**
 * A sparse Mixture-of-Experts feed-forward layer, as Mixtral's block_sparse_moe: parameters
 * `gate.weight` [numExperts, hidden] and `experts.N.{w1,w2,w3}.weight`. Only the top-k experts of
 * each token run. Gradients reach the experts it used and the router (through the mixing weights
 * and the load-balancing loss).
 *
 * @example
 * ```ts
 * const moe = new MixtureOfExperts(64, 128, { numExperts: 4, topK: 2 });
 * const x = randn([2, 5, 64]);
 * const { output, auxLoss } = moe.forward(x);
 * output.shape; // => [2, 5, 64]
 * const taskLoss = mul(output, output).mean();
 * const loss = add(taskLoss, mul(auxLoss, 0.01));
 * ```
 */
export class MixtureOfExperts extends Module {
  gate: Linear;
  experts: MoEExpert[];
  readonly numExperts: number;
  readonly topK: number;
  readonly normalizeTopK: boolean;

  constructor(
    readonly hidden: number,
    readonly ffn: number,
    options: MixtureOfExpertsOptions = {},
  ) {
    super();
    this.numExperts = options.numExperts ?? 8;
    this.topK = options.topK ?? 2;
    if (!Number.isInteger(this.numExperts) || this.numExperts < 1) {
      throw new RangeError(
        `MixtureOfExperts: numExperts must be a positive integer, got ${String(options.numExperts)}`,
      );
    }
    if (!Number.isInteger(this.topK) || this.topK < 1 || this.topK > this.numExperts) {
      throw new RangeError(
        `MixtureOfExperts: topK must be an integer in [1, numExperts = ${this.numExperts}], got ${String(options.topK)}`,
      );
    }
    this.normalizeTopK = options.normalizeTopK ?? true;
    this.gate = new Linear(hidden, this.numExperts, { bias: false });
    this.experts = Array.from(
      { length: this.numExperts },
      () => new MoEExpert(hidden, ffn, options.activation),
    );
  }

  /** x [..., hidden] → `{ output [..., hidden], routerLogits [tokens, n], auxLoss }` */
  override forward(x: Tensor): MixtureOfExpertsOutput {
    assertTensorArg(x, 'x', 'MixtureOfExperts.forward');
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.hidden) {
      throw new Error(`MixtureOfExperts.forward: expected x [..., ${this.hidden}], got ${fmtShape(x.shape)}`);
    }
    const flat = x.reshape([-1, this.hidden]); // [N, E]
    const routerLogits = this.gate.forward(flat); // [N, n]
    const probs = softmax(routerLogits, -1);
    const top = topk(probs, this.topK, -1); // values [N, k] (differentiable), indices [N, k]
    let weights = top.values;
    if (this.normalizeTopK) weights = weights.div(sum(weights, -1, true));
    const output = (
      flat.backend.readSync && !isTracing()
        ? this.routeSparse(flat, top.indices, weights)
        : this.routeDense(flat, top.indices, weights)
    ).reshape([...x.shape]);
    const auxLoss = loadBalancingLoss(routerLogits, this.numExperts, this.topK);
    return { output, routerLogits, auxLoss };
  }

  /**
   * Each expert runs on the tokens routed to it only (gathered, then scattered back): the sparse
   * computation that makes MoE cheap. Reads the routing on the host, so it needs a backend that reads
   * synchronously (the CPU).
   */
  private routeSparse(flat: Tensor, indices: Tensor, weights: Tensor): Tensor {
    const n = flat.shape[0];
    const chosen = indices.dataSync(); // [N·k], host side: which tokens each expert serves
    let out = zeros([n, this.hidden]);
    for (let e = 0; e < this.numExperts; e++) {
      const rows: number[] = [];
      const slots: number[] = [];
      for (let i = 0; i < chosen.length; i++) {
        if (chosen[i] === e) {
          rows.push(Math.floor(i / this.topK));
          slots.push(i);
        }
      }
      if (!rows.length) continue;
      const rowIdx = tensor(Int32Array.from(rows), [rows.length], 'int32');
      const slotIdx = tensor(Int32Array.from(slots), [slots.length], 'int32');
      const w = indexSelect(weights.reshape([n * this.topK]), 0, slotIdx).unsqueeze(1); // [m, 1]
      const y = mul(this.experts[e].forward(indexSelect(flat, 0, rowIdx)), w); // [m, E]
      const scatterIdx = rowIdx.unsqueeze(1).expand(rows.length, this.hidden).contiguous();
      out = scatterAdd(out, 0, scatterIdx, y);
    }
    return out;
  }

  /**
   * The same mixture with the routing kept on the device, for backends that read asynchronously
   * (webgpu, gpujs) and for ONNX export (a graph cannot route on the host): every expert runs on
   * every token, weighted by its routing weight (0 where the token did not choose it). Equal to the
   * sparse path (an unused expert adds weight 0 times its output), at n / k times the expert FLOPs.
   */
  private routeDense(flat: Tensor, indices: Tensor, weights: Tensor): Tensor {
    let out: Tensor | null = null;
    for (let e = 0; e < this.numExperts; e++) {
      const w = sum(mul(eq(indices, e), weights), -1, true); // [N, 1]
      const y = mul(this.experts[e].forward(flat), w);
      out = out ? add(out, y) : y;
    }
    return out as Tensor;
  }
}
