#!/usr/bin/env python3
"""Tiny random-weight checkpoints in the public models' own layouts, and diffusers' outputs on
them, for the tests of `jointdit convert` (tests/test-convert.c).

diffusers and transformers themselves build each model from a small config with the published
structure (the published block types, resnets, spatio-temporal and text-context transformers,
temporal decoder, weight-normalised HiFi-GAN, CLIP vision tower with projection) and save it
with save_pretrained(safe_serialization=True), in F16 to keep the fixtures small:

    tests/fixtures/checkpoints/svd/{unet,vae,image_encoder}/
    tests/fixtures/checkpoints/audioldm2/{unet,vae,vocoder}/
    tests/fixtures/checkpoints/golden.safetensors

The golden file holds F32 inputs named as `jointdit denoise --in` reads them (in.video_sample,
in.video_timestep, in.video_context, in.added_time_ids, in.audio_sample, in.audio_timestep,
in.image_embeds), the vocoder's input mel (vocoder.mel), and diffusers'/transformers' own
float32 outputs on exactly the stored (F16-rounded) weights:

    video       UNetSpatioTemporalConditionModel(sample, timestep, context, added_time_ids)
    audio       AudioLDM2UNet2DConditionModel without its text-context transformers: the same
                class built with cross_attention_dim [[None]] per block and loaded with the
                saved self-attention transformers (attentions.{3g} → attentions.{g}), i.e. what
                the converted image-conditioned UNet computes while image_proj is zero
    vocoder.wav SpeechT5HifiGan(mel) with the weight norm in place

Needs the venv of tools/reference/README.md (diffusers 0.25.1, transformers 4.36.2 on Debian's
torch 1.13):  nice -n 15 tools/reference/.venv/bin/python tools/convert/make_checkpoint_fixtures.py
"""
import argparse
import contextlib
import json
import math
import pathlib
import re
import shutil
import struct
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "checkpoints"
SEED = 20251127

SVD_UNET = {
    "in_channels": 8, "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"],
    "up_block_types": ["UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"],
    "block_out_channels": [32, 32], "layers_per_block": 1,
    "num_attention_heads": [2, 2], "cross_attention_dim": 32,
    "transformer_layers_per_block": 1, "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 24, "num_frames": 3, "sample_size": 8,
}
SVD_VAE = {
    "in_channels": 3, "out_channels": 3, "block_out_channels": [32, 32],
    "down_block_types": ["DownEncoderBlock2D"] * 2, "layers_per_block": 1, "latent_channels": 4,
    "sample_size": 16, "scaling_factor": 0.18215,
}
CLIP = {
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
    "image_size": 16, "patch_size": 8, "projection_dim": 32, "hidden_act": "gelu",
    "layer_norm_eps": 1e-5, "num_channels": 3,
}
AUDIO_UNET = {
    "in_channels": 8, "out_channels": 8,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [32, 32], "layers_per_block": 1,
    # As published: attention_head_dim, which diffusers' pipeline reads as the number of heads.
    "attention_head_dim": 2,
    "cross_attention_dim": [[None, 16, 24]] * 2,
    "sample_size": 8,
}
AUDIO_VAE = {
    "in_channels": 1, "out_channels": 1, "block_out_channels": [32, 32],
    "down_block_types": ["DownEncoderBlock2D"] * 2, "up_block_types": ["UpDecoderBlock2D"] * 2,
    "layers_per_block": 1, "latent_channels": 8, "sample_size": 16,
    "scaling_factor": 0.4110932946205139,
}
VOCODER = {
    "model_in_dim": 64, "sampling_rate": 16000, "upsample_initial_channel": 32,
    "upsample_rates": [5, 4, 2, 2, 2], "upsample_kernel_sizes": [16, 16, 8, 4, 4],
    "resblock_kernel_sizes": [3, 7, 11], "resblock_dilation_sizes": [[1, 3, 5]] * 3,
    "leaky_relu_slope": 0.1, "normalize_before": False,
}


@contextlib.contextmanager
def initialised_empty():
    """diffusers' pre-2.0 attention hands torch.baddbmm(beta=0) an uninitialised torch.empty,
    which intermittently gave NaN on this torch (see tools/reference/README.md)."""
    empty = torch.empty
    torch.empty = torch.zeros
    try:
        yield
    finally:
        torch.empty = empty


def randomize(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Every parameter random and non-zero (as tools/reference's bundle.randomize): matrices and
    kernels U(−1, 1)/√fan_in, norm scales 1 + U(−¼, ¼), other vectors U(−¼, ¼), mix factors
    U(−2, 2); then rounded to F16, the dtype the fixtures are stored in."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            u = torch.rand(p.shape, generator=gen, dtype=torch.float64) * 2 - 1
            if name.endswith("mix_factor"):
                v = 2 * u
            elif p.dim() >= 2:
                fan_in = p[0].numel() if not name.endswith("weight_g") else 1
                v = u / math.sqrt(fan_in)
                if name.endswith("weight_g"):
                    v = 0.5 + 0.25 * u
            elif "norm" in name and name.endswith("weight"):
                v = 1 + u / 4
            else:
                v = u / 4
            p.copy_(v.to(p.dtype).half().to(p.dtype))


def save(model, folder: pathlib.Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    model.half().save_pretrained(str(folder), safe_serialization=True)
    model.float()


def write_safetensors(path: pathlib.Path, tensors: dict, metadata: dict) -> None:
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=OUT,
                        help="where to write (default: tests/fixtures/checkpoints)")
    out = parser.parse_args().out
    from diffusers import AutoencoderKL, AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from diffusers.pipelines.audioldm2.modeling_audioldm2 import AudioLDM2UNet2DConditionModel
    from transformers import (CLIPVisionConfig, CLIPVisionModelWithProjection, SpeechT5HifiGan,
                              SpeechT5HifiGanConfig)

    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    golden = {}

    # Video: SVD's UNet, temporal-decoder VAE and CLIP image encoder.
    unet = UNetSpatioTemporalConditionModel(**SVD_UNET).eval()
    randomize(unet, gen)
    save(unet, out / "svd" / "unet")
    vae = AutoencoderKLTemporalDecoder(**SVD_VAE).eval()
    randomize(vae, gen)
    save(vae, out / "svd" / "vae")
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP)).eval()
    randomize(clip, gen)
    save(clip, out / "svd" / "image_encoder")

    frames, h, w = SVD_UNET["num_frames"], 8, 8
    x = torch.randn(1, frames, 8, h, w, generator=gen)
    t = torch.tensor([0.25 * math.log(3.0)])
    ctx = torch.randn(1, 1, SVD_UNET["cross_attention_dim"], generator=gen)
    ids = torch.tensor([[5.0, 127.0, 0.02]])
    with torch.no_grad(), initialised_empty():
        golden["video"] = unet(x, t, ctx, ids, return_dict=False)[0]
    golden.update({"in.video_sample": x, "in.video_timestep": t, "in.video_context": ctx,
                   "in.added_time_ids": ids})

    # Audio: AudioLDM2's UNet (with its text transformers, as published), mel VAE, vocoder.
    aunet = AudioLDM2UNet2DConditionModel(**AUDIO_UNET).eval()
    randomize(aunet, gen)
    save(aunet, out / "audioldm2" / "unet")
    avae = AutoencoderKL(**AUDIO_VAE).eval()
    randomize(avae, gen)
    save(avae, out / "audioldm2" / "vae")
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(**VOCODER)).eval()
    vocoder.apply_weight_norm()
    randomize(vocoder, gen)
    save(vocoder, out / "audioldm2" / "vocoder")

    # The text-free UNet diffusers builds: one (self-attention) transformer per position.
    positions = len(AUDIO_UNET["cross_attention_dim"][0])
    free = AudioLDM2UNet2DConditionModel(**{**AUDIO_UNET, "cross_attention_dim":
                                            [[None]] * len(AUDIO_UNET["block_out_channels"])})
    kept = {}
    for name, value in aunet.state_dict().items():
        m = re.search(r"\.attentions\.(\d+)\.", name)
        if m is None:
            kept[name] = value
        elif int(m.group(1)) % positions == 0:
            kept[name.replace(m.group(0), ".attentions.%d." % (int(m.group(1)) // positions))] = value
    free.load_state_dict(kept, strict=True)
    free.eval()
    a = torch.randn(1, 8, 6, 4, generator=gen)
    ta = torch.tensor([500.0])
    with torch.no_grad(), initialised_empty():
        golden["audio"] = free(a, ta.long(), encoder_hidden_states=None, return_dict=False)[0]
    golden.update({"in.audio_sample": a, "in.audio_timestep": ta,
                   "in.image_embeds": torch.randn(1, CLIP["projection_dim"], generator=gen)})

    mel = torch.randn(1, 5, VOCODER["model_in_dim"], generator=gen)
    with torch.no_grad():
        golden["vocoder.wav"] = vocoder(mel)
    golden["vocoder.mel"] = mel

    write_safetensors(out / "golden.safetensors", golden,
                      {"generator": "tools/convert/make_checkpoint_fixtures.py",
                       "seed": str(SEED)})
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()
                and "published" not in p.parts)
    print("wrote %s (%.2f MB)" % (out, total / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
