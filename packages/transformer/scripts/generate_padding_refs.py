"""Reference generate() outputs for left-padded batches (issue 13), from the real transformers.

Saves a tiny random GPT2LMHeadModel and LlamaForCausalLM with save_pretrained (config.json,
generation_config.json, model.safetensors; a few tens of KB each) under
packages/transformer/test/fixtures/gen-<family>-padded/, and records in generate.json what
transformers' generate() returns for one prompt alone and for a left-padded batch holding it
(greedy and beam search with num_beams 3, with and without the KV cache). The tests in
packages/transformer/test/padded-generation.test.ts compare attnkit's sequences token for token.

Run (transformers 5.18, torch 2.13, CPU):
  python3 -m venv .venv-ref && .venv-ref/bin/pip install --no-index --find-links <wheel dirs> torch transformers safetensors
  .venv-ref/bin/python packages/transformer/scripts/generate_padding_refs.py
(on the project machine: /work/venv-ref/bin/python packages/transformer/scripts/generate_padding_refs.py)
"""
import json, os

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")

PAD = 0
EOS = 63
PROMPTS = [[5, 17, 42, 8, 23, 11], [30, 9, 51]]  # the second is left-padded in the batch
NEW = 12


def build(family):
    torch.manual_seed(1234 if family == "gpt2" else 4321)
    if family == "gpt2":
        cfg = GPT2Config(vocab_size=64, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                         bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD, initializer_range=0.3)
        model = GPT2LMHeadModel(cfg)
    else:
        cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                          bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD, initializer_range=0.3)
        model = LlamaForCausalLM(cfg)
    model.eval()
    model.generation_config.pad_token_id = PAD
    model.generation_config.eos_token_id = EOS
    model.generation_config.bos_token_id = 1
    return model


def left_pad(prompts):
    w = max(len(p) for p in prompts)
    ids = [[PAD] * (w - len(p)) + p for p in prompts]
    mask = [[0] * (w - len(p)) + [1] * len(p) for p in prompts]
    return torch.tensor(ids), torch.tensor(mask)


def run(model, prompts, **kw):
    ids, mask = left_pad(prompts)
    with torch.no_grad():
        out = model.generate(ids, attention_mask=mask, max_new_tokens=NEW, pad_token_id=PAD,
                             eos_token_id=EOS, **kw)
    return out.tolist()


def main():
    for family in ["gpt2", "llama"]:
        model = build(family)
        d = os.path.join(OUT, f"gen-{family}-padded")
        os.makedirs(d, exist_ok=True)
        model.save_pretrained(d, safe_serialization=True)
        cases = {}
        for name, kw in [("greedy", dict(do_sample=False)),
                         ("beam3", dict(do_sample=False, num_beams=3)),
                         ("beam3_return2", dict(do_sample=False, num_beams=3, num_return_sequences=2))]:
            for cache in [True, False]:
                single = run(model, [PROMPTS[1]], use_cache=cache, **kw)
                batch = run(model, PROMPTS, use_cache=cache, **kw)
                cases[f"{name}{'' if cache else '_nocache'}"] = {"options": kw, "use_cache": cache,
                                                                  "single": single, "batch": batch}
        # the margins of the greedy single run (a near-tie would make the comparison fragile)
        ids = torch.tensor([cases["greedy"]["single"][0]])
        with torch.no_grad():
            logits = model(ids).logits[0, len(PROMPTS[1]) - 1:-1]
        top2 = logits.topk(2, dim=-1).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
        with open(os.path.join(d, "generate.json"), "w") as f:
            json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                       "prompts": PROMPTS, "pad_token_id": PAD, "eos_token_id": EOS,
                       "max_new_tokens": NEW, "min_greedy_margin": margin, "cases": cases}, f, indent=1)
        print(family, "min greedy margin", margin)
        for k, v in cases.items():
            print(" ", k, "single", v["single"], "\n    batch", v["batch"])


if __name__ == "__main__":
    main()
