"""Fixtures for the tokenizer.json pair tests (issue 13) and the empty-match cases (issue 22).

Builds tiny tokenizer.json files with Hugging Face `tokenizers` (the Rust library; trained here on
the repo's test corpus, nothing downloaded): one per post-processor (ByteLevel, TemplateProcessing,
BertProcessing, RobertaProcessing), plus files whose Split / Replace patterns match the empty
string and one with an empty added token. For each it records `encode(text, pair)` (ids, type ids,
tokens, masks, offsets) and `decode(ids, skip_special_tokens=True)` over many text/pair cases,
with truncation and padding variants.

Run from the repository root:
  python3 -m venv .venv-ref && .venv-ref/bin/pip install --no-index --find-links <wheel dirs> tokenizers
  .venv-ref/bin/python packages/tokenizer/scripts/make_pair_fixtures.py
Writes packages/tokenizer/test/fixtures/pairs/*.json (tokenizer.json files and <name>.cases.json).
"""

import json
import os
import random

import tokenizers
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "pairs")
CORPUS = open(os.path.join(HERE, "..", "test", "fixtures", "corpus.txt"), encoding="utf-8").read()
LINES = [l for l in CORPUS.split("\n") if l.strip()]

rng = random.Random(13)
ALPHABET = "abcdefghij klmnop ÄÖüéß 東京日本 😀👋🏽 \t\n ,.!? ąčę 한국어 ﬁ é"


def rand_text(n):
    return "".join(rng.choice(ALPHABET) for _ in range(n))


SINGLES = [
    "",
    " ",
    "Hello world",
    "  leading and trailing  ",
    "Hello, World! How are you?",
    "naïve café — résumé",
    "東京は日本の首都です。",
    "emoji 😀👋🏽 and flags 🇯🇵",
    "e\u0301 combining and ﬁ ligature",
    "tabs\tand\nnewlines\r\n",
    "[CLS] looks special <s> </s> <|endoftext|>",
] + LINES[:6] + [rand_text(rng.randint(1, 40)) for _ in range(8)]

PAIRS = [
    ("", ""),
    ("Hello world", ""),
    ("", "Hello world"),
    ("Hello world", "How are you?"),
    ("naïve café", "東京 😀"),
    (LINES[0], LINES[1]),
    (LINES[2], "short"),
    ("short", LINES[3]),
] + [(rand_text(rng.randint(0, 30)), rand_text(rng.randint(0, 30))) for _ in range(8)]


def train_bpe_bytelevel(vocab_size=400, special=()):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(LINES * 3, trainer)
    return tok


def train_wordpiece(vocab_size=300):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    tok.train_from_iterator(LINES * 3, trainer)
    return tok


def build():
    out = {}
    # ByteLevel post-processor (GPT-2 style, trim_offsets on).
    t = train_bpe_bytelevel(special=["<|endoftext|>"])
    t.post_processor = processors.ByteLevel(trim_offsets=True)
    out["bytelevel"] = t
    # TemplateProcessing over a Llama 3 style byte-level BPE (Split regex + ByteLevel without regex).
    t = train_bpe_bytelevel(special=["<|begin_of_text|>", "<|end_of_text|>"])
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(
                Regex(
                    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
                ),
                "isolated",
            ),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bos = t.token_to_id("<|begin_of_text|>")
    eos = t.token_to_id("<|end_of_text|>")
    t.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single="<|begin_of_text|> $A",
                pair="<|begin_of_text|> $A:0 <|end_of_text|>:0 <|begin_of_text|>:1 $B:1 <|end_of_text|>:1",
                special_tokens=[("<|begin_of_text|>", bos), ("<|end_of_text|>", eos)],
            ),
        ]
    )
    out["template-bytelevel"] = t
    # TemplateProcessing on WordPiece (BERT as transformers writes it).
    t = train_wordpiece()
    cls, sep = t.token_to_id("[CLS]"), t.token_to_id("[SEP]")
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    out["template-wordpiece"] = t
    # BertProcessing.
    t = train_wordpiece()
    t.post_processor = processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    out["bert"] = t
    # RobertaProcessing over byte-level BPE with a prefix space.
    t = train_bpe_bytelevel(special=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    t.post_processor = processors.RobertaProcessing(
        ("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")), trim_offsets=True, add_prefix_space=True
    )
    out["roberta"] = t
    return out


# Truncation / padding variants applied to every tokenizer (None: neither).
VARIANTS = [
    ("plain", None, None),
    ("trunc-longest-9", dict(max_length=9), None),
    ("trunc-longest-4", dict(max_length=4), None),
    ("trunc-only-second-10", dict(max_length=10, strategy="only_second"), None),
    ("trunc-only-first-10-left", dict(max_length=10, strategy="only_first", direction="left"), None),
    ("pad-fixed-24", None, dict(length=24)),
    ("pad-left-multiple-8", None, dict(direction="left", pad_to_multiple_of=8)),
    ("trunc-12-pad-16", dict(max_length=12), dict(length=16)),
]


def utf16_offsets(e, text, pair):
    """Character (code point) offsets as the Python binding reports them -> UTF-16 offsets (JS)."""
    out = []
    for (s, t), seq in zip(e.offsets, e.sequence_ids):
        src = pair if seq == 1 else text
        if seq is None or src is None:
            out.append([s, t])
            continue
        u = lambda k: len(src[:k].encode("utf-16-le")) // 2  # noqa: E731
        out.append([u(s), u(t)])
    return out


def encode_case(tok, text, pair):
    try:
        e = tok.encode(text, pair) if pair is not None else tok.encode(text)
    except Exception as err:  # noqa: BLE001 - the error itself is the expected result
        return {"text": text, "pair": pair, "error": str(err)}
    return {
        "text": text,
        "pair": pair,
        "ids": e.ids,
        "type_ids": e.type_ids,
        "tokens": e.tokens,
        "attention_mask": e.attention_mask,
        "special_tokens_mask": e.special_tokens_mask,
        "offsets": utf16_offsets(e, text, pair),
        "decoded": tok.decode(e.ids, skip_special_tokens=True),
    }


def pair_fixtures():
    for name, base in build().items():
        base_json = base.to_str()
        with open(os.path.join(OUT, f"{name}.tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(base_json)
        variants = []
        for vname, trunc, pad in VARIANTS:
            tok = Tokenizer.from_str(base_json)
            if trunc:
                tok.enable_truncation(**trunc)
            if pad:
                pid = tok.token_to_id("[PAD]") or tok.token_to_id("<pad>") or 0
                ptok = tok.id_to_token(pid)
                tok.enable_padding(pad_id=pid, pad_token=ptok, **pad)
            cases = [encode_case(tok, s, None) for s in SINGLES]
            cases += [encode_case(tok, a, b) for a, b in PAIRS]
            for c in cases:  # the inputs are listed once, in "inputs"
                del c["text"], c["pair"]
                c.pop("tokens", None)
            variants.append(
                {
                    "name": vname,
                    # The tokenizer.json fields exactly as the library writes them for this variant.
                    "truncation": json.loads(tok.to_str())["truncation"],
                    "padding": json.loads(tok.to_str())["padding"],
                    "cases": cases,
                }
            )
        with open(os.path.join(OUT, f"{name}.cases.json"), "w", encoding="utf-8") as f:
            inputs = [[s, None] for s in SINGLES] + [[a, b] for a, b in PAIRS]
            json.dump({"tokenizers": tokenizers.__version__, "inputs": inputs, "variants": variants}, f, ensure_ascii=False, separators=(",", ":"))


def empty_match_fixtures():
    """Split and Replace patterns that match the empty string, and an empty added token."""
    vocab = {c: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz -😀é")}
    vocab["[UNK]"] = len(vocab)
    texts = ["", "abbc bab b", "a😀é b", "bbb", " b "]
    cases = []
    for pat in [r"x*", r"", r"b*", r"(?=b)", r"(?=b)|b", r"\b", r"a|", r"(?<=b)"]:
        for beh in ["isolated", "removed", "merged_with_previous", "merged_with_next", "contiguous"]:
            for invert in [False, True]:
                t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
                t.pre_tokenizer = pre_tokenizers.Split(Regex(pat), beh, invert=invert)
                cases.append({"tokenizer": json.loads(t.to_str()), "encodings": [encode_case(t, s, None) for s in texts]})
    for pat in [Regex(r"x*"), Regex(r"b*"), Regex(r"\b"), ""]:
        t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        t.normalizer = normalizers.Replace(pat, "-")
        t.pre_tokenizer = pre_tokenizers.Split("-", "isolated")
        cases.append({"tokenizer": json.loads(t.to_str()), "encodings": [encode_case(t, s, None) for s in texts]})
    # Byte-level BPE (the fast path) with a Split regex that matches the empty string.
    base = train_bpe_bytelevel()
    for pat in [r"(?=b)", r"\b", r"x*|\p{L}+"]:
        t = Tokenizer.from_str(base.to_str())
        t.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(pat), "isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
        cases.append(
            {"tokenizer": json.loads(t.to_str()), "encodings": [encode_case(t, s, None) for s in texts + [LINES[0]]]}
        )
    # An empty added token (in the file, as some hand-edited files have it): it never matches.
    t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    j = json.loads(t.to_str())
    j["added_tokens"] = [
        {"id": 40, "content": "", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
        {"id": 41, "content": "", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
    ]
    t = Tokenizer.from_str(json.dumps(j))
    cases.append({"tokenizer": j, "encodings": [encode_case(t, s, None) for s in texts]})
    with open(os.path.join(OUT, "empty-match.cases.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers": tokenizers.__version__, "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    pair_fixtures()
    empty_match_fixtures()
