#!/usr/bin/env python3
"""Reference fixtures for @attnkit/transformer's pipeline(), written by the real transformers (5.18).

Three tiny checkpoint folders with seeded random weights and a real tokenizer or image processor,
under packages/transformer/test/fixtures/:
  - pipe-gpt2: GPT2LMHeadModel + a byte-level BPE tokenizer.json trained here on a few sentences
    (adding a BOS before each text, as Llama's do), with a ChatML chat template
    (chat_template.jinja, as transformers 5 writes it).
  - pipe-bert-mlm: BertForMaskedLM + a WordPiece tokenizer.json whose vocabulary is built here
    from the same sentences (BERT's normalizer, pre-tokenizer and [CLS] ... [SEP] template).
  - pipe-bert: BertModel with the same tokenizer (feature extraction; also run on pipe-bert-mlm).
  - pipe-vit: ViTForImageClassification (4 labels in id2label) + preprocessor_config.json
    (ViTImageProcessor: resize to 16x16 bilinear, rescale 1/255, normalise with mean/std 0.5).

transformers' pipeline() outputs for them are written to pipe-refs.json: greedy text generation
(string prompt with and without return_full_text, a chat conversation, a chat ending in an assistant
message (continued, as transformers' continue_final_message), two prompts), fill-mask top-5,
feature-extraction hidden states (and their mean-pooled, L2-normalised and CLS rows, computed here
from the pipeline's output with numpy), and image-classification labels/scores (softmax, and with
function_to_apply='sigmoid') for a 16x16 image (no resize) and a 20x24 image (resized by the
processor).

The script checks that each greedy choice wins by a clear margin (so float32 rounding on another
implementation cannot flip it) and that fill-mask / image-classification scores are distinct.

Needs Pillow beside torch + transformers + tokenizers (transformers' ViTImageProcessor resizes
with it). Run (from the repository root; on the project machine Pillow's wheel is installed into a
folder of its own, leaving the shared venv as it is):
  /work/venv-ref/bin/pip install --no-index --target /work/pillow-site /opt/pypi/files/pillow-12.3.0-*.whl
  PYTHONPATH=/work/pillow-site /work/venv-ref/bin/python packages/transformer/scripts/pipeline_refs.py
Re-running rewrites the folders it owns (pipe-*) and pipe-refs.json and nothing else.
"""
import json
import os
import shutil

import numpy as np
import torch
import transformers
from PIL import Image
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    BertTokenizerFast,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessor,
    pipeline,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
torch.set_grad_enabled(False)

CORPUS = [
    "Hello world, the cat sat on the mat.",
    "The dog ran in the park and the cat slept.",
    "Once upon a time there was a tiny model that liked to write.",
    "A red circle and a blue square sat next to each other.",
    "Hi there! How are you today? I am fine, thank you.",
    "The quick brown fox jumps over the lazy dog.",
]

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def fresh(name):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def gpt2_case(refs):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    # a BOS before every text, as Llama's tokenizers add one: transformers' text-generation pipeline
    # encodes text prompts with the tokenizer's special tokens (chats without: the template has them)
    bos = tok.token_to_id("<|endoftext|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", pair="<|endoftext|> $A $B", special_tokens=[("<|endoftext|>", bos)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHATML
    eos = fast.convert_tokens_to_ids("<|endoftext|>")
    torch.manual_seed(1)
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=96,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
        initializer_range=0.3,
    )
    model = GPT2LMHeadModel(config).eval()
    path = fresh("pipe-gpt2")
    model.save_pretrained(path)
    fast.save_pretrained(path)

    gen = pipeline("text-generation", model=path, device="cpu")
    opts = dict(max_new_tokens=10, do_sample=False)
    # the greedy choices must win clearly: record the smallest top-1 / top-2 logit gap
    def margin(ids):
        out = model.generate(torch.tensor([ids]), max_new_tokens=10, do_sample=False, output_logits=True,
                             return_dict_in_generate=True, pad_token_id=eos)
        gaps = []
        for step in out.logits:
            top = torch.topk(step[0], 2).values
            gaps.append(float(top[0] - top[1]))
        return min(gaps)

    cases = {}
    prompt = "Hello world"
    cases["full"] = {"prompt": prompt, "output": gen(prompt, **opts)}
    cases["new_only"] = {"prompt": prompt, "output": gen(prompt, return_full_text=False, **opts)}
    messages = [{"role": "user", "content": "Hi there!"}]
    cases["chat"] = {"messages": messages, "output": gen(messages, **opts)}
    prefill = [{"role": "user", "content": "Hi there!"}, {"role": "assistant", "content": "Hello"}]
    cases["chat_prefill"] = {"messages": prefill, "output": gen(prefill, **opts)}
    two = ["The cat", "Once upon a time there"]
    cases["batch"] = {"prompts": two, "output": gen(two, **opts)}
    gaps = [margin(fast(p)["input_ids"]) for p in [prompt, *two]]
    gaps.append(margin(fast.apply_chat_template(prefill, continue_final_message=True, tokenize=True,
                                                return_dict=True)["input_ids"]))
    gaps.append(margin(fast.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                return_dict=True)["input_ids"]))
    assert min(gaps) > 1e-2, f"greedy margins too small: {gaps}"
    refs["text-generation"] = {"folder": "pipe-gpt2", "max_new_tokens": 10, "min_margin": min(gaps), "cases": cases}


def bert_tokenizer():
    # The vocabulary is built here, not trained (tokenizers' WordPieceTrainer is not deterministic
    # from run to run): the special tokens, every character alone and as a continuation, the
    # corpus' words of up to 5 letters and a few suffixes, so longer words split into pieces.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pre = pre_tokenizers.BertPreTokenizer()
    norm = normalizers.BertNormalizer(lowercase=True)
    words = sorted({w for text in CORPUS for w, _ in pre.pre_tokenize_str(norm.normalize_str(text))})
    chars = sorted({c for w in words for c in w})
    pieces = chars + ["##" + c for c in chars] + [w for w in words if 1 < len(w) <= 5]
    pieces += ["##ed", "##er", "##ing", "##ly", "##s"]
    vocab = {t: i for i, t in enumerate(specials + sorted(set(pieces) - set(specials), key=pieces.index))}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return BertTokenizerFast(tokenizer_object=tok)


def bert_config(vocab, pad):
    return BertConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=64,
        pad_token_id=pad,
        initializer_range=0.4,
    )


def bert_cases(refs):
    fast = bert_tokenizer()
    pad = fast.pad_token_id
    torch.manual_seed(2)
    mlm = BertForMaskedLM(bert_config(len(fast), pad)).eval()
    path = fresh("pipe-bert-mlm")
    mlm.save_pretrained(path)
    fast.save_pretrained(path)
    fill = pipeline("fill-mask", model=path, device="cpu")
    texts = ["The cat [MASK] on the mat.", "Hello [MASK], how are you?"]
    cases = []
    for t in texts:
        out = fill(t, top_k=6)
        scores = [o["score"] for o in out]
        gaps = [a - b for a, b in zip(scores, scores[1:])]
        assert min(gaps) > 1e-4 * scores[0], f"fill-mask scores too close for {t!r}: {scores}"
        cases.append({"text": t, "top_k": 5, "output": out[:5]})
    refs["fill-mask"] = {"folder": "pipe-bert-mlm", "cases": cases}
    # feature extraction from the masked-LM checkpoint: transformers builds its BertModel (no pooler)
    fe_mlm = pipeline("feature-extraction", model=path, device="cpu")
    text = "The cat sat on the mat."
    refs["feature-extraction-mlm"] = {"folder": "pipe-bert-mlm", "text": text, "hidden": fe_mlm(text)[0]}

    torch.manual_seed(3)
    base = BertModel(bert_config(len(fast), pad)).eval()
    path = fresh("pipe-bert")
    base.save_pretrained(path)
    fast.save_pretrained(path)
    fe = pipeline("feature-extraction", model=path, device="cpu")
    cases = []
    for t in ["The dog ran in the park.", "A red circle"]:
        hidden = np.array(fe(t)[0], dtype=np.float64)  # [S, D]
        mean = hidden.mean(axis=0)
        cases.append(
            {
                "text": t,
                "hidden": hidden.tolist(),
                "mean_normalized": (mean / np.linalg.norm(mean)).tolist(),
                "cls": hidden[0].tolist(),
            }
        )
    refs["feature-extraction"] = {"folder": "pipe-bert", "cases": cases}


def vit_case(refs):
    labels = {0: "cat", 1: "dog", 2: "circle", 3: "square"}
    torch.manual_seed(4)
    config = ViTConfig(
        image_size=16,
        patch_size=4,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        num_labels=4,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        initializer_range=0.4,
    )
    model = ViTForImageClassification(config).eval()
    path = fresh("pipe-vit")
    model.save_pretrained(path)
    proc = ViTImageProcessor(
        do_resize=True,
        size={"height": 16, "width": 16},
        resample=Image.BILINEAR,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    proc.save_pretrained(path)
    clf = pipeline("image-classification", model=path, device="cpu")
    rng = np.random.default_rng(5)
    cases = []
    for h, w in [(16, 16), (20, 24)]:
        # smooth content (a gradient plus a little noise) so resizing differences stay small
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], axis=-1)
        img = np.clip(img + rng.integers(-20, 20, size=img.shape), 0, 255).astype(np.uint8)
        out = clf(Image.fromarray(img, "RGB"), top_k=4)
        sigmoid = clf(Image.fromarray(img, "RGB"), top_k=4, function_to_apply="sigmoid")
        cases.append(
            {
                "height": h,
                "width": w,
                "rgb": img.reshape(-1).tolist(),
                "top_k": 4,
                "output": out,
                "output_sigmoid": sigmoid,
            }
        )
    refs["image-classification"] = {
        "folder": "pipe-vit",
        "image_processor": type(clf.image_processor).__name__,
        "cases": cases,
    }


def main():
    refs = {"transformers": transformers.__version__, "torch": torch.__version__}
    gpt2_case(refs)
    bert_cases(refs)
    vit_case(refs)
    with open(os.path.join(OUT, "pipe-refs.json"), "w") as f:
        json.dump(refs, f, indent=1)
        f.write("\n")
    print(json.dumps({k: v for k, v in refs.items() if k != "feature-extraction"}, indent=1)[:6000])


if __name__ == "__main__":
    main()
