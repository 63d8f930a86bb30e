#!/usr/bin/python3
"""Reference cases for @attnkit/sampling's logits processors.

Re-implements, in plain torch, the math of Hugging Face transformers' logits processors
(generation/logits_process.py): RepetitionPenalty, NoRepeatNGram, NoBadWords, MinLength,
MinNewTokensLength, ForcedBOS/EOS, Temperature, TopK, TopP, MinP, Typical, plus OpenAI's
presence/frequency penalty and logit bias. Writes
packages/sampling/test/fixtures/processors.json: for each case the input ids, prompt length,
scores before, processor settings and scores after (float32 values; -inf as null).
Run: /usr/bin/python3 scripts/reference/logits_processors.py
"""
import json, math, os
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "sampling", "test", "fixtures", "processors.json")
NEG = -float("inf")


def repetition_penalty(ids, scores, penalty):
    score = torch.gather(scores, 1, ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return scores.scatter(1, ids, score)


def temperature(scores, t):
    return scores / t


def top_k(scores, k, keep=1):
    k = min(max(k, keep), scores.size(-1))
    remove = scores < torch.topk(scores, k)[0][..., -1, None]
    return scores.masked_fill(remove, NEG)


def top_p(scores, p, keep=1):
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    sorted_remove = cum <= (1 - p)
    sorted_remove[..., -keep:] = 0
    remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
    return scores.masked_fill(remove, NEG)


def min_p(scores, mp, keep=1):
    probs = torch.softmax(scores, dim=-1)
    top = probs.amax(dim=-1, keepdim=True)
    remove = probs < mp * top
    sorted_indices = torch.argsort(scores, descending=True, dim=-1)
    sorted_remove = torch.gather(remove, dim=-1, index=sorted_indices)
    sorted_remove[..., :keep] = False
    remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
    return scores.masked_fill(remove, NEG)


def typical(scores, mass, keep=1):
    normalized = torch.nn.functional.log_softmax(scores, dim=-1)
    p = torch.exp(normalized)
    ent = -(normalized * p).nansum(-1, keepdim=True)
    shifted = torch.abs((-normalized) - ent)
    sorted_scores, sorted_indices = torch.sort(shifted, descending=False)
    sorted_logits = scores.gather(-1, sorted_indices)
    cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    last_ind = (cum < mass).sum(dim=1)
    last_ind.clamp_(max=sorted_scores.shape[-1] - 1)
    sorted_remove = sorted_scores > sorted_scores.gather(1, last_ind.view(-1, 1))
    sorted_remove[..., :keep] = 0
    remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
    return scores.masked_fill(remove, NEG)


def no_repeat_ngram(ids, scores, n):
    seq = ids[0].tolist()
    if len(seq) + 1 < n:
        return scores
    gen = {}
    for s in range(len(seq) - n + 1):
        ng = tuple(seq[s:s + n])
        gen.setdefault(ng[:-1], []).append(ng[-1])
    banned = gen.get(tuple(seq[len(seq) - n + 1:]), [])
    scores = scores.clone()
    scores[0, banned] = NEG
    return scores


def bad_words(ids, scores, words):
    seq = ids[0].tolist()
    scores = scores.clone()
    for w in words:
        pre = w[:-1]
        if len(pre) == 0 or (len(pre) <= len(seq) and seq[len(seq) - len(pre):] == pre):
            scores[0, w[-1]] = NEG
    return scores


def presence_frequency(ids, prompt_len, scores, presence, frequency):
    scores = scores.clone()
    gen = ids[0, prompt_len:].tolist()
    for t in set(gen):
        c = gen.count(t)
        scores[0, t] -= c * frequency + presence
    return scores


def main():
    torch.manual_seed(1234)
    V = 12
    cases = []

    def case(name, processor, settings, ids, prompt_len, scores, after):
        cases.append({
            "name": name, "processor": processor, "settings": settings, "input_ids": ids[0].tolist(),
            "prompt_length": prompt_len,
            "scores": [None if math.isinf(v) else v for v in scores[0].tolist()],
            "expected": [None if (math.isinf(v) and v < 0) else v for v in after[0].tolist()],
        })

    def rnd(scale=2.0):
        return (torch.randn(1, V) * scale).to(torch.float32)

    ids = torch.tensor([[3, 5, 3, 7, 1, 3, 5]])
    for pen in (1.3, 0.7):
        s = rnd()
        case(f"repetition_{pen}", "repetitionPenalty", {"repetitionPenalty": pen}, ids, 2, s, repetition_penalty(ids, s, pen))
    for t in (0.5, 1.7):
        s = rnd()
        case(f"temperature_{t}", "temperature", {"temperature": t}, ids, 2, s, temperature(s, t))
    for k in (1, 3, 11):
        s = rnd()
        case(f"top_k_{k}", "topK", {"topK": k}, ids, 2, s, top_k(s, k))
    s = torch.tensor([[1.0, 1.0, 1.0, 0.5, 0.5, 0.2, 0.0, -1.0, -1.0, -2.0, -3.0, -4.0]])
    case("top_k_ties", "topK", {"topK": 2}, ids, 2, s, top_k(s, 2))
    for p in (0.1, 0.5, 0.9, 0.99):
        s = rnd()
        case(f"top_p_{p}", "topP", {"topP": p}, ids, 2, s, top_p(s, p))
    for mp in (0.05, 0.2, 0.6):
        s = rnd()
        case(f"min_p_{mp}", "minP", {"minP": mp}, ids, 2, s, min_p(s, mp))
    for mass in (0.2, 0.6, 0.95):
        s = rnd()
        case(f"typical_{mass}", "typicalP", {"typicalP": mass}, ids, 2, s, typical(s, mass))
    for n in (2, 3):
        s = rnd()
        case(f"no_repeat_ngram_{n}", "noRepeatNgramSize", {"noRepeatNgramSize": n}, ids, 2, s, no_repeat_ngram(ids, s, n))
    words = [[9], [3, 5], [1, 3, 6], [7, 1, 3, 2]]
    s = rnd()
    case("bad_words", "badWordsIds", {"badWordsIds": words}, ids, 2, s, bad_words(ids, s, words))
    s = rnd()
    case("presence_frequency", "presenceFrequency", {"presencePenalty": 0.5, "frequencyPenalty": 0.3}, ids, 2, s,
         presence_frequency(ids, 2, s, 0.5, 0.3))
    # chained: HF order repetition -> temperature -> top_k -> top_p
    s = rnd()
    chained = top_p(top_k(temperature(repetition_penalty(ids, s, 1.2), 0.8), 6), 0.8)
    case("chain_rep_temp_topk_topp", "chain",
         {"doSample": True, "repetitionPenalty": 1.2, "temperature": 0.8, "topK": 6, "topP": 0.8}, ids, 2, s, chained)
    with open(OUT, "w") as f:
        json.dump({"vocab_size": V, "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} cases to {OUT}")
    # temperature bit for bit: torch divides the float32 scores by the temperature cast to float32
    g = torch.Generator().manual_seed(99)
    big = (torch.randn(1, 1024, generator=g) * 6).to(torch.float32)
    out = {"scores": big[0].tolist(), "temperatures": {}}
    for t in (0.7, 0.8, 1.3, 0.3333):
        out["temperatures"][str(t)] = temperature(big, t)[0].tolist()
    bits = os.path.join(os.path.dirname(OUT), "temperature_bits.json")
    with open(bits, "w") as f:
        json.dump(out, f)
    print(f"wrote {bits}")


if __name__ == "__main__":
    main()
