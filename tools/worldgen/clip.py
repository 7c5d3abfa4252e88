"""From (scene, seed) to a clip on disk: frames, first image, audio and ground truth."""

import json
import os
from dataclasses import dataclass

import numpy as np

from . import raster, sound
from .pngio import write_png
from .scenes import SCENES
from .wavio import write_wav
from .world import EDGE_MARGIN, MIN_GAP, Config, check_times

FORMAT_VERSION = 1
TIME_CONVENTION = ("frame k covers [k/fps, (k+1)/fps) and is the mean of sub-frames spread "
                   "uniformly over it; its time is the centre (k+0.5)/fps")


@dataclass
class Clip:
    scene: object        # world.Scene
    frames: np.ndarray   # frames × H × W × 3 uint8
    audio: np.ndarray    # samples, float in [-1, 1]
    truth: dict


def pick_scene(name, seed):
    """Resolves `random` to a scene name chosen by the seed alone."""
    if name != "random":
        return name
    names = sorted(SCENES)
    return names[int(np.random.Generator(np.random.PCG64([seed, 0x5CE1E])).integers(len(names)))]


def build_scene(name, seed, cfg=Config(), options=None):
    name = pick_scene(name, seed)
    if name not in SCENES:
        raise ValueError(f"unknown scene {name!r}; known: {', '.join(sorted(SCENES))}, random")
    rng = np.random.Generator(np.random.PCG64(seed))
    scene = SCENES[name](rng, cfg, dict(options or {}))
    check_times([e.time for e in scene.events], cfg)  # every scene must keep the rules
    return scene


def generate(name, seed, cfg=Config(), options=None):
    """Builds the scene and renders its frames and audio; deterministic in (name, seed, cfg,
    options)."""
    problems = cfg.validate()
    if problems:
        raise ValueError("; ".join(problems))
    scene = build_scene(name, seed, cfg, options)
    frames = raster.render_frames(scene.draw, cfg)
    audio = sound.mix(scene.voices, cfg)
    truth = {
        "format": FORMAT_VERSION,
        "scene": scene.name,
        "seed": int(seed),
        "fps": cfg.fps,
        "sample_rate": cfg.sample_rate,
        "seconds": cfg.seconds,
        "frames": cfg.frames,
        "samples": cfg.samples,
        "width": cfg.width,
        "height": cfg.height,
        "subframes": cfg.subframes,
        "time_convention": TIME_CONVENTION,
        "min_event_gap": MIN_GAP,
        "edge_margin": EDGE_MARGIN,
        "events": [e.to_json() for e in scene.events],
        "params": _jsonable(scene.params),
    }
    return Clip(scene, frames, audio, truth)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


def write_clip(clip, out_dir):
    """Writes image.png (the first frame), frames/00000.png…, audio.wav and truth.json."""
    frames_dir = os.path.join(out_dir, "frames")
    os.makedirs(frames_dir, exist_ok=True)
    write_png(os.path.join(out_dir, "image.png"), clip.frames[0])
    for k, frame in enumerate(clip.frames):
        write_png(os.path.join(frames_dir, f"{k:05d}.png"), frame)
    write_wav(os.path.join(out_dir, "audio.wav"), clip.audio, clip.truth["sample_rate"])
    with open(os.path.join(out_dir, "truth.json"), "w") as f:
        json.dump(clip.truth, f, indent=1)
        f.write("\n")


def make_clip(name, seed, cfg, out_dir, options=None):
    clip = generate(name, seed, cfg, options)
    write_clip(clip, out_dir)
    return clip.truth
