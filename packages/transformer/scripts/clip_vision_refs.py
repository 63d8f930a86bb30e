#!/usr/bin/env python3
"""Reference fixtures for CLIP's image side in @attnkit/transformer, written by the real transformers (5.18).

Every case is a folder under packages/transformer/test/fixtures/<case>/ in the format of hf_refs.py: what
save_pretrained wrote (config.json + model.safetensors, or preprocessor_config.json for the image processor)
plus inputs and transformers' outputs as little-endian .f32/.i32 arrays listed in meta.json.

Cases:
(Folder names start with 'hfclip-': hf_refs.py's 'hf-' folders and clip_gen_refs.py's 'clip-' folders are theirs.)
  - 'hfclip-vision': CLIPVisionModel (quick_gelu), pixel_values -> last_hidden_state, pooler_output.
  - 'hfclip-vision-proj': CLIPVisionModelWithProjection (gelu), also image_embeds.
  - 'hfclip-model': CLIPModel (both towers, projections, logit_scale) on 3 padded texts and 3 images:
    logits_per_image, logits_per_text, text_embeds, image_embeds (normalised), the contrastive loss of
    CLIPModel(return_loss=True), and the gradients of that loss with respect to logit_scale, both projections
    and the vision tower's class embedding (loss.backward()).
  - 'hfclip-image-processor-down' / 'hfclip-image-processor-up': CLIPImageProcessor (the PIL backend: resize of
    the shortest edge with PIL's bicubic filter in uint8, centre crop, rescale 1/255, normalise) on a seeded
    uint8 RGB image [H, W, 3], one shrunk with CLIP's mean/std and one enlarged with a non-square crop and its
    own mean/std; preprocessor_config.json as save_pretrained writes it, pixel_values [1, 3, h, w].

Run (from the repository root; PIL from the machine's wheels):
  PYTHONPATH=/work/pillow-site /work/venv-ref/bin/python packages/transformer/scripts/clip_vision_refs.py
Re-running rewrites the folders it owns (CASES) and nothing else.
"""
import json
import os
import shutil
import zlib

import numpy as np
import torch
import transformers
from PIL import Image
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    CLIPVisionModelWithProjection,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")


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


@torch.no_grad()
def randomize(model, gen, scale=0.2):
    """Seeded weights large enough that outputs are well separated (norms near 1, small biases)."""
    for name, p in model.named_parameters():
        if name == "logit_scale":
            p.fill_(2.3)
        elif "norm" in name and name.endswith(".weight"):
            p.copy_(1 + torch.randn(p.shape, generator=gen) * 0.1)
        elif name.endswith(".bias"):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
        elif "embedding" in name:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        else:
            p.copy_(torch.randn(p.shape, generator=gen) * scale)


VISION = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, image_size=16,
              patch_size=4, num_channels=3, layer_norm_eps=1e-5)
TEXT = dict(vocab_size=64, hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=2,
            max_position_embeddings=12, eos_token_id=63, bos_token_id=62, pad_token_id=0)


def vision_case(name, cls, cfg_kwargs, batch=2):
    seed = seed_for(name)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = cls(CLIPVisionConfig(**cfg_kwargs)).eval()
    randomize(model, gen)
    c = model.config
    px = torch.randn(batch, c.num_channels, c.image_size, c.image_size, generator=gen)
    with torch.no_grad():
        out = model(pixel_values=px)
    d = os.path.join(OUT, name)
    reset(d)
    model.save_pretrained(d)
    meta = {"model": "clip-vision", "architecture": cls.__name__, "transformers": transformers.__version__,
            "pixel_values": save_arr(d, "pixel_values", px),
            "last_hidden_state": save_arr(d, "last_hidden_state", out.last_hidden_state)}
    if cls is CLIPVisionModelWithProjection:
        meta["image_embeds"] = save_arr(d, "image_embeds", out.image_embeds)
    else:
        meta["pooler_output"] = save_arr(d, "pooler_output", out.pooler_output)
    write_meta(d, meta)
    print(name, "seed", seed)


def clip_model_case(name):
    seed = seed_for(name)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    config = CLIPConfig(text_config=TEXT, vision_config=dict(VISION, hidden_act="quick_gelu"), projection_dim=16)
    model = CLIPModel(config).eval()
    randomize(model, gen)
    # three texts, right-padded with pad id 0 behind <|endoftext|> (63), and three images
    ids = torch.tensor([[62, 5, 9, 63, 0, 0, 0], [62, 17, 40, 33, 8, 21, 63], [62, 3, 63, 0, 0, 0, 0]])
    am = (ids != 0).long()
    px = torch.randn(3, 3, 16, 16, generator=gen)
    out = model(input_ids=ids, attention_mask=am, pixel_values=px, return_loss=True)
    out.loss.backward()
    d = os.path.join(OUT, name)
    reset(d)
    model.save_pretrained(d)
    grads = {n: p.grad for n, p in model.named_parameters()}
    write_meta(d, {"model": "clip-model", "architecture": "CLIPModel", "transformers": transformers.__version__,
                   "input_ids": save_arr(d, "input_ids", ids),
                   "attention_mask": save_arr(d, "attention_mask", am),
                   "pixel_values": save_arr(d, "pixel_values", px),
                   "logits_per_image": save_arr(d, "logits_per_image", out.logits_per_image),
                   "logits_per_text": save_arr(d, "logits_per_text", out.logits_per_text),
                   "text_embeds": save_arr(d, "text_embeds", out.text_embeds),
                   "image_embeds": save_arr(d, "image_embeds", out.image_embeds),
                   "loss": save_arr(d, "loss", out.loss.reshape(1)),
                   "grad_logit_scale": save_arr(d, "grad_logit_scale", grads["logit_scale"].reshape(1)),
                   "grad_visual_projection": save_arr(d, "grad_visual_projection", grads["visual_projection.weight"]),
                   "grad_text_projection": save_arr(d, "grad_text_projection", grads["text_projection.weight"]),
                   "grad_class_embedding": save_arr(d, "grad_class_embedding",
                                                    grads["vision_model.embeddings.class_embedding"])})
    print(name, "seed", seed, "loss", float(out.loss))


def processor_case(name, hw, proc_kwargs):
    seed = seed_for(name)
    rng = np.random.default_rng(seed)
    h, w = hw
    # a smooth pattern plus noise, so that the resampling filter matters, over the full 0..255 range
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 110 * np.sin(xx / 3.0 + c) * np.cos(yy / 4.0 - c) for c in range(3)], -1)
    img = np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).round().astype(np.uint8)
    img[0, 0] = [0, 255, 0]  # saturated corner
    proc = CLIPImageProcessor(**proc_kwargs)
    out = proc(images=Image.fromarray(img, "RGB"), return_tensors="pt")
    d = os.path.join(OUT, name)
    reset(d)
    proc.save_pretrained(d)
    write_meta(d, {"model": "clip-image-processor", "processor": type(proc).__name__,
                   "transformers": transformers.__version__,
                   "image": save_arr(d, "image", torch.from_numpy(img.astype(np.int32))),
                   "pixel_values": save_arr(d, "pixel_values", out["pixel_values"])})
    print(name, "seed", seed, type(proc).__name__, tuple(out["pixel_values"].shape))


CASES = ["hfclip-vision", "hfclip-vision-proj", "hfclip-model", "hfclip-image-processor-down",
         "hfclip-image-processor-up"]


def main():
    torch.set_grad_enabled(True)
    vision_case("hfclip-vision", CLIPVisionModel, dict(VISION, hidden_act="quick_gelu"))
    vision_case("hfclip-vision-proj", CLIPVisionModelWithProjection,
                dict(VISION, hidden_act="gelu", num_hidden_layers=1, projection_dim=12, layer_norm_eps=1e-6))
    clip_model_case("hfclip-model")
    # shrink 37 x 53 to a shortest edge of 24 (antialiased bicubic), crop 20 x 20; CLIP's mean and std
    processor_case("hfclip-image-processor-down", (37, 53),
                   dict(size={"shortest_edge": 24}, crop_size={"height": 20, "width": 20}))
    # enlarge 23 x 15 to a shortest edge of 26 (39 x 26), crop 30 x 20; the config's own mean and std
    processor_case("hfclip-image-processor-up", (23, 15),
                   dict(size={"shortest_edge": 26}, crop_size={"height": 30, "width": 20},
                        image_mean=[0.5, 0.4, 0.3], image_std=[0.2, 0.25, 0.3]))
    print("transformers", transformers.__version__, "torch", torch.__version__, "->", os.path.abspath(OUT))


if __name__ == "__main__":
    main()
