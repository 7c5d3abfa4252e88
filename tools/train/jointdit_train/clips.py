"""Reading a folder of real clips for train-full-scale's cache stage.

A clip is either a video file (MP4 and the other containers ffmpeg reads) decoded with the
`ffmpeg` command-line tool, or a folder with `frames/*.png` and `audio.wav` as tools/worldgen
writes it.  Every clip comes out at the bundle's picture size and frame rate (scaled to cover
the picture, then centre-cropped, so the aspect ratio is kept) and with 16 kHz mono audio, cut to
one window of `frames` frames from the start.
"""
import json
import os
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from . import paths  # noqa: F401
from worldgen.pngio import read_png
from worldgen.wavio import read_wav

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")


class ClipError(ValueError):
    """A clip that cannot be used; the message names the clip and says what to do."""


@dataclass
class Window:
    width: int
    height: int
    fps: float
    frames: int
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    @property
    def samples(self) -> int:
        return int(round(self.seconds * self.sample_rate))


def find_clips(folder: str) -> list[str]:
    """Every clip under `folder`, sorted by path: video files, and folders holding frames/."""
    if not os.path.isdir(folder):
        raise ClipError(f"{folder}: no such folder (give a folder of MP4 files or of clip "
                        f"folders with frames/ and audio.wav)")
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        if "frames" in dirs:
            found.append(root)
            dirs.remove("frames")
            continue
        for name in sorted(files):
            if name.lower().endswith(VIDEO_SUFFIXES):
                found.append(os.path.join(root, name))
    return sorted(found)


def read_clip(path: str, window: Window) -> tuple[torch.Tensor, torch.Tensor]:
    """(frames uint8 (F, H, W, 3), wave float64 (samples,)) of the clip's first window."""
    if os.path.isdir(path):
        return _read_folder(path, window)
    return _read_video_file(path, window)


# ---- worldgen-style folders ----
def _read_folder(path: str, window: Window):
    frame_dir = os.path.join(path, "frames")
    names = sorted(n for n in os.listdir(frame_dir) if n.lower().endswith(".png"))
    if not names:
        raise ClipError(f"{path}: frames/ holds no PNG files")
    wav = os.path.join(path, "audio.wav")
    if not os.path.exists(wav):
        raise ClipError(f"{path}: the clip has frames/ but no audio.wav; JointDiT trains on "
                        f"picture and sound together (remove the clip or add its audio)")
    fps = _folder_fps(path)
    # Frame k of the window covers [k/fps, (k+1)/fps); take the source frame showing its centre.
    times = (np.arange(window.frames) + 0.5) / window.fps
    index = np.floor(times * fps).astype(np.int64)
    if index[-1] >= len(names):
        raise ClipError(f"{path}: {len(names)} frames at {fps:g} fps "
                        f"({len(names) / fps:.2f} s) are shorter than the "
                        f"{window.seconds:.2f} s the model takes")
    cache: dict[int, torch.Tensor] = {}
    frames = []
    for i in index.tolist():
        if i not in cache:
            rgb = read_png(os.path.join(frame_dir, names[i]))
            if rgb.shape[2] == 1:
                rgb = np.repeat(rgb, 3, axis=2)
            cache[i] = _resize_cover(torch.from_numpy(np.ascontiguousarray(rgb[:, :, :3])),
                                     window.width, window.height)
        frames.append(cache[i])
    try:
        wave, rate = read_wav(wav)
    except (ValueError, EOFError, OSError) as err:
        raise ClipError(f"{wav}: cannot read it as a WAV file ({err})") from None
    wave = torch.from_numpy(np.asarray(wave, dtype=np.float64))
    if rate != window.sample_rate:
        wave = resample(wave, rate, window.sample_rate)
    return torch.stack(frames), _cut_audio(wave, window, path)


def _folder_fps(path: str) -> float:
    truth = os.path.join(path, "truth.json")
    if os.path.exists(truth):
        with open(truth) as f:
            fps = json.load(f).get("fps")
        if fps:
            return float(fps)
    raise ClipError(f"{path}: no truth.json with an \"fps\" entry, so the frame rate of frames/ "
                    f"is unknown (write {{\"fps\": N}} to {truth})")


def _resize_cover(rgb_u8: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """(H, W, 3) uint8 -> (height, width, 3) uint8: scaled to cover, centre-cropped; area-like
    antialiasing when shrinking, as ffmpeg's scaler does for the video files."""
    h, w = rgb_u8.shape[:2]
    scale = max(width / w, height / h)
    sh, sw = max(height, round(h * scale)), max(width, round(w * scale))
    x = rgb_u8.permute(2, 0, 1)[None].double()
    if (sh, sw) != (h, w):
        x = F.interpolate(x, size=(sh, sw), mode="bilinear", align_corners=False,
                          antialias=sh < h or sw < w)
    oy, ox = (sh - height) // 2, (sw - width) // 2
    x = x[:, :, oy:oy + height, ox:ox + width]
    return x[0].round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous()


def resample(wave: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    """Band-limited resampling through the spectrum (the signal is short: one window)."""
    n = wave.shape[0]
    m = int(round(n * target / rate))
    spec = torch.fft.rfft(wave)
    keep = min(spec.shape[0], m // 2 + 1)
    out = torch.zeros(m // 2 + 1, dtype=spec.dtype)
    out[:keep] = spec[:keep]
    return torch.fft.irfft(out, n=m) * (m / n)


def _cut_audio(wave: torch.Tensor, window: Window, path: str) -> torch.Tensor:
    if wave.shape[0] < window.samples:
        raise ClipError(f"{path}: its audio lasts {wave.shape[0] / window.sample_rate:.2f} s, "
                        f"shorter than the {window.seconds:.2f} s the model takes")
    return wave[:window.samples].contiguous()


# ---- video files through ffmpeg ----
def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise ClipError(f"`{name}` is not installed; it reads the video files "
                        f"(Debian: apt-get install ffmpeg)")
    return exe


def _read_video_file(path: str, window: Window):
    probe = subprocess.run([_tool("ffprobe"), "-v", "error", "-show_entries",
                            "stream=codec_type", "-of", "json", path],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise ClipError(f"{path}: ffprobe cannot read it ({probe.stderr.strip() or 'no reason'})")
    kinds = [s.get("codec_type") for s in json.loads(probe.stdout or "{}").get("streams", [])]
    if "video" not in kinds:
        raise ClipError(f"{path}: the file has no video stream")
    if "audio" not in kinds:
        raise ClipError(f"{path}: the file has no audio stream; JointDiT trains on picture and "
                        f"sound together (remove the clip or mux its audio in)")
    w, h = window.width, window.height
    video = subprocess.run(
        [_tool("ffmpeg"), "-v", "error", "-nostdin", "-i", path, "-an",
         "-vf", f"fps={window.fps:g},scale={w}:{h}:force_original_aspect_ratio=increase:"
                f"flags=area,crop={w}:{h}",
         "-frames:v", str(window.frames), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True)
    if video.returncode != 0:
        raise ClipError(f"{path}: ffmpeg could not decode its video "
                        f"({video.stderr.decode(errors='replace').strip()})")
    count = len(video.stdout) // (w * h * 3)
    if count < window.frames:
        raise ClipError(f"{path}: {count} frames at {window.fps:g} fps are shorter than the "
                        f"{window.frames} frames ({window.seconds:.2f} s) the model takes")
    frames = torch.frombuffer(bytearray(video.stdout[:window.frames * w * h * 3]),
                              dtype=torch.uint8).reshape(window.frames, h, w, 3)
    audio = subprocess.run(
        [_tool("ffmpeg"), "-v", "error", "-nostdin", "-i", path, "-vn", "-ac", "1",
         "-ar", str(window.sample_rate), "-f", "f32le", "-"], capture_output=True)
    if audio.returncode != 0:
        raise ClipError(f"{path}: ffmpeg could not decode its audio "
                        f"({audio.stderr.decode(errors='replace').strip()})")
    wave = torch.frombuffer(bytearray(audio.stdout), dtype=torch.float32).double()
    return frames, _cut_audio(wave, window, path)
