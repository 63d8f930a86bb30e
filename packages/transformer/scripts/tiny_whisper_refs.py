#!/usr/bin/env python3
"""Reference fixture for the embedded tiny Whisper (assets/tiny-whisper/), written by the real transformers (5.18).

The checkpoint is trained by scripts/train-tiny-whisper.mjs (attnkit); this script loads it with
transformers as any Hugging Face Whisper folder and records, for the bundled clip (clip.wav, 16-bit
PCM read as int16 / 32768):
  - the log-mel features of WhisperFeatureExtractor.from_pretrained(folder) [40, 100];
  - pipeline('automatic-speech-recognition') greedy output text, and the generated token ids
    (<|startoftranscript|> first);
  - the decoder's cross-attention weights (output_attentions) of a teacher-forced forward pass over
    the generated tokens: per decoder layer [heads, tokens, encoder positions].

Written to packages/transformer/test/fixtures/tiny-whisper-refs.json.

Run (from the repository root):
  /work/venv-ref/bin/python packages/transformer/scripts/tiny_whisper_refs.py
"""
import json
import os
import wave

import numpy as np
import torch
import transformers
from transformers import (
    AutoTokenizer,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    pipeline,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ASSETS = os.path.join(HERE, "..", "assets", "tiny-whisper")
OUT = os.path.join(HERE, "..", "test", "fixtures", "tiny-whisper-refs.json")
torch.set_grad_enabled(False)


def read_clip():
    with wave.open(os.path.join(ASSETS, "clip.wav"), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == 16000
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return (pcm.astype(np.float32) / 32768).astype(np.float32)


def main():
    audio = read_clip()
    fe = WhisperFeatureExtractor.from_pretrained(ASSETS)
    feats = fe(audio, sampling_rate=16000, return_tensors="np").input_features  # [1, 40, 100]
    model = WhisperForConditionalGeneration.from_pretrained(ASSETS, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(ASSETS)
    asr = pipeline("automatic-speech-recognition", model=model, tokenizer=tok, feature_extractor=fe)
    text = asr(audio.copy(), generate_kwargs={"num_beams": 1})["text"]
    # Whisper's generate returns the new tokens (the prompt, here <|startoftranscript|>, stripped)
    ids = [model.config.decoder_start_token_id] + model.generate(torch.from_numpy(feats), num_beams=1).tolist()[0]
    out = model(
        input_features=torch.from_numpy(feats),
        decoder_input_ids=torch.tensor([ids]),
        output_attentions=True,
    )
    cross = [a[0].numpy().astype(float).tolist() for a in out.cross_attentions]
    with open(os.path.join(ASSETS, "training.json")) as f:
        said = json.load(f)["clip"]["said"]
    assert text == said, f"transformers hears {text!r}, the clip says {said!r}"
    ref = {
        "transformers": transformers.__version__,
        "samples": int(audio.size),
        "inputFeatures": {"shape": list(feats.shape), "data": feats.reshape(-1).astype(float).tolist()},
        "text": text,
        "sequence": ids,
        "crossAttentions": cross,
    }
    with open(OUT, "w") as f:
        json.dump(ref, f)
        f.write("\n")
    print("wrote", OUT, "text", repr(text), "ids", ids)


if __name__ == "__main__":
    main()
