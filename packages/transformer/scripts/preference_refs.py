#!/usr/bin/env python3
"""Preference-tuning references from TRL itself, to test/fixtures/preference-refs/meta.json
(test/preference.test.ts):
- dpo: TRL's DPOTrainer._compute_loss (the loss DPOTrainer trains with) run on fixed logits standing
  in for the policy's output (a [chosen; rejected] batch with prompt and padding masked by the
  completion mask) and fixed reference log-probs: the sequence log-probs, the loss, the gradient of
  the loss with respect to the logits, and TRL's logged rewards/accuracies/margins; for the
  'sigmoid' and 'ipo' losses. The label-smoothed (conservative, cDPO) sigmoid loss of TRL before 1.0,
  -(1 - eps) logsigmoid(beta d) - eps logsigmoid(-beta d), is TRL 1.13's 'aot' formula without the
  sort; it is computed here with torch from the same log-probs.
- reward: transformers' GPT2ForSequenceClassification (num_labels=1, pad_token_id=0: the score is
  read at the last non-pad token) with the body of test/fixtures/lora-gpt2/base and a seeded score
  head, under TRL's RewardTrainer.compute_loss (Bradley-Terry, -logsigmoid(r_chosen - r_rejected
  [- margin]).mean()): rewards, loss and gradients of the score head and of a body weight.

Needs trl (pip install --no-index --find-links <wheels> trl into /work/venv-ref). Run (after
lora_refs.py):
  /work/venv-ref/bin/python packages/transformer/scripts/preference_refs.py
"""
import json
import os
from collections import defaultdict
from types import SimpleNamespace

import torch
import transformers
import trl
from trl.trainer.dpo_trainer import DPOTrainer
from trl.trainer.reward_trainer import RewardTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")


def fake_trainer(**kw):
    """The attributes TRL's loss methods read from the trainer, with a one-process accelerator."""
    acc = SimpleNamespace(device=torch.device("cpu"), gather=lambda x: x, gather_for_metrics=lambda x: x)
    base = dict(
        model=SimpleNamespace(training=True),
        accelerator=acc,
        aux_loss_enabled=False,
        ld_alpha=None,
        precompute_ref_logps=True,
        f_divergence_type="reverse_kl",
        loss_weights=[1.0],
        label_smoothing=0.0,
        use_weighting=False,
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
        _total_train_tokens=0,
        _tp_size=1,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def dpo_refs():
    torch.manual_seed(0)
    pairs, T, V = 3, 7, 11
    # rows: prompt, chosen answer / rejected answer, right padding (id 0, attention 0)
    prompts = [[3, 5], [7, 2, 9], [4]]
    chosen = [[6, 1, 8], [10, 4], [2, 2, 3, 5, 6]]
    rejected = [[9, 9], [1, 3, 5, 7], [8, 6]]
    rows = [(p, a) for p, a in zip(prompts, chosen)] + [(p, a) for p, a in zip(prompts, rejected)]
    ids = torch.zeros(2 * pairs, T, dtype=torch.long)
    attention = torch.zeros(2 * pairs, T, dtype=torch.long)
    completion = torch.zeros(2 * pairs, T, dtype=torch.long)
    for b, (p, a) in enumerate(rows):
        n = len(p) + len(a)
        ids[b, :n] = torch.tensor(p + a)
        attention[b, :n] = 1
        completion[b, len(p) : n] = 1
    logits0 = torch.randn(2 * pairs, T, V) * 2
    ref_chosen = torch.tensor([-7.5, -6.0, -12.25])
    ref_rejected = torch.tensor([-5.0, -9.5, -6.75])
    out = {
        "pairs": [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in zip(prompts, chosen, rejected)],
        "input_ids": ids.tolist(),
        "attention_mask": attention.tolist(),
        "completion_mask": completion.tolist(),
        "logits": logits0.tolist(),
        "ref_chosen_logps": ref_chosen.tolist(),
        "ref_rejected_logps": ref_rejected.tolist(),
        "cases": [],
    }
    for loss_type, beta in [("sigmoid", 0.1), ("sigmoid", 0.5), ("ipo", 0.1)]:
        logits = logits0.clone().requires_grad_(True)
        model = lambda **kw: SimpleNamespace(logits=logits)  # noqa: E731 - the policy's output
        me = fake_trainer(loss_types=[loss_type], beta=beta)
        inputs = {
            "input_ids": ids,
            "attention_mask": attention,
            "completion_mask": completion,
            "ref_chosen_logps": ref_chosen,
            "ref_rejected_logps": ref_rejected,
        }
        loss = DPOTrainer._compute_loss(me, model, inputs, False)
        loss.backward()
        m = me._metrics["train"]
        out["cases"].append(
            {
                "loss_type": loss_type,
                "beta": beta,
                "label_smoothing": 0.0,
                "loss": loss.item(),
                "grad_logits": logits.grad.tolist(),
                "chosen_logps": m["logps/chosen"][0],
                "rejected_logps": m["logps/rejected"][0],
                "rewards_chosen": m["rewards/chosen"][0],
                "rewards_rejected": m["rewards/rejected"][0],
                "rewards_accuracies": m["rewards/accuracies"][0],
                "rewards_margins": m["rewards/margins"][0],
            }
        )
        print("dpo", loss_type, beta, loss.item())
    # sequence log-probs, as TRL computes them (selective_log_softmax, completion-masked sum)
    lp = torch.log_softmax(logits0[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0] * completion[:, 1:]
    logps = lp.sum(1)
    out["sequence_logps"] = logps.tolist()
    # the conservative (label-smoothed) sigmoid loss, eps = 0.2, beta = 0.1
    eps, beta = 0.2, 0.1
    logits = logits0.clone().requires_grad_(True)
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0] * completion[:, 1:]
    pc, pr = lp.sum(1).chunk(2)
    d = (pc - ref_chosen) - (pr - ref_rejected)
    F = torch.nn.functional
    loss = (-F.logsigmoid(beta * d) * (1 - eps) - F.logsigmoid(-beta * d) * eps).mean()
    loss.backward()
    out["cases"].append(
        {"loss_type": "sigmoid", "beta": beta, "label_smoothing": eps, "loss": loss.item(), "grad_logits": logits.grad.tolist()}
    )
    print("dpo cdpo", loss.item())
    return out


def reward_refs():
    path = os.path.join(FIXTURES, "lora-gpt2", "base")
    model = transformers.GPT2ForSequenceClassification.from_pretrained(path, num_labels=1, pad_token_id=0).eval()
    torch.manual_seed(1)
    with torch.no_grad():
        model.score.weight.normal_(0, 0.5)
    # [chosen rows; rejected rows], right-padded with id 0 (no real token is 0)
    rows = [[5, 17, 3, 42, 9], [7, 8, 20], [1, 2, 3, 4, 5, 6, 33], [5, 17, 3, 40], [7, 8, 21, 22, 23], [1, 2, 3, 4, 60]]
    L = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), L, dtype=torch.long)
    attention = torch.zeros(len(rows), L, dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, : len(r)] = torch.tensor(r)
        attention[b, : len(r)] = 1
    out = {"rows": rows, "score_weight": model.score.weight.tolist(), "cases": []}
    for margin in [None, [0.5, -0.25, 1.0]]:
        model.zero_grad()
        me = fake_trainer(args=SimpleNamespace(center_rewards_coefficient=None))
        inputs = {"input_ids": ids, "attention_mask": attention}
        if margin is not None:
            inputs["margin"] = torch.tensor(margin)
        loss, outputs = RewardTrainer.compute_loss(me, model, inputs, return_outputs=True)
        loss.backward()
        m = me._metrics["train"]
        out["cases"].append(
            {
                "margin": margin,
                "rewards": outputs.logits.squeeze(-1).tolist(),
                "loss": loss.item(),
                "accuracy": m["accuracy"][0],
                "grad_score_weight": model.score.weight.grad.tolist(),
                "grad_ln_f_weight": model.transformer.ln_f.weight.grad.tolist(),
                "grad_h0_c_attn_weight": model.transformer.h[0].attn.c_attn.weight.grad.tolist(),
            }
        )
        print("reward", margin, loss.item(), outputs.logits.squeeze(-1).tolist())
    return out


def main():
    refs = {"trl": trl.__version__, "transformers": transformers.__version__, "dpo": dpo_refs(), "reward": reward_refs()}
    with open(os.path.join(FIXTURES, "preference-refs", "meta.json"), "w") as f:
        json.dump(refs, f)


if __name__ == "__main__":
    main()
