#!/usr/bin/python3
"""How much a bundle's Joint Blocks do, measured on held-out world clips (PyTorch reference).

  tools/train/joint_usage.py --model resources/models/default.safetensors [--scenes 4] [--json]

JointCFG and JointCFG* guide with the difference between the joint denoiser and its
block-diagonal / skipped-attention variants, and picture-sound sync can only come from what the
Joint Blocks carry across, so this asks the trained model directly. For N held-out clips per
kind (`bounce`, `strike`; world seeds 1,000,000 + i, never used in training), encoded with the
bundle's own VAEs and noised at several σ (the audio at the same unified timestep):

* **output change**: ‖x̂₀(variant) − x̂₀(full)‖ / ‖x̂₀(full)‖ per modality, for block-diagonal
  attention (no attention across modalities) and for no Joint Blocks at all (every modulation
  zero: the two experts alone);
* **partner effect**: the relative rise of one modality's x̂₀ error (rms against the clean clip)
  when the other modality's input comes from another clip, each keeping its own conditions —
  how much each side uses the other's content;
* **expert sensitivity**: the relative change of an expert's x̂₀ when its hidden state after a
  stage is perturbed by noise of half its rms (σ = 1): a Joint Block placed after a stage can
  change the output only as much as the expert listens there.
"""
import argparse
import contextlib
import json
import math
import pathlib
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from jointdit_train import data  # noqa: E402  (puts tools/ and tools/reference on the path)
from jointdit_reference import sampling  # noqa: E402
from worldgen import generate  # noqa: E402

HELD_OUT_SEED = 1_000_000
KINDS = ("bounce", "strike")
SIGMAS = (0.2, 1.0, 5.0, 20.0)
SENSITIVITY_SIGMA = 1.0
PERTURBATION = 0.5   # noise rms as a share of the hidden state's rms


class Clips:
    """Clean latents and conditions of held-out clips, batched (clip i of kind k at k·N + i)."""

    def __init__(self, pipe: sampling.Pipeline, per_kind: int):
        shapes, fps = pipe.config["shapes"], pipe.fps
        model, dtype = pipe.model, pipe.dtype
        video, audio, conds = [], [], []
        for kind in KINDS:
            for i in range(per_kind):
                seed = HELD_OUT_SEED + i
                clip = generate(kind, seed, data.world_config(shapes, fps))
                frames = data.frames_to_unit(torch.from_numpy(clip.frames)).to(dtype)
                mel = data.clip_mel(clip, seed, shapes).to(dtype)
                with torch.no_grad():
                    video.append(model.video["vae"].encode(frames)
                                 * pipe.config["video_vae"]["scaling_factor"])
                    audio.append(model.audio["vae"].encode(mel[None, None])[0]
                                 * pipe.config["audio_vae"]["scaling_factor"])
                conds.append(pipe.condition(clip.frames[0], seed))
        self.video, self.audio = torch.stack(video), torch.stack(audio)
        self.image_latent = torch.stack([c.image_latent for c in conds])
        self.embedding = torch.stack([c.image_embedding for c in conds])
        self.time_ids = torch.stack([c.added_time_ids for c in conds])
        self.count = len(conds)


class Probe:
    """One noisy batch of the clips at one unified timestep, and the denoiser's x̂₀ on it."""

    def __init__(self, pipe: sampling.Pipeline, clips: Clips, sigma: float, seed: int):
        self.pipe, self.clips = pipe, clips
        self.point = pipe.schedule.point(pipe.schedule.t_uni_of_sigma(sigma))
        g = torch.Generator().manual_seed(seed)
        dtype = pipe.dtype
        self.video = clips.video + self.point.sigma * torch.randn(
            clips.video.shape, generator=g).to(dtype)
        ab = self.point.alpha_bar
        self.audio = math.sqrt(ab) * clips.audio + math.sqrt(1.0 - ab) * torch.randn(
            clips.audio.shape, generator=g).to(dtype)

    def x0(self, attention: str = "full", audio_from=None):
        """(video x̂₀, audio x̂₀); audio_from: a permutation of the clips that supplies the
        audio input (with its own image embedding) to each video."""
        c = self.clips
        audio, embeds = self.audio, c.embedding
        if audio_from is not None:
            audio, embeds = audio[audio_from], embeds[audio_from]
        return self.pipe.denoise_batch(self.video, audio, self.point, c.image_latent,
                                       c.embedding, c.time_ids, embeds, attention)


@contextlib.contextmanager
def without_joint_blocks(model):
    """Every Joint Block modulation zeroed (gates 0: the experts alone), restored after."""
    saved = {k: v.clone() for k, v in model.joint.state_dict().items()}
    for block in model.joint.blocks:
        block.zero_modulation()
    try:
        yield
    finally:
        model.joint.load_state_dict(saved)


@contextlib.contextmanager
def perturbed_after(unet, stage: str, seed: int):
    """The expert's hidden state after `stage` (and the skip it saved there) plus noise of
    PERTURBATION times its rms."""
    original = unet.run_stage

    def run_stage(name, h, skips, *args, **kwargs):
        saved = len(skips)
        h = original(name, h, skips, *args, **kwargs)
        if name == stage:
            g = torch.Generator().manual_seed(seed)
            noise = torch.randn(h.shape, generator=g).to(h.dtype)
            h = h + PERTURBATION * h.square().mean().sqrt() * noise
            if len(skips) > saved:
                skips[-1] = h
        return h

    unet.run_stage = run_stage
    try:
        yield
    finally:
        del unet.run_stage


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _rms_per_clip(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).flatten(1).square().mean(1).sqrt()


def measure(model_path, per_kind: int = 4) -> dict:
    pipe = sampling.Pipeline(model_path, torch.float32)
    clips = Clips(pipe, per_kind)   # at least one clip of each kind, so a partner exists
    swap = torch.roll(torch.arange(clips.count), 1)   # clip i's video meets clip i-1's audio
    rows = []
    for k, sigma in enumerate(SIGMAS):
        probe = Probe(pipe, clips, sigma, seed=100 + k)
        full_v, full_a = probe.x0("full")
        diag_v, diag_a = probe.x0("block_diagonal")
        with without_joint_blocks(pipe.model):
            none_v, none_a = probe.x0("full")
        swap_v, swap_a = probe.x0("full", audio_from=swap)
        err_v = _rms_per_clip(full_v, clips.video)
        err_a = _rms_per_clip(full_a, clips.audio)
        swap_err_v = _rms_per_clip(swap_v, clips.video)
        swap_err_a = _rms_per_clip(swap_a, clips.audio[swap])
        rows.append({
            "sigma": sigma, "audio_index": probe.point.audio_index,
            "block_diagonal_change": {"video": _relative(diag_v, full_v),
                                      "audio": _relative(diag_a, full_a)},
            "no_joint_blocks_change": {"video": _relative(none_v, full_v),
                                       "audio": _relative(none_a, full_a)},
            "error": {"video": float(err_v.mean()), "audio": float(err_a.mean())},
            "partner_effect": {"video": float((swap_err_v / err_v - 1.0).mean()),
                               "audio": float((swap_err_a / err_a[swap] - 1.0).mean())},
        })
    probe = Probe(pipe, clips, SENSITIVITY_SIGMA, seed=200)
    base = dict(zip(("video", "audio"), probe.x0("full")))
    sensitivity = {}
    for index, modality in enumerate(("video", "audio")):
        unet = pipe.model.unet(modality)
        sensitivity[modality] = {}
        for stage in unet.stage_names():
            with perturbed_after(unet, stage, seed=300):
                out = probe.x0("full")[index]
            sensitivity[modality][stage] = _relative(out, base[modality])
    return {"model": str(model_path), "clips_per_kind": per_kind,
            "split": pipe.config["joint"]["split"], "by_sigma": rows,
            "expert_sensitivity": {"sigma": SENSITIVITY_SIGMA, "perturbation": PERTURBATION,
                                   **sensitivity}}


def report(result: dict) -> str:
    lines = [f"Joint Block usage of {result['model']} ({result['clips_per_kind']} held-out "
             f"clips each of {', '.join(KINDS)}); video / audio",
             "",
             "| σ | change, block-diagonal | change, no Joint Blocks | x̂₀ rms error "
             "| partner effect |",
             "| --- | --- | --- | --- | --- |"]

    def pair(d, fmt):
        return f"{format(d['video'], fmt)} / {format(d['audio'], fmt)}"

    for r in result["by_sigma"]:
        lines.append(f"| {r['sigma']:g} | {pair(r['block_diagonal_change'], '.1e')} | "
                     f"{pair(r['no_joint_blocks_change'], '.1e')} | {pair(r['error'], '.4f')} | "
                     f"{pair(r['partner_effect'], '+.1e')} |")
    s = result["expert_sensitivity"]
    lines += ["", f"Expert sensitivity (σ {s['sigma']:g}, noise of {s['perturbation']:g}× the "
              "rms after the stage; Joint Blocks after: "
              f"{', '.join(result['split']['video'])} / {', '.join(result['split']['audio'])})",
              "", "| after | video | audio |", "| --- | --- | --- |"]
    for stage in s["video"]:
        audio = s["audio"].get(stage)
        lines.append(f"| {stage} | {s['video'][stage]:.1e} | "
                     f"{'—' if audio is None else format(audio, '.1e')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=pathlib.Path, help="the bundle")
    parser.add_argument("--scenes", type=int, default=4, help="held-out clips per kind")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    if args.scenes < 1:
        parser.error("--scenes must be at least 1")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        result = measure(args.model, args.scenes)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyError as e:
        print(f"error: {args.model}: its config lacks {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=1) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
