#!/usr/bin/env python3
"""Trains the target/draft pair of the bench's `speculative` suite (apps/bench/src/speculative.ts).

Both are character-level GPT-2s on the fables of packages/transformer/assets/corpus/fables.txt with
the embedded tiny GPT's alphabet (packages/transformer/assets/tiny-gpt/vocab.json: one tokenizer
for both models):
  - target: 12 layers, 64 wide, 4 heads, trained on the text (next-character cross-entropy);
  - draft:  2 layers, 64 wide, 4 heads, distilled from the trained target on the same text
    (half cross-entropy with the text, half KL(target || draft) on the target's next-character
    distribution), so that it agrees with the target as often as 2 layers allow.
Written with Hugging Face transformers' GPT2LMHeadModel.save_pretrained in float16 (attnkit's
loadPretrained reads float16 files into float32 parameters) under apps/bench/assets/speculative/
{target,draft}/, plus training.json there (settings, validation losses, seconds). torch is used
here only because it trains the pair far faster than attnkit's own trainer on the project's shared
two-core machine; the bench measures attnkit's decoding. With this CPU budget the 12-layer target
is undertrained (validation loss 2.21 nats/char, the add-1 bigram baseline 2.41, the 3-layer
embedded tiny GPT 1.60), and its greedy text loops; see training.json.

Run (from the repository root, seeded; 27 minutes on one core of the loaded project machine):
  /work/venv-ref/bin/python apps/bench/scripts/train_speculative_pair.py
Options: --steps N (target steps, default 500), --draft-steps N (default 400), --threads N (1).
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = os.path.join(ROOT, 'apps', 'bench', 'assets', 'speculative')

parser = argparse.ArgumentParser()
parser.add_argument('--steps', type=int, default=500)
parser.add_argument('--draft-steps', type=int, default=400)
parser.add_argument('--threads', type=int, default=1)
args = parser.parse_args()
torch.set_num_threads(args.threads)

text = open(os.path.join(ROOT, 'packages/transformer/assets/corpus/fables.txt'), encoding='utf8').read()
chars = json.load(open(os.path.join(ROOT, 'packages/transformer/assets/tiny-gpt/vocab.json')))['chars']
index = {c: i for i, c in enumerate(chars)}
missing = sorted(set(text) - set(chars))
if missing:
    raise SystemExit(f'characters of the corpus outside the tiny GPT alphabet: {missing!r}')
ids = torch.tensor([index[c] for c in text], dtype=torch.long)
split = int(len(ids) * 0.9)
train_ids, val_ids = ids[:split], ids[split:]

BLOCK = 128
BATCH = 8
SETTINGS = dict(block_size=BLOCK, batch_size=BATCH, lr=3e-3, warmup=50, weight_decay=0.1, betas=[0.9, 0.99],
                max_grad_norm=1.0, schedule='cosine', dropout=0.1, width=64, heads=4)


def config(n_layer):
    return GPT2Config(vocab_size=len(chars), n_positions=BLOCK, n_embd=64, n_layer=n_layer, n_head=4,
                      resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1, bos_token_id=None,
                      eos_token_id=None, tie_word_embeddings=True)


def batches(seed):
    g = torch.Generator().manual_seed(seed)
    while True:
        starts = torch.randint(0, len(train_ids) - BLOCK - 1, (BATCH,), generator=g)
        x = torch.stack([train_ids[s:s + BLOCK] for s in starts])
        y = torch.stack([train_ids[s + 1:s + BLOCK + 1] for s in starts])
        yield x, y


@torch.no_grad()
def val_loss(model):
    model.eval()
    total, n = 0.0, 0
    for s in range(0, len(val_ids) - BLOCK - 1, BLOCK):
        x = val_ids[s:s + BLOCK][None]
        y = val_ids[s + 1:s + BLOCK + 1][None]
        logits = model(x).logits
        total += F.cross_entropy(logits[0], y[0], reduction='sum').item()
        n += BLOCK
    model.train()
    return total / n


def lr_at(step, steps):
    if step < SETTINGS['warmup']:
        return SETTINGS['lr'] * (step + 1) / SETTINGS['warmup']
    t = (step - SETTINGS['warmup']) / max(1, steps - SETTINGS['warmup'])
    return SETTINGS['lr'] * 0.5 * (1 + math.cos(math.pi * t))


def fit(model, steps, seed, teacher=None):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': SETTINGS['weight_decay']},
                             {'params': other, 'weight_decay': 0.0}], lr=SETTINGS['lr'],
                            betas=tuple(SETTINGS['betas']))
    model.train()
    t0 = time.time()
    data = batches(seed)
    for step in range(steps):
        for group in opt.param_groups:
            group['lr'] = lr_at(step, steps)
        x, y = next(data)
        logits = model(x).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        if teacher is not None:
            with torch.no_grad():
                t_logp = F.log_softmax(teacher(x).logits, -1)
            kl = F.kl_div(F.log_softmax(logits, -1), t_logp, log_target=True, reduction='batchmean') / BLOCK
            loss = 0.5 * loss + 0.5 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), SETTINGS['max_grad_norm'])
        opt.step()
        if step % 250 == 0 or step == steps - 1:
            print(f'step {step} loss {loss.item():.4f} ({time.time() - t0:.0f} s)', flush=True)
    model.eval()
    return time.time() - t0


report = {'corpus': 'packages/transformer/assets/corpus/fables.txt',
          'vocab': 'packages/transformer/assets/tiny-gpt/vocab.json', 'settings': SETTINGS,
          'torch': torch.__version__}

torch.manual_seed(1)
target = GPT2LMHeadModel(config(12))
secs = fit(target, args.steps, seed=1)
report['target'] = {'layers': 12, 'parameters': sum(p.numel() for p in target.parameters()),
                    'steps': args.steps, 'seconds': round(secs), 'validationLoss': val_loss(target)}
print('target', report['target'], flush=True)
for p in target.parameters():
    p.requires_grad_(False)

torch.manual_seed(2)
draft = GPT2LMHeadModel(config(2))
secs = fit(draft, args.draft_steps, seed=2, teacher=target)
report['draft'] = {'layers': 2, 'parameters': sum(p.numel() for p in draft.parameters()),
                   'steps': args.draft_steps, 'seconds': round(secs), 'validationLoss': val_loss(draft),
                   'distillation': '0.5 cross-entropy with the text + 0.5 KL(target || draft)'}
print('draft', report['draft'], flush=True)

for name, model in (('target', target), ('draft', draft)):
    folder = os.path.join(OUT, name)
    model.to(torch.float16).save_pretrained(folder, safe_serialization=True)
    gen = os.path.join(folder, 'generation_config.json')
    if os.path.exists(gen):
        os.remove(gen)
with open(os.path.join(OUT, 'training.json'), 'w') as f:
    json.dump(report, f, indent=2)
    f.write('\n')
