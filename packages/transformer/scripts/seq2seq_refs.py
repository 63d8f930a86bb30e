#!/usr/bin/env python3
"""Encoder-decoder reference fixtures (T5, BART) written by the real Hugging Face transformers (5.18).

Every case is a folder under packages/transformer/test/fixtures/<case>/ that save_pretrained wrote
(config.json, generation_config.json, model.safetensors) for a tiny model with seeded random
weights, plus the inputs and transformers' outputs as little-endian .f32/.i32 arrays listed in
meta.json (an entry {"file", "shape"} is an array), as scripts/hf_refs.py writes them.

Cases:
  - 'seq2seq-t5-relu': original T5 (ReLU feed-forward, head tied to the shared embedding with the
    d_model ** -0.5 rescale), 3 encoder layers against 2 decoder layers.
  - 'seq2seq-t5-gated-untied': T5 v1.1 / Flan-T5 (gated-GELU feed-forward, untied lm_head, no rescale),
    written as Flan-T5 checkpoints are: `tie_word_embeddings: false` and lm_head.weight stored.
  - 'seq2seq-t5-encoder': T5EncoderModel (gated-GELU).
  - 'seq2seq-bart': BartForConditionalGeneration (scale_embedding, forced_bos_token_id,
    forced_eos_token_id, a random final_logits_bias).
  - 'seq2seq-bart-model': BartModel (the bare encoder-decoder, decoder hidden states).
  - 'seq2seq-whisper-features-80' / '-128': WhisperFeatureExtractor's log-mel features of a
    deterministic 1.7 s signal (padded to 30 s) and a 31 s one (trimmed), 80 and 128 mel bins: its
    preprocessor_config.json and slices of the [1, mels, 3000] features (first / last frames).
  - 'seq2seq-whisper': WhisperForConditionalGeneration on random log-mel features (16 mel bins, 30
    frames): logits, encoder output, the encoder's initial sinusoids, and transformers' generic
    generate() from a 3-token decoder prompt (greedy, beam) with suppress_tokens and
    begin_suppress_tokens in generation_config.json.
  - 'seq2seq-whisper-tokenizer': a byte-level BPE tokenizer.json with Whisper's special tokens in
    Whisper's order, and WhisperTokenizerFast's prefix_tokens for several languages / tasks /
    timestamp settings, an encoding with the prefix and its decodes.
  For each: a right-padded encoder batch of two with its attention mask; decoder inputs (T5: the
  start token then random ids; BART: labels, from which transformers builds the decoder inputs with
  shift_tokens_right); logits (or last_hidden_state) and the encoder's last hidden state; for the
  conditional-generation models transformers' generate() sequences, greedy and beam search (3 beams),
  for the padded batch and for its second row alone (unpadded), and T5's beam search stopped at
  every length from 1 to 8 new tokens. The EOS logit is made likelier and
  the seed chosen so that in each batched run one row ends early and the other runs on (finished
  rows padded, beams finishing at different steps), with no near-ties in greedy decoding.

Run (from the repository root):
  /work/venv-ref/bin/python packages/transformer/scripts/seq2seq_refs.py
Re-running rewrites the folders it owns and nothing else.
"""
import json
import os
import shutil
import zlib

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BartModel,
    GenerationConfig,
    T5Config,
    T5EncoderModel,
    T5ForConditionalGeneration,
    WhisperFeatureExtractor,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
torch.set_grad_enabled(False)

V = 64
NEW_TOKENS = 8
BEAMS = 3
ATTEMPTS = 300
EOS_BOOST = 1.6


def seed_for(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def save_arr(d, name, t):
    t = torch.as_tensor(t).detach()
    if t.dtype.is_floating_point:
        t.to(torch.float32).contiguous().numpy().astype("<f4").tofile(os.path.join(d, name + ".f32"))
        return {"file": name + ".f32", "shape": list(t.shape)}
    t.to(torch.int32).contiguous().numpy().astype("<i4").tofile(os.path.join(d, name + ".i32"))
    return {"file": name + ".i32", "shape": list(t.shape)}


def write_meta(d, meta):
    with open(os.path.join(d, "meta.json"), "w") as f:
        f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in meta.items()) + "\n}\n")


def reset(d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)


def randomize(model, gen, scale=0.2):
    """Seeded weights large enough that logits are well separated."""
    for name, p in model.named_parameters():
        last = name.split(".")
        if "layer_norm" in name or "layernorm" in name:
            p.copy_((1 + torch.randn(p.shape, generator=gen) * 0.1) if last[-1] == "weight"
                    else torch.randn(p.shape, generator=gen) * 0.1)
        elif name.endswith(".bias"):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
        elif "relative_attention_bias" in name:
            p.copy_(torch.randn(p.shape, generator=gen) * 1.0)
        elif "shared" in name or "embed" in name:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        else:
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    if hasattr(model, "final_logits_bias"):
        model.final_logits_bias.copy_(torch.randn(model.final_logits_bias.shape, generator=gen) * 0.5)


def right_padded(gen, lo, pad, b=2, seq=9, pads=(0, 3)):
    ids = torch.randint(lo, V, (b, seq), generator=gen)
    am = torch.ones(b, seq, dtype=torch.long)
    for i, p in enumerate(pads):
        if p:
            am[i, seq - p:] = 0
    return ids.masked_fill(am == 0, pad), am


def min_margin(scores):
    """Smallest gap between the best and second-best score over generate()'s steps (near-ties flip)."""
    m = float("inf")
    for s in scores:
        top = torch.topk(s.float(), 2, dim=-1).values
        fin = torch.isfinite(top).all(-1)
        if fin.any():
            m = min(m, float((top[fin, 0] - top[fin, 1]).min()))
    return m


def ends_early(runs, eos):
    """Some row of the batched runs emits EOS before the last step while another keeps going."""
    for key in ("greedy_batch", "beam_batch"):
        seqs = runs[key]
        early = [(r[1:-1] == eos).any().item() for r in seqs]
        if not (any(early) and not all(early)):
            return False
    return True


def generations(model, ids, am, pad):
    """generate() greedy and beam, on the padded batch and on row 1 alone (its real tokens)."""
    real = int(am[1].sum())
    runs = {}
    ok = True
    for tag, beams in (("greedy", 1), ("beam", BEAMS)):
        for which, (p_ids, p_am) in {"single": (ids[1:2, :real], am[1:2, :real]), "batch": (ids, am)}.items():
            g = model.generate(input_ids=p_ids, attention_mask=p_am, max_new_tokens=NEW_TOKENS, do_sample=False,
                               num_beams=beams, output_scores=True, return_dict_in_generate=True)
            if beams == 1 and min_margin(g.scores) < 2e-3:
                ok = False
            runs[f"{tag}_{which}"] = g.sequences
    return ok, runs


T5_TINY = dict(vocab_size=V, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4,
               relative_attention_num_buckets=8, relative_attention_max_distance=16, dropout_rate=0.0,
               decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)


def t5_case(name, cfg_kwargs, untied=False):
    for attempt in range(ATTEMPTS):
        seed = seed_for(name) + attempt
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        config = T5Config(**dict(T5_TINY, **cfg_kwargs))
        model = T5ForConditionalGeneration(config).eval()
        randomize(model, gen)
        if untied:
            # a separate head, as Flan-T5 checkpoints store it
            model.lm_head.weight = torch.nn.Parameter(torch.randn(V, config.d_model, generator=gen) * 0.2)
        # a likelier EOS, so that generate() finishes some rows early (the eos id is never an input)
        head = model.lm_head.weight if untied else model.shared.weight
        head[config.eos_token_id].mul_(EOS_BOOST)
        ids, am = right_padded(gen, 2, 0)
        dec = torch.randint(2, V, (2, 6), generator=gen)
        dec[:, 0] = 0
        d = os.path.join(OUT, name)
        reset(d)
        model.save_pretrained(d)
        if untied:
            cfg = json.load(open(os.path.join(d, "config.json")))
            cfg.pop("scale_decoder_outputs", None)
            cfg["tie_word_embeddings"] = False
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f, indent=2, sort_keys=True)
            state = load_file(os.path.join(d, "model.safetensors"))
            state["lm_head.weight"] = model.lm_head.weight.detach().clone()
            save_file(state, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        # the outputs of the folder as transformers loads it
        model = T5ForConditionalGeneration.from_pretrained(d).eval()
        if untied:
            assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
            assert not model.config.scale_decoder_outputs
        out = model(input_ids=ids, attention_mask=am, decoder_input_ids=dec)
        ok, runs = generations(model, ids, am, 0)
        if ok and ends_early(runs, config.eos_token_id):
            break
    else:
        raise SystemExit(f"{name}: no seed without near-ties")
    # beam search stopped at every length from 1 to NEW_TOKENS (the last step finishes the top beams)
    lengths = {}
    for n in range(1, NEW_TOKENS + 1):
        lengths[f"beam_batch_{n}"] = model.generate(input_ids=ids, attention_mask=am, max_new_tokens=n, do_sample=False,
                                                    num_beams=BEAMS)
    meta = {"model": "t5", "architecture": "T5ForConditionalGeneration", "transformers": transformers.__version__,
            "seed": seed, "input_ids": save_arr(d, "input_ids", ids), "attention_mask": save_arr(d, "attention_mask", am),
            "decoder_input_ids": save_arr(d, "decoder_input_ids", dec), "logits": save_arr(d, "logits", out.logits),
            "encoder_last_hidden_state": save_arr(d, "encoder_last_hidden_state", out.encoder_last_hidden_state),
            "max_new_tokens": NEW_TOKENS, "num_beams": BEAMS}
    for key, seqs in runs.items():
        meta[key] = save_arr(d, key, seqs)
    for key, seqs in lengths.items():
        meta[key] = save_arr(d, key, seqs)
    write_meta(d, meta)
    print(name, "seed", seed)


def t5_encoder_case(name, cfg_kwargs):
    seed = seed_for(name)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = T5EncoderModel(T5Config(**dict(T5_TINY, **cfg_kwargs))).eval()
    randomize(model, gen)
    ids, am = right_padded(gen, 2, 0, seq=11, pads=(0, 4))
    d = os.path.join(OUT, name)
    reset(d)
    model.save_pretrained(d)
    model = T5EncoderModel.from_pretrained(d).eval()
    out = model(input_ids=ids, attention_mask=am)
    write_meta(d, {"model": "t5-encoder", "architecture": "T5EncoderModel", "transformers": transformers.__version__,
                   "seed": seed, "input_ids": save_arr(d, "input_ids", ids),
                   "attention_mask": save_arr(d, "attention_mask", am),
                   "last_hidden_state": save_arr(d, "last_hidden_state", out.last_hidden_state)})
    print(name, "seed", seed)


BART_TINY = dict(vocab_size=V, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                 decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48, max_position_embeddings=32,
                 dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, pad_token_id=1, bos_token_id=0,
                 eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=2)


def bart_case(name, cls, cfg_kwargs, generation=True):
    for attempt in range(ATTEMPTS):
        seed = seed_for(name) + attempt
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        config = BartConfig(**dict(BART_TINY, **cfg_kwargs))
        model = cls(config).eval()
        randomize(model, gen)
        if generation:
            model.final_logits_bias[0, 2] += 1.0  # a likelier EOS: some rows finish before forced_eos
        ids, am = right_padded(gen, 3, 1)
        ids[:, 0] = 0  # <s>
        labels = torch.randint(3, V, (2, 6), generator=gen)
        labels[1, 4:] = -100  # ignored label positions become pads in the decoder inputs
        d = os.path.join(OUT, name)
        reset(d)
        if generation:
            model.generation_config = GenerationConfig(
                bos_token_id=0, eos_token_id=2, pad_token_id=1, decoder_start_token_id=2,
                forced_bos_token_id=cfg_kwargs.get("forced_bos_token_id"), forced_eos_token_id=2)
        model.save_pretrained(d)
        model = cls.from_pretrained(d).eval()
        from transformers.models.bart.modeling_bart import shift_tokens_right
        dec = shift_tokens_right(labels, 1, 2)
        out = model(input_ids=ids, attention_mask=am, decoder_input_ids=dec)
        ok, runs = generations(model, ids, am, 1) if generation else (True, {})
        if ok and (not generation or ends_early(runs, 2)):
            break
    else:
        raise SystemExit(f"{name}: no seed without near-ties")
    meta = {"model": "bart" if generation else "bart-model", "architecture": cls.__name__,
            "transformers": transformers.__version__, "seed": seed, "input_ids": save_arr(d, "input_ids", ids),
            "attention_mask": save_arr(d, "attention_mask", am), "labels": save_arr(d, "labels", labels),
            "decoder_input_ids": save_arr(d, "decoder_input_ids", dec),
            "encoder_last_hidden_state": save_arr(d, "encoder_last_hidden_state", out.encoder_last_hidden_state)}
    # what transformers generates with when a folder has no generation_config.json
    derived = GenerationConfig.from_model_config(model.config).to_diff_dict()
    meta["generation_from_config"] = {k: v for k, v in derived.items()
                                      if k.endswith("token_id") and v is not None}
    if generation:
        meta["logits"] = save_arr(d, "logits", out.logits)
        meta["max_new_tokens"] = NEW_TOKENS
        meta["num_beams"] = BEAMS
        for key, seqs in runs.items():
            meta[key] = save_arr(d, key, seqs)
    else:
        meta["last_hidden_state"] = save_arr(d, "last_hidden_state", out.last_hidden_state)
    write_meta(d, meta)
    print(name, "seed", seed)


def test_waveform(seconds, sr=16000):
    """A deterministic test signal (tone, chirp, pseudo-noise), float64 then float32: test/whisper-features.test.ts makes the same."""
    i = np.arange(int(seconds * sr), dtype=np.float64)
    t = i / sr
    x = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * (300 + 1500 * t) * t) + 0.1 * np.sin(0.37 * i * i)
    return x.astype(np.float32)


def whisper_features_case(name, feature_size, seconds, frames=(0, 160)):
    """WhisperFeatureExtractor: preprocessor_config.json and slices of the log-mel features (frames kept small)."""
    fe = WhisperFeatureExtractor(feature_size=feature_size)
    d = os.path.join(OUT, name)
    reset(d)
    fe.save_pretrained(d)
    feats = torch.from_numpy(fe(test_waveform(seconds), sampling_rate=16000, return_tensors="np").input_features)
    a, b = frames
    write_meta(d, {"model": "whisper-features", "transformers": transformers.__version__, "seconds": seconds,
                   "feature_size": feature_size, "shape": list(feats.shape), "frames": [a, b],
                   "head": save_arr(d, "head", feats[:, :, a:b]), "tail": save_arr(d, "tail", feats[:, :, -4:])})
    print(name, list(feats.shape))


WHISPER_TINY = dict(vocab_size=V, num_mel_bins=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                    decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48, d_model=32,
                    max_source_positions=15, max_target_positions=24, pad_token_id=60, bos_token_id=60,
                    eos_token_id=60, decoder_start_token_id=61, begin_suppress_tokens=None, suppress_tokens=None)
WHISPER_PROMPT = [61, 62, 63]  # <|startoftranscript|>, a language, a task


def whisper_case(name):
    """WhisperForConditionalGeneration on random log-mel features; generate() with a decoder prompt."""
    from transformers import GenerationMixin, WhisperConfig, WhisperForConditionalGeneration
    for attempt in range(ATTEMPTS):
        seed = seed_for(name) + attempt
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        config = WhisperConfig(**WHISPER_TINY)
        model = WhisperForConditionalGeneration(config).eval()
        sinus = model.model.encoder.embed_positions.weight.detach().clone()
        randomize(model, gen)
        model.model.decoder.embed_tokens.weight[config.eos_token_id].mul_(EOS_BOOST)
        feats = torch.randn(2, config.num_mel_bins, 2 * config.max_source_positions, generator=gen)
        dec = torch.randint(0, 60, (2, 7), generator=gen)
        dec[:, :3] = torch.tensor(WHISPER_PROMPT)
        d = os.path.join(OUT, name)
        reset(d)
        # Whisper's suppress_tokens / begin_suppress_tokens (here: the start token never again, no EOS
        # or token 0 first), which generate() applies from generation_config.json
        model.generation_config = GenerationConfig(decoder_start_token_id=61, eos_token_id=60, pad_token_id=60,
                                                   bos_token_id=60, suppress_tokens=[61],
                                                   begin_suppress_tokens=[60, 0])
        model.save_pretrained(d)
        model = WhisperForConditionalGeneration.from_pretrained(d).eval()
        out = model(input_features=feats, decoder_input_ids=dec)
        runs = {}
        ok = True
        prompt = torch.tensor([WHISPER_PROMPT] * 2)
        for tag, beams in (("greedy", 1), ("beam", BEAMS)):
            # the generic generate (Whisper's own adds timestamp and language logic on top)
            g = GenerationMixin.generate(model, input_features=feats, decoder_input_ids=prompt, max_new_tokens=NEW_TOKENS,
                                         do_sample=False, num_beams=beams, output_scores=True,
                                         return_dict_in_generate=True)
            if beams == 1 and min_margin(g.scores) < 2e-3:
                ok = False
            runs[f"{tag}_batch"] = g.sequences
        # the suppressed tokens must change the greedy result (else the test could not see them)
        saved = model.generation_config
        model.generation_config = GenerationConfig(decoder_start_token_id=61, eos_token_id=60, pad_token_id=60,
                                                   bos_token_id=60)
        plain = GenerationMixin.generate(model, input_features=feats, decoder_input_ids=prompt,
                                         max_new_tokens=NEW_TOKENS, do_sample=False)
        model.generation_config = saved
        matters = not torch.equal(plain, runs["greedy_batch"])
        if ok and matters and ends_early(runs, 60):
            break
    else:
        raise SystemExit(f"{name}: no seed without near-ties")
    meta = {"model": "whisper", "architecture": "WhisperForConditionalGeneration",
            "transformers": transformers.__version__, "seed": seed,
            "input_features": save_arr(d, "input_features", feats),
            "decoder_input_ids": save_arr(d, "decoder_input_ids", dec), "logits": save_arr(d, "logits", out.logits),
            "encoder_last_hidden_state": save_arr(d, "encoder_last_hidden_state", out.encoder_last_hidden_state),
            "sinusoids": save_arr(d, "sinusoids", sinus), "decoder_prompt": WHISPER_PROMPT,
            "max_new_tokens": NEW_TOKENS, "num_beams": BEAMS}
    for key, seqs in runs.items():
        meta[key] = save_arr(d, key, seqs)
    write_meta(d, meta)
    print(name, "seed", seed)


def whisper_tokenizer_case(name):
    """A Whisper-style tokenizer.json (byte-level BPE, Whisper's special tokens in Whisper's order) and
    transformers' WhisperTokenizerFast prefix_tokens for several languages and tasks, and decodes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import WhisperTokenizerFast
    from transformers.models.whisper.tokenization_whisper import LANGUAGES
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["the quick brown fox jumps over the lazy dog"] * 20, trainer)
    specials = (["<|startoftranscript|>"] + [f"<|{c}|>" for c in LANGUAGES]
                + ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
                   "<|notimestamps|>"])
    tok.add_special_tokens(specials)
    d = os.path.join(OUT, name)
    reset(d)
    tok.save(os.path.join(d, "tokenizer.json"))
    def fresh():  # set_prefix_tokens keeps earlier settings for arguments left None: a new one per case
        return WhisperTokenizerFast(tokenizer_file=os.path.join(d, "tokenizer.json"), bos_token="<|endoftext|>",
                                    eos_token="<|endoftext|>", unk_token="<|endoftext|>", pad_token="<|endoftext|>")
    cases = []
    for language, task, timestamps in (("en", "transcribe", False), ("english", "translate", False),
                                       ("de", "transcribe", True), ("Mandarin", None, False), (None, None, False),
                                       ("yue", "translate", True)):
        t = fresh()
        t.set_prefix_tokens(language=language, task=task, predict_timestamps=timestamps)
        cases.append({"language": language, "task": task, "timestamps": timestamps, "prefix": t.prefix_tokens})
    t = fresh()
    t.set_prefix_tokens(language="en", task="transcribe", predict_timestamps=False)
    ids = t("the lazy fox").input_ids
    t.save_pretrained(d)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"model": "whisper-tokenizer", "transformers": transformers.__version__, "prompts": cases,
                   "encoded": ids, "decoded": t.decode(ids), "decoded_skip": t.decode(ids, skip_special_tokens=True)},
                  f, indent=1)
    print(name, ids)


def main():
    t5_case("seq2seq-t5-relu", dict(feed_forward_proj="relu", num_layers=3, num_decoder_layers=2))
    t5_case("seq2seq-t5-gated-untied", dict(feed_forward_proj="gated-gelu", tie_word_embeddings=False), untied=True)
    t5_encoder_case("seq2seq-t5-encoder", dict(feed_forward_proj="gated-gelu"))
    bart_case("seq2seq-bart", BartForConditionalGeneration, dict(scale_embedding=True, forced_bos_token_id=0))
    bart_case("seq2seq-bart-model", BartModel, dict(scale_embedding=False), generation=False)
    whisper_features_case("seq2seq-whisper-features-80", 80, 1.7)
    whisper_features_case("seq2seq-whisper-features-128", 128, 31.0, frames=(2900, 3000))
    whisper_case("seq2seq-whisper")
    whisper_tokenizer_case("seq2seq-whisper-tokenizer")
    print("transformers", transformers.__version__, "torch", torch.__version__, "->", os.path.abspath(OUT))


if __name__ == "__main__":
    main()
