#!/usr/bin/python3
"""A tiny CLIP tokenizer in Hugging Face's tokenizer.json format, with reference encodings from an independent
re-implementation of OpenAI CLIP's own BPE tokenizer (simple_tokenizer.py's algorithm: whitespace clean-up,
lowercase, CLIP's word regex, byte-to-unicode, BPE with a `</w>` end-of-word suffix, <|startoftext|> ... <|endoftext|>).

The tokenizer.json follows transformers' CLIPConverter (convert_slow_tokenizer.py): BPE(continuing_subword_prefix='',
end_of_word_suffix='</w>', unk_token='<|endoftext|>'), normalizer Sequence[NFC, Replace(\\s+ -> ' '), Lowercase],
pre_tokenizer Sequence[Split(CLIP regex, removed, invert), ByteLevel(add_prefix_space=False)], ByteLevel decoder,
RobertaProcessing post-processor. The vocabulary is laid out as CLIP's: 256 byte characters, the same with `</w>`,
one token per merge, then the two special tokens; the merges are learnt here from a small corpus.

Writes packages/transformer/test/fixtures/clip-tokenizer/{tokenizer.json, encodings.json} (read by
packages/diffusion/test/clip-tokenizer.test.ts).
Run: /usr/bin/python3 packages/transformer/scripts/clip_tokenizer_refs.py
"""
import json, os, re
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "clip-tokenizer")
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# CLIP's word pattern with Python `re` classes: [^\W\d_] = letters, \d = digits, (?:[^\s\w]|_) = the rest
# (the texts below hold no digit outside \d and no letter outside [^\W\d_], where re and \p{L}/\p{N} agree)
PAT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+", re.IGNORECASE)


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table (CLIP uses the same)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, n = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b); chars.append(256 + n); n += 1
    return dict(zip(keep, map(chr, chars)))


B2U = bytes_to_unicode()


def clean(text): return re.sub(r"\s+", " ", text).strip().lower()


def words(text): return ["".join(B2U[b] for b in w.encode("utf-8")) for w in PAT.findall(clean(text))]


def learn_merges(corpus, n):
    freq = Counter(tuple(w[:-1]) + (w[-1] + "</w>",) for line in corpus for w in words(line))
    merges = []
    for _ in range(n):
        pairs = Counter()
        for w, c in freq.items():
            for a, b in zip(w, w[1:]): pairs[(a, b)] += c
        if not pairs: break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        new = Counter()
        for w, c in freq.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best: out.append(w[i] + w[i + 1]); i += 2
                else: out.append(w[i]); i += 1
            new[tuple(out)] += c
        freq = new
    return merges


def bpe(token, ranks):
    """simple_tokenizer.py's bpe(): merge the lowest-ranked pair everywhere, until none is ranked."""
    word = tuple(token[:-1]) + (token[-1] + "</w>",)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks: break
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best: out.append(word[i] + word[i + 1]); i += 2
            else: out.append(word[i]); i += 1
        word = tuple(out)
    return list(word)


def encode(text, vocab, ranks):
    ids = [vocab[BOS]]
    for w in words(text):
        ids += [vocab[w]] if w in (BOS, EOS) else [vocab[t] for t in bpe(w, ranks)]
    return ids + [vocab[EOS]]


CORPUS = [
    "a photo of a cat sitting on a red sofa", "an astronaut riding a horse on the moon, digital art",
    "a painting of a lighthouse at sunset, oil on canvas", "a red circle and a blue square on a white background",
    "the cat's toy is under the table", "photograph of mountains and a lake, highly detailed, 4k",
    "a cute dog wearing sunglasses", "portrait of an old man, studio lighting", "a bowl of fruit on the kitchen table",
]
TEXTS = [
    "a photo of a cat", "  A Photo   of a CAT\tsitting\non a sofa  ", "an astronaut riding a horse, digital art!!",
    "the cat's toy isn't here; they're/we've/I'm/you'll/he'd", "4k 1024x768 photo_of_2 cats", "café déjà-vu über naïve",
    "emoji 🙂 and ✨ sparkle", "", "a <|endoftext|> b", "zebra quokka xylophone",
]

if __name__ == "__main__":
    merges = learn_merges(CORPUS, 120)
    vocab_list = list(B2U.values()) + [v + "</w>" for v in B2U.values()] + ["".join(m) for m in merges] + [BOS, EOS]
    vocab = {t: i for i, t in enumerate(vocab_list)}
    assert len(vocab) == len(vocab_list)
    ranks = {m: i for i, m in enumerate(merges)}
    special = lambda t: {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                         "normalized": True, "special": True}
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [special(BOS), special(EOS)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": {"type": "RobertaProcessing", "sep": [EOS, vocab[EOS]], "cls": [BOS, vocab[BOS]],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": EOS, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f: json.dump(tok, f, ensure_ascii=False)
    cases = [{"text": t, "ids": encode(t, vocab, ranks)} for t in TEXTS]
    with open(os.path.join(OUT, "encodings.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token_id": vocab[BOS], "eos_token_id": vocab[EOS], "cases": cases}, f, ensure_ascii=False, indent=1)
    for c in cases: print(c["text"][:30].ljust(30), c["ids"])
