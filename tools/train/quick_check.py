#!/usr/bin/python3
"""Quick quality check of a trained bundle through the C engine (the numbers in the model card).

  tools/train/quick_check.py --model resources/models/default.safetensors \
      [--baseline B] [--cli build/app/jointdit] [--count 6] [--steps 25]

For held-out world clips (seeds >= 1,000,000, scenes bounce and strike) it runs
`jointdit generate IMAGE --guidance joint-star --omega 2 --steps N` (the picture's omega ramping
from 0 at the first frame, the CLI's default; --omega-first W for another start) and reports,
per clip and as
medians: PSNR of frame 0 against the input picture; motion (mean absolute change between
consecutive frames, 0..255) against the ground truth clip's; audio onset times (spectral flux of
the WAV) against the truth's event times (the nearest onset per event, within 200 ms); and the
lag that best lines up the sound's onset envelope with the picture's motion-change envelope
(cross-correlation over +-4 frames).  A rough check; `jointdit eval` is the real metric.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from worldgen.pngio import read_png  # noqa: E402


def read_wav(path):
    with wave.open(str(path)) as w:
        raw = w.readframes(w.getnframes())
        rate = w.getframerate()
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0, rate


def onsets(pcm, rate, hop=160, n_fft=512):
    """Onset times (s) from positive spectral flux, peaks above mean + 2 std, 150 ms apart."""
    frames = 1 + max(0, (len(pcm) - n_fft) // hop)
    window = np.hanning(n_fft)
    spec = np.abs(np.stack([np.fft.rfft(pcm[i * hop:i * hop + n_fft] * window)
                            for i in range(frames)]))
    flux = np.maximum(np.diff(np.log1p(100 * spec), axis=0), 0).sum(1)
    threshold = flux.mean() + 2 * flux.std()
    out = []
    for i in range(1, len(flux) - 1):
        if flux[i] > threshold and flux[i] >= flux[i - 1] and flux[i] >= flux[i + 1]:
            t = (i + 1) * hop / rate + n_fft / 2 / rate
            if not out or t - out[-1] > 0.15:
                out.append(t)
    return out, flux


def motion_change(frames):
    """Per-frame |second difference| energy (events: sudden changes of motion)."""
    f = frames.astype(np.float64)
    d1 = np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))
    acc = np.abs(np.diff(d1))
    return d1, np.concatenate([[0, 0], acc])


def best_lag(audio_env, video_env, max_lag=4):
    a = (audio_env - audio_env.mean()) / (audio_env.std() + 1e-9)
    v = (video_env - video_env.mean()) / (video_env.std() + 1e-9)
    best, best_c = 0, -np.inf
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            c = float((a[lag:] * v[:len(v) - lag]).mean())
        else:
            c = float((a[:lag] * v[-lag:]).mean())
        if c > best_c:
            best, best_c = lag, c
    return best, best_c


def check(cli, model, scene, seed, steps, work, guidance, omega, omega_first):
    clip = work / f"{scene}-{seed}"
    subprocess.run([sys.executable, str(ROOT / "tools" / "worldgen.py"), "--scene", scene,
                    "--seed", str(seed), "--out", str(clip)], check=True, capture_output=True)
    truth = json.loads((clip / "truth.json").read_text())
    out = work / f"{scene}-{seed}-{pathlib.Path(model).stem}"
    t0 = time.time()
    subprocess.run([cli, "generate", "--model", str(model), "--steps", str(steps),
                    "--guidance", guidance, "--omega", str(omega),
                    "--omega-first", str(omega_first), "--seed", "1",
                    "--frames", str(out) + "-frames", "-o", str(out) + ".wav",
                    str(clip / "image.png")], check=True, capture_output=True)
    seconds = time.time() - t0
    names = sorted(os.listdir(str(out) + "-frames"))
    gen = np.stack([read_png(os.path.join(str(out) + "-frames", n))[..., :3] for n in names])
    image = read_png(str(clip / "image.png"))[..., :3].astype(np.float64)
    mse = float(((gen[0].astype(np.float64) - image) ** 2).mean())
    psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-9))
    real = np.stack([read_png(str(clip / "frames" / n))[..., :3]
                     for n in sorted(os.listdir(clip / "frames"))])
    d_gen, acc_gen = motion_change(gen)
    d_real, _ = motion_change(real)
    pcm, rate = read_wav(str(out) + ".wav")
    found, flux = onsets(pcm, rate)
    errors = []
    for e in truth["events"]:
        if found:
            near = min(found, key=lambda t: abs(t - e["time"]))
            if abs(near - e["time"]) <= 0.2:
                errors.append(near - e["time"])
    fps = truth["fps"]
    per_frame = np.array([flux[int(k / fps * rate / 160):int((k + 1) / fps * rate / 160)].sum()
                          for k in range(len(gen))])
    lag, corr = best_lag(per_frame, acc_gen)
    return {"scene": scene, "seed": seed, "psnr0": round(psnr, 2),
            "motion": round(float(d_gen.mean()), 3), "motion_truth": round(float(d_real.mean()), 3),
            "onsets": [round(t, 3) for t in found],
            "events": [round(e["time"], 3) for e in truth["events"]],
            "matched": f"{len(errors)}/{len(truth['events'])}",
            "onset_error_ms": round(1000 * float(np.median(np.abs(errors))), 1) if errors else None,
            "av_lag_frames": lag, "av_corr": round(corr, 3), "seconds": round(seconds, 2),
            "peak": round(float(np.abs(pcm).max()), 3)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--baseline")
    p.add_argument("--cli", default=str(ROOT / "build" / "app" / "jointdit"))
    p.add_argument("--count", type=int, default=6)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--guidance", default="joint-star")
    p.add_argument("--omega", type=float, default=2.0)
    p.add_argument("--omega-first", type=float, default=0.0)
    p.add_argument("--keep", help="keep the clips in this folder")
    args = p.parse_args()
    work = pathlib.Path(args.keep or tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    models = [args.model] + ([args.baseline] if args.baseline else [])
    summary = {}
    for model in models:
        rows = []
        for i in range(args.count):
            scene = ("bounce", "strike")[i % 2]
            rows.append(check(args.cli, model, scene, 1_000_000 + i, args.steps, work,
                              args.guidance, args.omega, args.omega_first))
            print(json.dumps(rows[-1]), flush=True)
        med = {k: statistics.median([r[k] for r in rows if r[k] is not None] or [float("nan")])
               for k in ("psnr0", "motion", "motion_truth", "onset_error_ms", "av_lag_frames",
                         "seconds")}
        summary[pathlib.Path(model).name] = med
        print(pathlib.Path(model).name, "medians:", json.dumps(med), flush=True)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
