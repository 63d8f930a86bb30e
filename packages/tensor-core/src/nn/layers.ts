import type { Size2 } from '../ops/conv.js';
import { dropout } from '../ops/dropout.js';
import { gelu, relu, sigmoid, silu, tanh } from '../ops/elementwise.js';
import { type AvgPool2dOptions, avgPool2d, type MaxPool2dOptions, maxPool2d } from '../ops/pool.js';
import { softmax } from '../ops/softmax.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/**
 * Dropout, as torch.nn.Dropout: in training mode zeroes each element with probability `p` and
 * scales the rest by 1/(1-p); in eval mode passes the input through.
 */
export class Dropout extends Module {
  constructor(
    readonly p = 0.5,
    /** Generator for the masks (the global one by default). */
    readonly generator?: Generator,
  ) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new RangeError(`Dropout: p must be a probability in [0, 1], got ${JSON.stringify(p)}`);
    }
  }
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Passes its input through unchanged (torch.nn.Identity). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/** max(x, 0) as a module (torch.nn.ReLU). */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** GELU as a module (torch.nn.GELU), exact or with the tanh approximation. */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  override forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** SiLU (swish) as a module (torch.nn.SiLU). */
export class SiLU extends Module {
  override forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** tanh as a module (torch.nn.Tanh). */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** Logistic sigmoid as a module (torch.nn.Sigmoid). */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** Softmax along `dim` as a module (torch.nn.Softmax). */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}

/** Flattens dims startDim..endDim (torch.nn.Flatten: 1..-1 by default). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Max pooling as a module (torch.nn.MaxPool2d). */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly options: MaxPool2dOptions = {},
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

/** Average pooling as a module (torch.nn.AvgPool2d). */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly options: AvgPool2dOptions = {},
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}
