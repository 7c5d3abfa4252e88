#!/usr/bin/env python3
"""Writes tests/fixtures/metrics/: a few small world clips (tools/worldgen) and reference.json,
the values OpenCV and librosa give for them (AV-Align and its parts, Farnebäck flow, onset
strength and peaks, motion score).  Run from the repository root with the venv of README.md:

    tools/metrics_reference/.venv/bin/python tools/metrics_reference/make_fixtures.py
"""

import json
import os
import shutil
import subprocess
import sys

import cv2
import librosa
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics")
CLIPS = [("bounce", 11, "64x64"), ("strike", 12, "64x64"), ("flash", 13, "64x64"),
         ("strike", 14, "80x48")]
COMMAND = "tools/metrics_reference/.venv/bin/python tools/metrics_reference/make_fixtures.py"


def main():
    os.makedirs(OUT, exist_ok=True)
    clips = []
    for scene, seed, size in CLIPS:
        name = f"{scene}-{seed}"
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "worldgen.py"),
                        "--scene", scene, "--seed", str(seed), "--size", size, "--out", folder],
                       check=True, stdout=subprocess.DEVNULL)
        os.remove(os.path.join(folder, "image.png"))   # frame 0 is frames/00000.png
        with open(os.path.join(folder, "truth.json")) as f:
            fps = json.load(f)["fps"]
        frames = reference.read_frames(folder)
        wav = os.path.join(folder, "audio.wav")
        trajectory = reference.flow_trajectory(frames)
        video = reference.video_peaks(trajectory, fps)
        audio, audio_frames = reference.audio_peaks(wav)
        envelope, _ = reference.onset_envelope(wav)
        motion, motion_pairs = reference.motion_score(frames, fps)
        # one whole flow field: the pair with the most motion
        k = int(np.argmax(trajectory[1:])) + 1
        field = reference.flow(frames[k - 1], frames[k])
        clips.append({
            "name": name, "fps": fps, "width": frames[0].shape[1], "height": frames[0].shape[0],
            "frames": len(frames),
            "flow_trajectory": trajectory,
            "video_peaks": video,
            "onset_envelope": [float(v) for v in envelope],
            "audio_peak_frames": audio_frames,
            "audio_peaks": [float(t) for t in audio],
            "av_align": reference.iou(audio, video, fps),
            "motion_score": motion,
            "motion_pairs": motion_pairs,
            "flow_field_pair": [k - 1, k],
            "flow_field": [round(float(v), 6) for v in field.reshape(-1)],
        })
    versions = {"opencv-python-headless": cv2.__version__, "librosa": librosa.__version__,
                "numpy": np.__version__}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"made_by": COMMAND, "versions": versions, "clips": clips}, f)
        f.write("\n")
    for c in clips:
        print(f"{c['name']}: av_align {c['av_align']:.3f} ({len(c['audio_peaks'])} audio, "
              f"{len(c['video_peaks'])} video peaks), motion {c['motion_score']:.3f}")


if __name__ == "__main__":
    main()
