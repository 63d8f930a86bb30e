#!/usr/bin/env python3
"""LoRA references from the real PEFT for test/lora.test.ts, written to test/fixtures/lora-<model>/.

For a tiny GPT-2 (Conv1D layers, fan_in_fan_out) and a tiny BERT (nn.Linear layers):
  base/      the base model (transformers' save_pretrained, seeded weights)
  adapter/   a PEFT LoRA adapter (save_pretrained: adapter_config.json + adapter_model.safetensors)
             whose lora_A and lora_B are set deterministically (B non-zero, so the adapter matters)
  meta.json  input ids, the base model's logits and the PEFT model's logits (eval mode), and the
             logits after merge_and_unload
Then, when attnkit-adapter/ exists (written by attnkit's saveLoraAdapter: run
`ATTNKIT_WRITE_LORA_FIXTURES=1 npx vitest run --project transformer test/lora.test.ts`), it loads that
adapter with PEFT's PeftModel.from_pretrained onto base/ and records PEFT's logits as
peft_logits_attnkit_adapter, so the test checks that PEFT reads what attnkit writes as attnkit does.

Run:
  /work/venv-ref/bin/python packages/transformer/scripts/lora_refs.py
(torch, transformers 5.x, peft 0.21, safetensors, numpy.)
"""
import json
import os

import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
torch.set_grad_enabled(False)


def set_lora_weights(model, seed):
    """lora_A and lora_B of every adapted layer from a seeded generator (B is zero after PEFT's init)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters()):
        if "lora_A" in name or "lora_B" in name:
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def logits_of(model, ids):
    return model(input_ids=ids).logits.to(torch.float32)


def build(name, model_cls, config, targets, lora_kwargs, ids):
    out = os.path.join(FIXTURES, f"lora-{name}")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    base = model_cls(config).eval()
    base.save_pretrained(os.path.join(out, "base"))
    base_logits = logits_of(base, ids)
    cfg = LoraConfig(target_modules=targets, **lora_kwargs)
    model = get_peft_model(base, cfg).eval()
    set_lora_weights(model, 1)
    model.save_pretrained(os.path.join(out, "adapter"))
    os.remove(os.path.join(out, "adapter", "README.md"))  # PEFT's model card template
    peft_logits = logits_of(model, ids)
    merged = model.merge_and_unload()
    merged_logits = logits_of(merged, ids)
    meta = {
        "peft_version": peft.__version__,
        "transformers_version": transformers.__version__,
        "input_ids": ids.tolist(),
        "base_logits": base_logits.flatten().tolist(),
        "peft_logits": peft_logits.flatten().tolist(),
        "merged_logits": merged_logits.flatten().tolist(),
        "logits_shape": list(peft_logits.shape),
        "max_abs_adapter_effect": float((peft_logits - base_logits).abs().max()),
    }
    attnkit_dir = os.path.join(out, "attnkit-adapter")
    if os.path.isdir(attnkit_dir):
        fresh = model_cls.from_pretrained(os.path.join(out, "base")).eval()
        loaded = PeftModel.from_pretrained(fresh, attnkit_dir).eval()
        n_lora = sum(1 for n, _ in loaded.named_parameters() if "lora_" in n)
        assert n_lora > 0, "PEFT loaded no LoRA weights from attnkit-adapter"
        meta["peft_logits_attnkit_adapter"] = logits_of(loaded, ids).flatten().tolist()
        meta["attnkit_adapter_lora_tensors"] = n_lora
        print(f"{name}: PEFT loaded attnkit's adapter ({n_lora} LoRA tensors)")
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(f"{name}: adapter effect on logits {meta['max_abs_adapter_effect']:.4f}")


def main():
    ids = torch.tensor([[5, 17, 3, 42, 9, 0, 63, 21], [1, 2, 3, 4, 5, 6, 7, 8]])
    gpt2 = transformers.GPT2Config(
        vocab_size=64, n_positions=32, n_embd=32, n_layer=2, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0
    )
    build(
        "gpt2",
        transformers.GPT2LMHeadModel,
        gpt2,
        ["c_attn", "c_proj"],
        dict(r=4, lora_alpha=8, lora_dropout=0.1, fan_in_fan_out=True, task_type="CAUSAL_LM"),
        ids,
    )
    bert = transformers.BertConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    build(
        "bert",
        transformers.BertForMaskedLM,
        bert,
        ["query", "value"],
        dict(r=2, lora_alpha=6, lora_dropout=0.0),
        ids,
    )


if __name__ == "__main__":
    main()
