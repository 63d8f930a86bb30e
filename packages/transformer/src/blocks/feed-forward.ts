// Position-wise feed-forward networks: the 2017 paper's two linear layers with a ReLU (or GELU)
// between them, and Llama's SwiGLU, which gates one projection with the SiLU of another.
import { dropout, mul, type Tensor } from '@attnkit/tensor-core';
import { activationByName, Linear, Module } from '@attnkit/tensor-core/nn';

/**
 * An activation by its Hugging Face `hidden_act` / `activation_function` name (the common ones;
 * {@link activation} accepts every name of @attnkit/hub's `ACTIVATIONS`).
 */
export type ActivationName =
  | 'relu'
  | 'gelu'
  | 'gelu_new'
  | 'gelu_pytorch_tanh'
  | 'gelu_fast'
  | 'quick_gelu'
  | 'silu'
  | 'swish'
  | 'tanh';

/**
 * The activation function named as in Hugging Face configs (`gelu` is exact, `gelu_new` the tanh
 * approximation GPT-2 uses, `silu`/`swish` Llama's; every name of @attnkit/hub's `ACTIVATIONS`):
 * tensor-core/nn's `activationByName`.
 *
 * @example
 * ```ts
 * const act = activation('gelu_new');
 * act(tensor([-1, 0, 1])); // => [-0.1588, 0, 0.8412]
 * ```
 */
export function activation(name: string, who = 'activation'): (x: Tensor) => Tensor {
  return activationByName(name, who);
}

/** Options of {@link FeedForward}. */
export interface FeedForwardOptions {
  /** Activation name (default 'relu', as the 2017 paper). */
  activation?: ActivationName;
  /** Dropout after the activation, in training mode (default 0). */
  dropout?: number;
  /** Biases on both layers (default true). */
  bias?: boolean;
}

/**
 * The position-wise feed-forward network of "Attention Is All You Need":
 * `linear2(dropout(act(linear1(x))))`, d_model → d_ff → d_model. Parameter names are those of
 * torch's nn.TransformerEncoderLayer (`linear1`, `linear2`).
 *
 * @example
 * ```ts
 * const ffn = new FeedForward(512, 2048, { activation: 'gelu' });
 * const y = ffn.forward(randn([2, 5, 512]));
 * y.shape; // => [2, 5, 512]
 * ```
 */
export class FeedForward extends Module {
  linear1: Linear;
  linear2: Linear;
  readonly activationName: ActivationName;
  readonly dropoutP: number;
  private readonly act: (x: Tensor) => Tensor;

  constructor(dModel: number, dFF: number, options: FeedForwardOptions = {}) {
    super();
    this.linear1 = new Linear(dModel, dFF, { bias: options.bias ?? true });
    this.linear2 = new Linear(dFF, dModel, { bias: options.bias ?? true });
    this.activationName = options.activation ?? 'relu';
    this.act = activation(this.activationName, 'FeedForward');
    this.dropoutP = options.dropout ?? 0;
  }

  /** x [..., dModel] → [..., dModel] */
  override forward(x: Tensor): Tensor {
    let h = this.act(this.linear1.forward(x)); // [..., dFF]
    if (this.dropoutP > 0) h = dropout(h, this.dropoutP, this.training);
    return this.linear2.forward(h);
  }
}

/**
 * SwiGLU (Shazeer 2020), Llama's MLP: `down_proj(silu(gate_proj(x)) * up_proj(x))`, no biases by
 * default. Names are Hugging Face Llama's.
 *
 * @example
 * ```ts
 * const mlp = new SwiGLU(256, 688); // Llama-7B's is SwiGLU(4096, 11008)
 * const y = mlp.forward(randn([1, 3, 256]));
 * y.shape; // => [1, 3, 256]
 * ```
 */
export class SwiGLU extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  private readonly act: (x: Tensor) => Tensor;

  constructor(hidden: number, intermediate: number, options: { bias?: boolean; activation?: string } = {}) {
    super();
    const bias = options.bias ?? false;
    this.gate_proj = new Linear(hidden, intermediate, { bias });
    this.up_proj = new Linear(hidden, intermediate, { bias });
    this.down_proj = new Linear(intermediate, hidden, { bias });
    this.act = activation(options.activation ?? 'silu', 'SwiGLU');
  }

  /** x [..., hidden] → [..., hidden] */
  override forward(x: Tensor): Tensor {
    const gate = this.act(this.gate_proj.forward(x)); // [..., intermediate]
    return this.down_proj.forward(mul(gate, this.up_proj.forward(x)));
  }
}
