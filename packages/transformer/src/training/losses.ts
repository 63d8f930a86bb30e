// Training objectives of the model families: next-token cross-entropy for causal LMs (labels shifted
// inside, as transformers), and teacher-forced cross-entropy for the encoder-decoder.
import { crossEntropy, type Tensor } from '@attnkit/tensor-core';
import type { Module } from '@attnkit/tensor-core/nn';

/** A causal LM as the losses need it. */
export interface LogitsModel extends Module {
  forward(inputs: Record<string, unknown>): { logits: Tensor };
}

/**
 * Mean next-token cross-entropy: logits at position t predict `labels[t + 1]` (labels equal to
 * inputIds, or -100 where ignored), as transformers' causal-LM loss.
 */
export function causalLMLoss(
  model: LogitsModel,
  batch: { inputIds: Tensor; labels?: Tensor; attentionMask?: Tensor },
): Tensor {
  const labels = batch.labels ?? batch.inputIds;
  const { logits } = model.forward({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    useCache: false,
  });
  const [b, t, v] = logits.shape;
  const pred = logits.sliceDim(1, 0, t - 1).reshape([b * (t - 1), v]);
  const target = labels.sliceDim(1, 1, t).reshape([b * (t - 1)]);
  return crossEntropy(pred, target, { ignoreIndex: -100 });
}

/** A seq2seq batch: source ids, decoder inputs (start token + target) and labels (target + end token). */
export interface Seq2SeqBatch {
  inputIds: Tensor;
  attentionMask?: Tensor;
  decoderInputIds: Tensor;
  decoderAttentionMask?: Tensor;
  /** int32 [B, Lt], -100 where ignored (padding). */
  labels: Tensor;
}

/** Mean cross-entropy of the decoder's logits against `labels` (teacher forcing). */
export function seq2seqLoss(model: LogitsModel, batch: Seq2SeqBatch): Tensor {
  const { logits } = model.forward({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    decoderInputIds: batch.decoderInputIds,
    decoderAttentionMask: batch.decoderAttentionMask,
    useCache: false,
  });
  const [b, t, v] = logits.shape;
  return crossEntropy(logits.reshape([b * t, v]), batch.labels.reshape([b * t]), { ignoreIndex: -100 });
}
