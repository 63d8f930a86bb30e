#!/usr/bin/env python3
"""Loss references with ignored labels, to test/fixtures/loss-refs/meta.json:
- mlm (test/mlm.test.ts): the tiny BERT of test/fixtures/lora-bert/base (written by lora_refs.py)
  run by transformers' BertForMaskedLM with `labels` (-100 = ignored) on a padded batch;
- sft (test/sft.test.ts): the tiny GPT-2 of test/fixtures/lora-gpt2/base run by GPT2LMHeadModel with
  labels that keep only the answer tokens of prompt + answer rows (right-padded); transformers
  shifts the labels inside.

Run (after lora_refs.py):
  /work/venv-ref/bin/python packages/transformer/scripts/loss_refs.py
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
    mlm = {"input_ids": ids.tolist(), "attention_mask": attention.tolist(), "labels": labels.tolist(), "loss": out.loss.item()}
    print("mlm loss", out.loss.item())

    gpt = transformers.GPT2LMHeadModel.from_pretrained(os.path.join(FIXTURES, "lora-gpt2", "base")).eval()
    rows = [([5, 17, 3, 42], [9, 11, 60]), ([7, 8], [20, 21, 22, 23, 24]), ([1, 2, 3, 4, 5, 6], [33])]
    length = max(len(p) + len(a) for p, a in rows)
    ids = torch.zeros(len(rows), length, dtype=torch.long)
    attention = torch.zeros(len(rows), length, dtype=torch.long)
    labels = torch.full((len(rows), length), -100)
    for b, (p, a) in enumerate(rows):
        n = len(p) + len(a)
        ids[b, :n] = torch.tensor(p + a)
        attention[b, :n] = 1
        labels[b, len(p) : n] = torch.tensor(a)
    out = gpt(input_ids=ids, attention_mask=attention, labels=labels)
    full = gpt(input_ids=ids, attention_mask=attention, labels=torch.where(attention == 1, ids, -100))
    sft = {
        "rows": [{"prompt": p, "answer": a} for p, a in rows],
        "input_ids": ids.tolist(),
        "labels": labels.tolist(),
        "loss": out.loss.item(),
        "loss_on_prompt_too": full.loss.item(),
    }
    print("sft loss", out.loss.item(), "with prompt", full.loss.item())
    os.makedirs(os.path.join(FIXTURES, "loss-refs"), exist_ok=True)
    with open(os.path.join(FIXTURES, "loss-refs", "meta.json"), "w") as f:
        json.dump({"mlm": mlm, "sft": sft}, f, indent=1)


if __name__ == "__main__":
    main()
