#!/usr/bin/env python3
"""Sample one clip from one picture exactly as the engine does (same Philox noise, schedule,
guidance and decoders), with the PyTorch reference.

  python3 tools/reference/sample.py --model B --image IMG --steps N --guidance M --omega W
                                    --seed S --frames DIR --wav FILE

IMG is a PNG (or PPM) of the model's size.  Runs in float64 unless --dtype float32.  Writes
DIR/frame-0001.png … and a 16-bit mono WAV; --latents FILE also saves the final latents.
"""
import argparse
import pathlib
import struct
import sys
import wave
import zlib

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import bundle, sampling  # noqa: E402


def frames_to_bytes(pixels: torch.Tensor) -> np.ndarray:
    """(F, 3, H, W) in [-1, 1] → (F, H, W, 3) uint8, as the engine's unit_to_byte (float32
    roundf((x + 1) · 127.5), NaN → 0, clamped)."""
    x = pixels.to(torch.float32).numpy()
    v = np.round((x + np.float32(1.0)) * np.float32(127.5))  # ties: to even here, away from 0 in roundf
    v = np.where(np.isnan(v), 0, np.clip(v, 0, 255)).astype(np.uint8)
    return v.transpose(0, 2, 3, 1)


def write_png(path: pathlib.Path, rgb: np.ndarray) -> None:
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def read_image(path: pathlib.Path) -> np.ndarray:
    """(H, W, 3) uint8 from an 8-bit RGB/RGBA PNG (no interlace) or a binary PPM."""
    data = path.read_bytes()
    if data.startswith(b"P6"):
        parts = data.split(maxsplit=4)
        w, h = int(parts[1]), int(parts[2])
        return np.frombuffer(parts[4][: w * h * 3], np.uint8).reshape(h, w, 3)
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{path}: not a PNG or binary PPM picture")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced RGB or RGBA PNGs are read")
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur[x] = (line[x] + pred) & 255
        out[y], prev = cur, cur
    return out.reshape(h, w, bpp)[:, :, :3].copy()


def write_wav(path: pathlib.Path, pcm: np.ndarray, rate: int) -> None:
    samples = np.clip(np.round(np.asarray(pcm) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.tobytes())


def main() -> int:
    try:
        return run()
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=pathlib.Path, help="the bundle")
    parser.add_argument("--image", required=True, type=pathlib.Path)
    parser.add_argument("--steps", type=int, default=sampling.DEFAULT_STEPS)
    parser.add_argument("--guidance", default="none", choices=sampling.GUIDANCE_MODES)
    parser.add_argument("--omega", type=float, default=0.0, help="ω for video and audio")
    parser.add_argument("--omega-audio", type=float, help="ω_a (default: --omega)")
    parser.add_argument("--omega-video-last", type=float,
                        help="ramp ω_v from --omega at the first frame to this at the last")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise-aug", type=float, default=sampling.DEFAULT_NOISE_AUG_STRENGTH)
    parser.add_argument("--motion-bucket", type=float, default=sampling.DEFAULT_MOTION_BUCKET_ID)
    parser.add_argument("--fps", type=float, default=0.0, help="condition fps (0: the model's)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--frames", type=pathlib.Path, help="folder for frame-NNNN.png")
    parser.add_argument("--wav", type=pathlib.Path)
    parser.add_argument("--latents", type=pathlib.Path, help="safetensors of the final latents")
    args = parser.parse_args()

    pipe = sampling.Pipeline(args.model, getattr(torch, args.dtype))
    rgb = read_image(args.image)
    f, _, h, w = pipe.video_shape
    factor = 2 ** (len(pipe.config["video_vae"]["block_out_channels"]) - 1)
    if rgb.shape[:2] != (h * factor, w * factor):
        print(f"error: the model {args.model} needs a {w * factor}×{h * factor} picture, "
              f"not {rgb.shape[1]}×{rgb.shape[0]} ({args.image})", file=sys.stderr)
        return 1
    omega_audio = args.omega if args.omega_audio is None else args.omega_audio
    last = args.omega if args.omega_video_last is None else args.omega_video_last
    guidance = sampling.Guidance(args.guidance, args.omega, last, omega_audio)
    pipe.schedule.grid(args.steps)  # refuses a step count the schedule cannot hold, early

    cond = pipe.condition(rgb, args.seed, args.noise_aug, args.motion_bucket, args.fps)
    video, audio = pipe.sample(cond, args.seed, args.steps, guidance,
                               lambda i, n, p: print(f"step {i}/{n}: t_uni {p.t_uni:.6f} "
                                                     f"σ {p.sigma:.6g} t_a {p.audio_index}"))
    if args.latents:
        bundle.write_safetensors(args.latents, {"video": video, "audio": audio},
                                 {"generator": "tools/reference/sample.py"})
    if args.frames:
        args.frames.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames_to_bytes(pipe.decode_video(video))):
            write_png(args.frames / f"frame-{i + 1:04d}.png", frame)
    if args.wav:
        mel = pipe.decode_mel(audio)
        write_wav(args.wav, pipe.decode_pcm(mel), pipe.sample_rate())
    return 0


if __name__ == "__main__":
    sys.exit(main())
