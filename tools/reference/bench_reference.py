#!/usr/bin/env python3
"""Time the reference: its denoiser call (a table), or a whole generation from a bundle.

  python3 tools/reference/bench_reference.py [--threads 1 2] [--repeats 3]
  python3 tools/reference/bench_reference.py pipeline --model BUNDLE [--steps 25] [--threads 2]
      [--guidance joint-star] [--omega 2] [--json]

``pipeline`` does the work ``jd_engine_generate`` does, with the reference's modules and PyTorch
ops: condition (video VAE encode, noise augmentation, CLIP preprocessing, image encoder), N
guided steps (the positive and the negative call; one batch of two where both calls use the same
attention mode, else two calls, since a reference forward takes one attention mode), decode
(video VAE, audio VAE, vocoder, or Griffin-Lim where the bundle has no vocoder). The sampler's
arithmetic (EDM Euler for video, DDIM for audio) costs what the engine's does; it is not meant
to match the engine's samples. One untimed one-step run warms up first, as `jointdit bench
model` does. With --json the last line of stdout is a JSON object of the timings; without
PyTorch it is {"skipped": reason} and the exit status 3 (`jointdit bench model --reference`
reads both).
"""
import argparse
import json
import math
import pathlib
import resource
import statistics
import sys
import time

try:
    import torch
except ImportError as exc:  # the caller reports the reference as skipped
    torch = None
    TORCH_ERROR = str(exc)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

if torch is not None:
    from jointdit_reference.blas import blas_library

GUIDANCE_ATTENTION = {"cfg": "full", "joint": "block_diagonal", "joint-star": "skip"}


def bench_calls(argv: list[str]) -> int:
    from jointdit_reference import bundle, configs
    from jointdit_reference.joint import ATTENTION_MODES, JointDiT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args(argv)
    config = configs.default_config()
    model = JointDiT(config).eval()
    bundle.randomize(model, torch.Generator().manual_seed(1))
    s, b = config["shapes"], args.batch
    _, h, w = s["video_latent"]
    inputs = dict(
        video_sample=torch.randn(b, s["frames"], config["video_unet"]["in_channels"], h, w),
        video_timestep=torch.full((b,), 0.3),
        video_context=torch.randn(b, 1, config["video_unet"]["cross_attention_dim"]),
        added_time_ids=torch.tensor([[11.5, 127.0, 0.02]] * b),
        audio_sample=torch.randn(b, *s["audio_latent"]),
        audio_timestep=torch.full((b,), 500),
        image_embeds=torch.randn(b, config["audio_unet"]["image_embed_dim"]))
    print(f"torch {torch.__version__} (BLAS {blas_library()}), default model, batch {b}, "
          f"best of {args.repeats}")
    print(f"{'threads':>7} {'mode':>15} {'ms/call':>10}")
    with torch.no_grad():
        for threads in args.threads:
            torch.set_num_threads(threads)
            for mode in ATTENTION_MODES:
                model(**inputs, attention=mode)  # warm-up
                best = float("inf")
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    model(**inputs, attention=mode)
                    best = min(best, time.perf_counter() - start)
                print(f"{threads:>7} {mode:>15} {best * 1e3:10.1f}")
    return 0


def load_model(path: str):
    from jointdit_reference import bundle
    from jointdit_reference.joint import JointDiT

    config, tensors = bundle.read_bundle(path)
    model = JointDiT(config).eval()
    state = {name: t.float() for name, t in tensors.items()}
    missing, _unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise SystemExit(f"{path}: the bundle lacks {len(missing)} tensors the reference needs, "
                         f"e.g. {missing[0]}")
    return config, model


def test_picture(width: int, height: int) -> torch.Tensor:
    """The picture `jointdit bench model` uses: gradients and a diagonal stripe, in [-1, 1]."""
    x = torch.arange(width, dtype=torch.float32).view(1, -1).expand(height, width)
    y = torch.arange(height, dtype=torch.float32).view(-1, 1).expand(height, width)
    r = torch.floor(255 * x / max(width - 1, 1))
    g = torch.floor(255 * y / max(height - 1, 1))
    b = torch.where(torch.floor((x + y) / 8) % 2 == 1, 200.0, 40.0)
    return (torch.stack([r, g, b])[None] / 127.5 - 1.0)


def griffin_lim(log_mel: torch.Tensor, sample_rate: int, iterations: int = 32,
                momentum: float = 0.99) -> torch.Tensor:
    """log-mel (T, n_mels) -> waveform: AudioLDM's STFT, the mel's own bins up to Nyquist,
    fast Griffin-Lim with the engine's settings (32 iterations, momentum 0.99)."""
    from jointdit_reference import mel as melmod

    cfg = melmod.AUDIOLDM_MEL
    basis = melmod.mel_filters(sample_rate, cfg["n_fft"], log_mel.shape[1], cfg["fmin"],
                               sample_rate / 2).float()
    magnitude = torch.clamp(torch.linalg.pinv(basis) @ torch.exp(log_mel).T, min=1e-5)
    window = torch.hann_window(cfg["win"])
    length = log_mel.shape[0] * cfg["hop"]
    gen = torch.Generator().manual_seed(1)
    angles = torch.exp(2j * math.pi * torch.rand(magnitude.shape, generator=gen))
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        wave = torch.istft(magnitude * angles, cfg["n_fft"], cfg["hop"], cfg["win"], window,
                           length=length)
        rebuilt = torch.stft(wave, cfg["n_fft"], cfg["hop"], cfg["win"], window,
                             return_complex=True)[:, :magnitude.shape[1]]
        angles = rebuilt - momentum / (1 + momentum) * previous
        previous = rebuilt
        angles = angles / torch.clamp(angles.abs(), min=1e-16)
    return torch.istft(magnitude * angles, cfg["n_fft"], cfg["hop"], cfg["win"], window,
                       length=length)


def generate(config: dict, model, steps: int, guidance: str, omega: float) -> dict:
    """One generation; returns the stage times in seconds and the per-step times."""
    from jointdit_reference.preprocess import clip_preprocess

    s = config["shapes"]
    frames = s["frames"]
    factor = 2 ** (len(config["video_vae"]["block_out_channels"]) - 1)
    height, width = (n * factor for n in s["video_latent"][1:])
    video_vae, audio_vae = model.video["vae"], model.audio["vae"]
    vocoder = model.audio["vocoder"] if "vocoder" in model.audio else None
    gen = torch.Generator().manual_seed(1)
    times = {}

    start = time.perf_counter()
    image = test_picture(width, height)
    latent = video_vae.encode(image)
    latent = latent + 0.02 * torch.randn(latent.shape, generator=gen)
    size = config["image_encoder"]["image_size"]
    embeds = model.image_encoder(clip_preprocess((image + 1) / 2, size))
    times["condition"] = time.perf_counter() - start

    start = time.perf_counter()
    fps = config["joint"]["video_fps"]
    a_shape = s["audio_latent"]
    v_shape = [frames, config["video_unet"]["out_channels"], *s["video_latent"][1:]]
    sigmas = torch.exp(torch.linspace(math.log(700.0), math.log(0.002), steps)).tolist() + [0.0]
    audio_t = torch.linspace(999, 0, steps).round().long().tolist()
    betas = torch.linspace(0.0015 ** 0.5, 0.0195 ** 0.5, 1000, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1 - betas, 0).float()
    x_v = torch.randn([1, *v_shape], generator=gen) * sigmas[0]
    x_a = torch.randn([1, *a_shape], generator=gen)
    cond_latent = latent[:, None].expand(1, frames, *latent.shape[1:])
    time_ids = torch.tensor([[fps - 1, 127.0, 0.02]])
    attention = GUIDANCE_ATTENTION.get(guidance)
    negative = guidance != "none" and omega > 0
    step_times = []
    for i in range(steps):
        step_start = time.perf_counter()
        sigma, sigma_next, t = sigmas[i], sigmas[i + 1], audio_t[i]
        c_in, c_noise = 1 / math.sqrt(sigma ** 2 + 1), 0.25 * math.log(sigma)
        pos = dict(video_sample=torch.cat([c_in * x_v, cond_latent], 2),
                   video_timestep=torch.tensor([c_noise]), video_context=embeds[:, None],
                   added_time_ids=time_ids, audio_sample=x_a,
                   audio_timestep=torch.tensor([t]), image_embeds=embeds)
        neg = dict(pos, video_sample=torch.cat([c_in * x_v, torch.zeros_like(cond_latent)], 2),
                   video_context=torch.zeros_like(embeds[:, None]), image_embeds=None)
        if not negative:
            outs = [model(**pos)]
        elif attention == "full":  # cfg: both calls in one batch (image_embeds: null by zeros)
            both = {k: torch.cat([pos[k], neg[k]]) for k in pos if k != "image_embeds"}
            v, a = model(**both, image_embeds=torch.cat([embeds, torch.zeros_like(embeds)]))
            outs = [(v[:1], a[:1]), (v[1:], a[1:])]
        else:
            outs = [model(**pos), model(**neg, attention=attention)]
        c_skip, c_out = 1 / (sigma ** 2 + 1), -sigma / math.sqrt(sigma ** 2 + 1)
        ab = alphas_cumprod[t]
        x0s = [(c_skip * x_v + c_out * v, (x_a - (1 - ab).sqrt() * a) / ab.sqrt())
               for v, a in outs]
        x0_v, x0_a = x0s[0]
        if negative:
            x0_v = x0_v + omega * (x0_v - x0s[1][0])
            x0_a = x0_a + omega * (x0_a - x0s[1][1])
        x_v = x0_v + (sigma_next / sigma) * (x_v - x0_v)
        eps = (x_a - ab.sqrt() * x0_a) / (1 - ab).sqrt()
        ab_next = alphas_cumprod[audio_t[i + 1]] if i + 1 < steps else torch.tensor(1.0)
        x_a = ab_next.sqrt() * x0_a + (1 - ab_next).sqrt() * eps
        step_times.append(time.perf_counter() - step_start)
    times["sampling"] = time.perf_counter() - start

    start = time.perf_counter()
    pictures = video_vae.decode(x_v[0] / config["video_vae"]["scaling_factor"], frames)
    rgba = torch.cat([((pictures.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8),
                      torch.full_like(pictures[:, :1], 255, dtype=torch.uint8)], 1)
    rgba = rgba.permute(0, 2, 3, 1).contiguous()
    log_mel = audio_vae.decode(x_a / config["audio_vae"]["scaling_factor"])[0, 0]
    if vocoder is not None and vocoder.config["model_in_dim"] == log_mel.shape[1]:
        pcm = vocoder(log_mel[None])[0]
    else:
        rate = s.get("sample_rate", config.get("vocoder", {}).get("sampling_rate", 16000))
        pcm = griffin_lim(log_mel, rate)
    pcm = pcm.clamp(-1, 1).contiguous()
    times["decode"] = time.perf_counter() - start
    times["steps"] = step_times
    times["outputs"] = (tuple(rgba.shape), tuple(pcm.shape))
    return times


def bench_pipeline(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_reference.py pipeline",
                                     description="Time one whole generation from a bundle.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--guidance", choices=["none", *GUIDANCE_ATTENTION], default="joint-star")
    parser.add_argument("--omega", type=float, default=2.0)
    parser.add_argument("--json", action="store_true", help="end with a JSON line of timings")
    args = parser.parse_args(argv)
    if torch is None:
        reason = f"PyTorch is not importable by {sys.executable} ({TORCH_ERROR})"
        print(json.dumps({"skipped": reason}) if args.json else reason)
        return 3
    torch.set_num_threads(args.threads)
    with torch.no_grad():
        config, model = load_model(args.model)
        generate(config, model, 1, args.guidance, args.omega)  # warm-up, untimed
        start = time.perf_counter()
        times = generate(config, model, args.steps, args.guidance, args.omega)
        end_to_end = time.perf_counter() - start
    report = {
        "torch": torch.__version__,
        "blas": blas_library(),
        "threads": torch.get_num_threads(),
        "steps": args.steps,
        "ms_per_step": statistics.median(times["steps"]) * 1e3,
        "end_to_end_ms": end_to_end * 1e3,
        "condition_ms": times["condition"] * 1e3,
        "sampling_ms": times["sampling"] * 1e3,
        "decode_ms": times["decode"] * 1e3,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>15}: {value}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "pipeline":
        return bench_pipeline(sys.argv[2:])
    if torch is None:
        print(f"PyTorch is not importable by {sys.executable} ({TORCH_ERROR})")
        return 3
    return bench_calls(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
