#!/usr/bin/env python3
"""Beam-search reference cases from transformers 5.18's own generate(), for test/beam-hf.test.ts.

A scripted language model: the next-token logits at absolute position t after token x are
table[t][x] (a seeded random table, vocabulary 6). transformers' GPT2LMHeadModel.generate runs it
(its forward replaced, no cache) with beam search under random settings (beams, new tokens, length
penalty, early stopping, return sequences, one or two prompts); the test runs the same table through
@attnkit/sampling's generate() and expects the same sequences. Writes test/fixtures/hf-beam-cases.json.

Run: /work/venv-ref/bin/python packages/sampling/scripts/beam_refs.py
"""
import json
import os
import random

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.modeling_outputs import CausalLMOutputWithPast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "hf-beam-cases.json")
V, POSITIONS, EOS, PAD = 6, 8, 1, 5
torch.set_grad_enabled(False)


class Scripted(GPT2LMHeadModel):
    def set_table(self, table):
        self.table = table  # [POSITIONS, V, V]

    def forward(self, input_ids=None, **kwargs):
        b, l = input_ids.shape
        logits = torch.stack([self.table[t][input_ids[:, t]] for t in range(l)], dim=1)  # [B, L, V]
        return CausalLMOutputWithPast(logits=logits)


def main():
    model = Scripted(GPT2Config(vocab_size=V, n_positions=16, n_embd=8, n_layer=1, n_head=1)).eval()
    rng = random.Random(0)
    cases = []
    for i in range(80):
        gen = torch.Generator().manual_seed(1000 + i)
        table = torch.randn(POSITIONS, V, V, generator=gen, dtype=torch.float64) * 2.0
        table[:, :, EOS] += 0.8  # EOS likely enough that beams finish at different steps
        table = (torch.round(table * 1e4) / 1e4).to(torch.float32)  # what the JSON holds, exactly
        model.set_table(table)
        beams = rng.choice([2, 3, 4])
        settings = {
            "num_beams": beams,
            "max_new_tokens": rng.choice([2, 3, 4, 5]),
            "length_penalty": rng.choice([1.0, 0.5, 2.0, 0.0, -1.0]),
            "early_stopping": rng.choice([False, True, "never"]),
            "num_return_sequences": rng.randint(1, beams),
        }
        prompts = [[0]] if rng.random() < 0.5 else [[0], [2]]
        out = model.generate(input_ids=torch.tensor(prompts), attention_mask=torch.ones(len(prompts), 1, dtype=torch.long),
                             do_sample=False, eos_token_id=EOS, pad_token_id=PAD, use_cache=False,
                             return_dict_in_generate=True, output_scores=True, **settings)
        cases.append({"table": [round(float(v), 4) for v in table.double().flatten()], "prompts": prompts, **settings,
                      "sequences": out.sequences.tolist(), "sequences_scores": out.sequences_scores.tolist()})
    with open(OUT, "w") as f:
        json.dump({"transformers": transformers.__version__, "vocab": V, "positions": POSITIONS, "eos": EOS,
                   "pad": PAD, "cases": cases}, f)
    print("wrote", len(cases), "cases to", os.path.abspath(OUT))


if __name__ == "__main__":
    main()
