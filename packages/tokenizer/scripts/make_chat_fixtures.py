"""Fixtures for AutoTokenizer and applyChatTemplate (issue 16).

For each chat template in scripts/chat_templates.json (the templates that Llama 3, Llama 3.1,
Mistral 7B Instruct v0.2 / v0.3, Qwen2, Qwen2.5 and Gemma 2 ship in tokenizer_config.json, as
collected in huggingface.js's tests), builds a tiny byte-level BPE tokenizer with the model's
special tokens, wraps it in transformers' PreTrainedTokenizerFast with the template and the
model's special tokens, and save_pretrained()s it to test/fixtures/chat/<name>/ (tokenizer.json,
tokenizer_config.json and, where transformers writes it, special_tokens_map.json). Then records
transformers' apply_chat_template(..., tokenize=False) strings and tokenize=True ids for several
conversations, with and without add_generation_prompt and tools, and tokenizer(text) /
decode(ids, skip_special_tokens=True) for a few texts, into <name>/cases.json.

Run from the repository root:
  python3 -m venv .venv-ref && .venv-ref/bin/pip install --no-index --find-links <wheel dirs> transformers tokenizers jinja2
  .venv-ref/bin/python packages/tokenizer/scripts/make_chat_fixtures.py
"""

import json
import os

import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "chat")
CORPUS = open(os.path.join(HERE, "..", "test", "fixtures", "corpus.txt"), encoding="utf-8").read()
TEMPLATES = json.load(open(os.path.join(HERE, "chat_templates.json"), encoding="utf-8"))

# Special tokens (named ones as transformers passes them to the template) and extra tokens.
MODELS = {
    "llama3": dict(
        named={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
        extra=["<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>"],
        config={"model_max_length": 8192, "clean_up_tokenization_spaces": True},
    ),
    "llama3.1": dict(
        named={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
        extra=["<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|python_tag|>", "<|eom_id|>"],
        config={"model_max_length": 131072, "clean_up_tokenization_spaces": True},
    ),
    "mistral": dict(
        named={"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
        extra=[],
        config={"model_max_length": 32768, "clean_up_tokenization_spaces": False},
    ),
    "mistral-v0.3": dict(
        named={"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
        extra=["[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]"],
        config={"model_max_length": 32768, "clean_up_tokenization_spaces": False},
    ),
    "qwen2": dict(
        named={"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
        extra=["<|im_start|>"],
        config={"model_max_length": 32768, "clean_up_tokenization_spaces": False, "padding_side": "left"},
    ),
    "qwen2.5": dict(
        named={"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
        extra=["<|im_start|>", "<tool_call>", "</tool_call>"],
        config={"model_max_length": 131072, "clean_up_tokenization_spaces": False, "padding_side": "right"},
    ),
    "gemma": dict(
        named={"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"},
        extra=["<start_of_turn>", "<end_of_turn>"],
        config={"model_max_length": 1000000000000000019884624838656, "clean_up_tokenization_spaces": False, "padding_side": "left"},
    ),
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city, e.g. Oslo"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        },
    }
]

CHATS = {
    "single": [{"role": "user", "content": "Hello, how are you?"}],
    "multi": [
        {"role": "user", "content": "Hello, how are you?"},
        {"role": "assistant", "content": "I'm doing great. How can I help you today?"},
        {"role": "user", "content": "  Show me  how chat templating works! 東京 😀\n"},
    ],
    "system": [
        {"role": "system", "content": "You are a friendly chatbot who always responds like a pirate."},
        {"role": "user", "content": "Hi there"},
    ],
    "bad-order": [{"role": "assistant", "content": "I speak first"}, {"role": "user", "content": "ok"}],
    "tool-call": [
        {"role": "user", "content": "What's the weather like in Oslo?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"type": "function", "id": "abcdef123", "function": {"name": "get_current_weather", "arguments": {"location": "Oslo"}}}
            ],
        },
        {"role": "tool", "content": "{\"temperature\": 12}", "tool_call_id": "abcdef123", "name": "get_current_weather"},
    ],
}


def tiny_tokenizer(specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = [l for l in CORPUS.split("\n") if l.strip()]
    tok.train_from_iterator(lines * 3, trainer)
    return tok


# These folders use the transformers 4 layout: chat_template inside tokenizer_config.json, the
# special tokens also in special_tokens_map.json, added_tokens_decoder.
V4_LAYOUT = ("llama3", "mistral", "qwen2", "gemma")


def to_v4_layout(folder, name, spec):
    tok = json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))
    cfg = json.load(open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8"))
    template = open(os.path.join(folder, "chat_template.jinja"), encoding="utf-8").read()
    os.remove(os.path.join(folder, "chat_template.jinja"))
    v4 = {
        "added_tokens_decoder": {
            str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
            for t in tok["added_tokens"]
        },
        "additional_special_tokens": spec["extra"],
        "chat_template": template,
        "clean_up_tokenization_spaces": cfg["clean_up_tokenization_spaces"],
        "model_max_length": cfg["model_max_length"],
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    if "padding_side" in cfg:
        v4["padding_side"] = cfg["padding_side"]
    named = spec["named"]
    v4.update(named)
    json.dump(v4, open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=2)
    stm = dict(named)
    stm["additional_special_tokens"] = spec["extra"]
    json.dump(stm, open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=2)


def record(fn):
    try:
        return {"value": fn()}
    except Exception as err:  # noqa: BLE001 - the template's own exception is the expected result
        return {"error": str(err)}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, spec in MODELS.items():
        specials = list(dict.fromkeys(list(spec["named"].values()) + spec["extra"]))
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tiny_tokenizer(specials),
            chat_template=TEMPLATES[name]["template"],
            extra_special_tokens=spec["extra"],
            **spec["named"],
            **spec["config"],
        )
        folder = os.path.join(OUT, name)
        fast.save_pretrained(folder)
        if name in V4_LAYOUT:
            to_v4_layout(folder, name, spec)
        # Record what transformers does with the files as committed.
        fast = AutoTokenizer.from_pretrained(folder)
        cases = []
        for chat_name, chat in CHATS.items():
            for gen in (False, True):
                for tools in (None, TOOLS):
                    if tools and name in ("llama3", "mistral", "qwen2", "gemma"):
                        continue  # these templates ignore tools
                    if chat_name == "tool-call" and not tools:
                        continue
                    text = record(
                        lambda: fast.apply_chat_template(chat, tools=tools, add_generation_prompt=gen, tokenize=False)
                    )
                    ids = record(
                        lambda: list(
                            fast.apply_chat_template(chat, tools=tools, add_generation_prompt=gen, tokenize=True, return_dict=True)["input_ids"]
                        )
                    )
                    cases.append(
                        {"chat": chat_name, "add_generation_prompt": gen, "tools": tools is not None, "text": text, "ids": ids}
                    )
        texts = ["Hello world", "  spaced  out , text . ", "naïve café 東京 😀"]
        encodings = []
        config = {k: getattr(fast, k) for k in ("model_max_length", "padding_side", "clean_up_tokenization_spaces")}
        config.update(fast.special_tokens_map)
        for t in texts:
            ids = fast(t)["input_ids"]
            encodings.append({"text": t, "ids": ids, "decoded": fast.decode(ids, skip_special_tokens=True), "decoded_all": fast.decode(ids)})
        with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
            json.dump(
                {
                    "transformers": transformers.__version__,
                    "source": TEMPLATES[name]["source"],
                    "chats": CHATS,
                    "tools": TOOLS,
                    "cases": cases,
                    "encodings": encodings,
                    "config": config,
                },
                f,
                ensure_ascii=False,
                separators=(",", ":"),
            )
        print(name, sorted(os.listdir(folder)))


if __name__ == "__main__":
    main()
