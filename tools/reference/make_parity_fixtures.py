#!/usr/bin/env python3
"""Write the parity fixtures the engine's tests compare against (no torch needed there).

  python3 tools/reference/make_parity_fixtures.py [-o tests/fixtures/reference]

Writes ``parity.safetensors`` (a random-weight bundle of the parity config, F16 weights) and
``parity-golden.safetensors`` (inputs and outputs, F32).  Outputs are computed in float64 from
exactly the F16 weights, so they are the engine's F32 target up to its own rounding.
Golden tensor names:
  in.video_sample (1,F,8,h,w)  in.video_timestep (1,)  in.video_context (1,1,D)
  in.added_time_ids (1,3)      in.audio_sample (1,8,T,Fm)  in.audio_timestep (1,)
  in.image_embeds (1,E)        null.video_sample / null.video_context: the null condition
                               (image-latent channels and context zeroed; audio gets no image)
  {cond,null}.{full,block_diagonal,skip}.{video,audio}   JointDiT outputs
  video_unet.out, audio_unet.out                         the UNets alone on the cond inputs
  video_vae.encode.in/out, video_vae.decode.in/out       (decode: all frames together)
  audio_vae.encode.in/out, audio_vae.decode.in/out
  image_encoder.in/out (pixels already CLIP-normalised), vocoder.in/out (log-mel (1,T,64))
"""
import argparse
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import bundle, configs  # noqa: E402
from jointdit_reference.joint import ATTENTION_MODES, JointDiT  # noqa: E402

SEED = 20251127
REPO = pathlib.Path(__file__).resolve().parents[2]


@torch.no_grad()
def golden(model: JointDiT, config: dict, gen: torch.Generator) -> dict[str, torch.Tensor]:
    # Inputs are rounded to F32 first: they are stored as F32, and the engine reads them so.
    def randn(*shape):
        return torch.randn(shape, generator=gen).to(torch.float64)

    shapes = config["shapes"]
    frames, (cv, hv, wv) = shapes["frames"], shapes["video_latent"]
    vin = config["video_unet"]["in_channels"]
    inputs = {
        "video_sample": randn(1, frames, vin, hv, wv),
        "video_timestep": torch.tensor([0.25 * 1.3], dtype=torch.float32).to(torch.float64),
        "video_context": randn(1, 1, config["video_unet"]["cross_attention_dim"]),
        "added_time_ids": torch.tensor([[11.5, 127.0, 0.02]]).to(torch.float64),
        "audio_sample": randn(1, *shapes["audio_latent"]),
        "audio_timestep": torch.tensor([417.0], dtype=torch.float64),
        "image_embeds": randn(1, config["audio_unet"]["image_embed_dim"]),
    }
    out = {f"in.{k}": v for k, v in inputs.items()}
    null_video = inputs["video_sample"].clone()
    null_video[:, :, cv:] = 0
    null_context = torch.zeros_like(inputs["video_context"])
    out["null.video_sample"], out["null.video_context"] = null_video, null_context

    for cond in ("cond", "null"):
        for mode in ATTENTION_MODES:
            v, a = model(null_video if cond == "null" else inputs["video_sample"],
                         inputs["video_timestep"],
                         null_context if cond == "null" else inputs["video_context"],
                         inputs["added_time_ids"], inputs["audio_sample"],
                         inputs["audio_timestep"],
                         None if cond == "null" else inputs["image_embeds"], mode)
            out[f"{cond}.{mode}.video"], out[f"{cond}.{mode}.audio"] = v, a
    out["video_unet.out"] = model.unet("video")(inputs["video_sample"], inputs["video_timestep"],
                                                inputs["video_context"], inputs["added_time_ids"])
    out["audio_unet.out"] = model.unet("audio")(inputs["audio_sample"], inputs["audio_timestep"],
                                                image_embeds=inputs["image_embeds"])

    vvae, avae = model.video["vae"], model.audio["vae"]
    vfactor = 2 ** (len(config["video_vae"]["block_out_channels"]) - 1)
    afactor = 2 ** (len(config["audio_vae"]["block_out_channels"]) - 1)
    image = (torch.rand((1, 3, hv * vfactor, wv * vfactor), generator=gen) * 2 - 1).to(torch.float64)
    out["video_vae.encode.in"], out["video_vae.encode.out"] = image, vvae.encode(image)
    latents = randn(frames, cv, hv, wv)
    out["video_vae.decode.in"], out["video_vae.decode.out"] = latents, vvae.decode(latents, frames)
    _, ta, fa = shapes["audio_latent"]
    mel = randn(1, 1, ta * afactor, fa * afactor)
    out["audio_vae.encode.in"], out["audio_vae.encode.out"] = mel, avae.encode(mel)
    alat = randn(1, config["audio_vae"]["latent_channels"], ta, fa)
    out["audio_vae.decode.in"], out["audio_vae.decode.out"] = alat, avae.decode(alat)
    size = config["image_encoder"]["image_size"]
    pixels = randn(1, 3, size, size)
    out["image_encoder.in"], out["image_encoder.out"] = pixels, model.image_encoder(pixels)
    mel_frames = randn(1, 10, config["vocoder"]["model_in_dim"])
    out["vocoder.in"], out["vocoder.out"] = mel_frames, model.audio["vocoder"](mel_frames)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-dir", type=pathlib.Path,
                        default=REPO / "tests" / "fixtures" / "reference")
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    config = configs.parity_config()
    model = JointDiT(config)
    gen = torch.Generator().manual_seed(SEED)
    bundle.randomize(model, gen)
    weights = {n: t.to(torch.float16) for n, t in model.state_dict().items()}
    model.load_state_dict({n: t.to(torch.float64) for n, t in weights.items()})
    model.double()
    bundle.write_bundle(args.output_dir / "parity.safetensors",
                        {**config, "provenance": {"made_by": "tools/reference/make_parity_fixtures.py",
                                                  "weights": f"random, seed {SEED}",
                                                  "training_steps": 0}},
                        weights)
    results = {n: t.to(torch.float32) for n, t in golden(model, config, gen).items()}
    bundle.write_safetensors(args.output_dir / "parity-golden.safetensors", results,
                             {"generator": "tools/reference/make_parity_fixtures.py",
                              "seed": str(SEED), "computed_in": "float64"})
    for name in ("parity.safetensors", "parity-golden.safetensors"):
        size = (args.output_dir / name).stat().st_size
        print(f"{args.output_dir / name}: {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
