#!/usr/bin/env python3
"""Masked-LM loss reference for test/mlm.test.ts: the tiny BERT of test/fixtures/lora-bert/base
(written by lora_refs.py) run by transformers' BertForMaskedLM with `labels` (-100 = ignored) on a
padded batch; its loss (cross-entropy over the labelled tokens) goes to test/fixtures/mlm-loss/meta.json.

Run (after lora_refs.py):
  /work/venv-ref/bin/python packages/transformer/scripts/mlm_refs.py
"""
import json
import os

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
torch.set_grad_enabled(False)


def main():
    model = transformers.BertForMaskedLM.from_pretrained(os.path.join(FIXTURES, "lora-bert", "base")).eval()
    # token 4 plays [MASK]; row 2 is padded (attention 0) after 5 tokens
    ids = torch.tensor([[1, 7, 4, 9, 4, 12, 2, 30], [1, 4, 33, 8, 2, 0, 0, 0]])
    attention = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0, 0]])
    labels = torch.tensor([[-100, -100, 15, -100, 21, -100, -100, 30], [-100, 40, 33, -100, -100, -100, -100, -100]])
    out = model(input_ids=ids, attention_mask=attention, labels=labels)
    logits = out.logits
    # the same loss by hand (torch's cross_entropy ignoring -100)
    by_hand = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    assert torch.allclose(out.loss, by_hand)
    os.makedirs(os.path.join(FIXTURES, "mlm-loss"), exist_ok=True)
    with open(os.path.join(FIXTURES, "mlm-loss", "meta.json"), "w") as f:
        json.dump(
            {"input_ids": ids.tolist(), "attention_mask": attention.tolist(), "labels": labels.tolist(), "loss": out.loss.item()},
            f,
            indent=1,
        )
    print("loss", out.loss.item())


if __name__ == "__main__":
    main()
