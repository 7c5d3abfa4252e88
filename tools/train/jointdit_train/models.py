"""Model configs for training and small helpers around the reference modules."""
import copy

import torch

from . import paths  # noqa: F401
from jointdit_reference import configs


def model_config(name: str) -> dict:
    """The architecture trained: `default` is configs.default_config() (the model the engine is
    benchmarked on) without the vocoder (the engine falls back to Griffin-Lim); `tiny` is the
    parity structure on 16x16 px, 8 frames, 64 mel frames x 32 bins, for the CI smoke test."""
    if name == "default":
        cfg = configs.default_config()
    elif name == "tiny":
        cfg = configs.parity_config()
        cfg["image_encoder"].update(image_size=16, patch_size=8)
        cfg["joint"]["audio_latent_seconds"] = 0.02   # hop 160 x VAE factor 2 at 16 kHz
        for part in ("audio_unet", "video_vae", "audio_vae"):   # as the default model
            cfg[part]["norm_num_groups"] = 8
        cfg["shapes"] = {"frames": 8, "video_latent": [4, 8, 8], "audio_latent": [8, 32, 16],
                         "image_size": [16, 16], "mel_frames": 64, "mel_bins": 32,
                         "sample_rate": 16000}
    else:
        raise ValueError(f"unknown training config {name!r} (default or tiny)")
    cfg.pop("vocoder", None)
    return copy.deepcopy(cfg)


def vae_factor(vae_config: dict) -> int:
    return 2 ** (len(vae_config["block_out_channels"]) - 1)


def patch_audio_null(audio_unet) -> None:
    """Per-sample null condition for the audio UNet in a batch: the engine's null skips the
    image_proj addition (it does not feed zeros, whose bias would still condition), so the
    addition is multiplied by a 0/1 mask held in `audio_unet.keep_mask` (None keeps all)."""
    unet = audio_unet
    unet.keep_mask = None

    def embed(timestep, batch, image_embeds=None):
        emb = unet.time_embedding(_sinusoid(timestep.expand(batch), unet.conv_in.out_channels,
                                            unet.conv_in.weight.dtype))
        if image_embeds is not None:
            proj = unet.image_proj(image_embeds)
            if unet.keep_mask is not None:
                proj = proj * unet.keep_mask.to(proj.dtype).view(-1, 1)
            emb = emb + proj
        return emb

    unet.embed = embed


def _sinusoid(*args):
    from jointdit_reference.embeddings import sinusoid
    return sinusoid(*args)


def set_trainable(module: torch.nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)
