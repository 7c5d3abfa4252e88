"""Stage 1: the training set, drawn from the synthetic world (tools/worldgen).

Seeds: training uses world seeds 0 .. 999,999 only; seeds >= 1,000,000 are reserved for held-out
evaluation (docs/EVALUATION.md) and are never drawn here.  Clip i of a dataset uses seed
TRAIN_SEED_BASE + i and a scene chosen from (seed) with SCENE_WEIGHTS, so a dataset is a pure
function of its size and config.
"""
import numpy as np
import torch

from . import paths  # noqa: F401
from jointdit_reference.mel import AUDIOLDM_MEL, log_mel
from worldgen import Config as WorldConfig
from worldgen import generate

TRAIN_SEED_BASE = 0
TRAIN_SEED_LIMIT = 1_000_000   # evaluation seeds start here
SCENE_WEIGHTS = {"bounce": 0.35, "strike": 0.35, "flash": 0.1, "pendulum": 0.1, "rain": 0.1}


def scene_for(seed: int) -> str:
    rng = np.random.Generator(np.random.PCG64([seed, 0x7EA1]))
    names = sorted(SCENE_WEIGHTS)
    p = np.array([SCENE_WEIGHTS[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def world_config(shapes: dict, fps: float) -> WorldConfig:
    h, w = shapes["image_size"]
    return WorldConfig(fps=fps, seconds=shapes["frames"] / fps, width=w, height=h)


def mel_config(shapes: dict) -> dict:
    cfg = dict(AUDIOLDM_MEL)
    cfg["n_mels"] = shapes["mel_bins"]
    cfg["sample_rate"] = shapes.get("sample_rate", 16000)
    cfg["fmax"] = cfg["sample_rate"] / 2.0
    return cfg


def make_clip(index: int, shapes: dict, fps: float):
    """(frames uint8 (F, H, W, 3), log-mel float32 (T, bins), scene, seed, event times)."""
    seed = TRAIN_SEED_BASE + index
    if seed >= TRAIN_SEED_LIMIT:
        raise ValueError(f"training seed {seed} would reach the held-out evaluation seeds "
                         f"(>= {TRAIN_SEED_LIMIT})")
    scene = scene_for(seed)
    clip = generate(scene, seed, world_config(shapes, fps))
    times = [e["time"] for e in clip.truth["events"]]
    return clip.frames, clip_mel(clip, seed, shapes), scene, seed, times


def clip_mel(clip, seed: int, shapes: dict) -> torch.Tensor:
    """A world clip's log-mel float32 (T, bins), cut to the model's mel frames."""
    wave = torch.from_numpy(clip.audio.astype(np.float64))
    mel = log_mel(wave, mel_config(shapes))[:shapes["mel_frames"]]
    if mel.shape[0] != shapes["mel_frames"]:
        raise ValueError(f"clip {seed}: {mel.shape[0]} mel frames, the model wants "
                         f"{shapes['mel_frames']}")
    return mel.float()


def frames_to_unit(frames_u8: torch.Tensor) -> torch.Tensor:
    """(..., H, W, 3) uint8 -> (..., 3, H, W) float in [-1, 1], as the engine maps bytes."""
    x = frames_u8.float() / 127.5 - 1.0
    return x.movedim(-1, -3).contiguous()
