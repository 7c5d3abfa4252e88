"""The engine's joint sampler and generation pipeline in PyTorch, step for step as
engine/sampling/jd-schedule.c, jd-sampler.c, jd-guidance.c, engine/models/jd-jointdit.c (the
denoiser) and engine/jd-generate.c (condition, sample, decode) do it, with the same Philox noise
(jointdit_reference/philox.py).  Everything runs in the model's dtype (float64 by default).

Layouts as the engine's: video latent (F, C, h, w), audio latent (C, T, F_mel); the Philox
element index of a noise tensor is its flat C-order index plus the stream's offset.
"""
import math
import random
from dataclasses import dataclass

import numpy as np
import torch

from . import bundle, philox
from .joint import JointDiT
from .mel import AUDIOLDM_MEL, mel_filters
from .preprocess import clip_preprocess

NOISE_OFFSET_VIDEO = 0
NOISE_OFFSET_AUDIO = 1 << 40
NOISE_OFFSET_CONDITION = 2 << 40

GUIDANCE_MODES = ("none", "cfg", "joint", "joint-star")
# The negative call's attention per mode (jd_guidance_negative_attention).
NEGATIVE_ATTENTION = {"cfg": "full", "joint": "block_diagonal", "joint-star": "skip"}

DEFAULT_STEPS = 25
DEFAULT_NOISE_AUG_STRENGTH = 0.02
DEFAULT_MOTION_BUCKET_ID = 127.0


# ---- schedule (jd-schedule.c) ----

@dataclass
class ScheduleConfig:
    sigma_min: float = 0.002
    sigma_max: float = 700.0
    p_mean: float = 0.7
    p_std: float = 1.6
    train_steps: int = 1000
    scaled_linear: bool = True
    beta_start: float = 0.0015
    beta_end: float = 0.0195


@dataclass
class Point:
    t_uni: float
    sigma: float
    audio_index: int
    alpha_bar: float


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / 1.4142135623730950488)


def normal_quantile(p: float) -> float:
    """Φ⁻¹ by safeguarded Newton, operation for operation as jd_normal_quantile (libm's erfc,
    exp and log through Python's math, which calls them)."""
    if not (0.0 < p < 1.0):
        return -math.inf if p == 0.0 else math.inf if p == 1.0 else math.nan
    upper = p > 0.5
    q = 1.0 - p if upper else p
    lo, hi = -40.0, 0.0
    x = -math.sqrt(-2.0 * math.log(q))
    for _ in range(100):
        f = normal_cdf(x) - q
        if f > 0:
            hi = x
        else:
            lo = x
        density = math.exp(-0.5 * x * x) / math.sqrt(2.0 * 3.1415926535897932384626433832795028841971693993751)
        nxt = x - f / density if density > 0 else 0.5 * (lo + hi)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) <= 1e-15 * max(1.0, abs(x)):
            x = nxt
            break
        x = nxt
    return -x if upper else x


class Schedule:
    def __init__(self, config: ScheduleConfig | None = None):
        self.config = c = config or ScheduleConfig()
        self.alpha_bar = []
        product = 1.0
        for i in range(c.train_steps):
            fraction = i / (c.train_steps - 1) if c.train_steps > 1 else 0.0
            if c.scaled_linear:
                root = math.sqrt(c.beta_start) + fraction * (math.sqrt(c.beta_end)
                                                             - math.sqrt(c.beta_start))
                beta = root * root
            else:
                beta = c.beta_start + fraction * (c.beta_end - c.beta_start)
            product *= 1.0 - beta
            self.alpha_bar.append(product)

    def sigma(self, t_uni: float) -> float:
        return math.exp(self.config.p_mean + self.config.p_std * normal_quantile(t_uni))

    def t_uni_of_sigma(self, sigma: float) -> float:
        return normal_cdf((math.log(sigma) - self.config.p_mean) / self.config.p_std)

    def audio_index(self, t_uni: float) -> int:
        steps = self.config.train_steps
        return min(max(math.ceil(steps * t_uni) - 1, 0), steps - 1)

    def point(self, t_uni: float) -> Point:
        index = self.audio_index(t_uni)
        return Point(t_uni, self.sigma(t_uni), index, self.alpha_bar[index])

    def grid(self, n_steps: int) -> list[Point]:
        t_hi = self.t_uni_of_sigma(self.config.sigma_max)
        t_lo = self.t_uni_of_sigma(self.config.sigma_min)
        index_hi, index_lo = self.audio_index(t_hi), self.audio_index(t_lo)
        available = index_hi - index_lo + 1
        if n_steps < 1 or n_steps > available:
            raise ValueError(f"The step count must be between 1 and {available} for this "
                             f"model's schedule, not {n_steps}")
        steps = self.config.train_steps
        points: list[Point] = []
        for i in range(n_steps):
            t = t_hi if n_steps == 1 else t_hi + (t_lo - t_hi) * i / (n_steps - 1)
            point = self.point(t)
            lowest = index_lo + (n_steps - 1 - i)
            highest = points[i - 1].audio_index - 1 if i > 0 else index_hi
            wanted = min(max(point.audio_index, lowest), highest)
            if wanted != point.audio_index:
                point = self.point((wanted + 0.5) / steps)
            points.append(point)
        return points


def edm_euler_step(sigma: float, sigma_next: float) -> tuple[float, float]:
    d = (sigma_next - sigma) / sigma
    return 1.0 + d, -d


def ddim_step(alpha_bar: float, alpha_bar_prev: float) -> tuple[float, float]:
    ratio = math.sqrt(1.0 - alpha_bar_prev) / math.sqrt(1.0 - alpha_bar)
    return ratio, math.sqrt(alpha_bar_prev) - ratio * math.sqrt(alpha_bar)


def v_prediction_to_x0(sigma: float) -> tuple[float, float]:
    s2 = sigma * sigma + 1.0
    return 1.0 / s2, -sigma / math.sqrt(s2)


def eps_prediction_to_x0(alpha_bar: float) -> tuple[float, float]:
    root = math.sqrt(alpha_bar)
    return 1.0 / root, -math.sqrt(1.0 - alpha_bar) / root


def edm_c_in(sigma: float) -> float:
    return 1.0 / math.sqrt(sigma * sigma + 1.0)


def edm_c_noise(sigma: float) -> float:
    return 0.25 * math.log(sigma)


# ---- guidance (jd-guidance.c) ----

@dataclass
class Guidance:
    mode: str = "none"
    omega_video_first: float = 0.0
    omega_video_last: float = 0.0
    omega_audio: float = 0.0

    def __post_init__(self):
        if self.mode not in GUIDANCE_MODES:
            raise ValueError(f"guidance mode {self.mode!r} is not one of {GUIDANCE_MODES}")
        for w in (self.omega_video_first, self.omega_video_last, self.omega_audio):
            if not (math.isfinite(w) and w >= 0):
                raise ValueError(f"guidance scale ω must be finite and ≥ 0, not {w}")

    def needs_negative(self) -> bool:
        return self.mode != "none" and (self.omega_video_first != 0.0
                                        or self.omega_video_last != 0.0
                                        or self.omega_audio != 0.0)

    def video_omega(self, frame: int, n_frames: int) -> float:
        if n_frames <= 1:
            return self.omega_video_first
        fraction = frame / (n_frames - 1)
        return self.omega_video_first + fraction * (self.omega_video_last - self.omega_video_first)


def _guide(x0: torch.Tensor, negative: torch.Tensor, omega: float) -> torch.Tensor:
    # (1 + ω) x̂₀ − ω N, as the engine's axpby; untouched when ω = 0.
    return x0 if omega == 0.0 else (1.0 + omega) * x0 - omega * negative


# ---- the pipeline ----

@dataclass
class Condition:
    image_latent: torch.Tensor      # (C, h, w), noise augmentation included
    image_embedding: torch.Tensor   # (D,)
    added_time_ids: torch.Tensor    # (3,)


class Pipeline:
    """A bundle's models in one dtype, and the engine's generation steps."""

    def __init__(self, path, dtype: torch.dtype = torch.float64):
        self.config, tensors = bundle.read_bundle(path)
        self.dtype = dtype
        self.model = JointDiT(self.config)
        self.model.load_state_dict({n: t.to(dtype) for n, t in tensors.items()})
        self.model.to(dtype).eval()
        shapes = self.config["shapes"]
        self.video_shape = (shapes["frames"], *shapes["video_latent"])
        self.audio_shape = tuple(shapes["audio_latent"])
        self.fps = float(self.config["joint"]["video_fps"])
        self.schedule = Schedule()

    # jd-generate.c: set_condition
    @torch.no_grad()
    def condition(self, rgb: np.ndarray, seed: int,
                  noise_aug_strength: float = DEFAULT_NOISE_AUG_STRENGTH,
                  motion_bucket_id: float = DEFAULT_MOTION_BUCKET_ID,
                  condition_fps: float = 0.0) -> Condition:
        """rgb: (H, W, 3) uint8 at the model's size."""
        # The engine maps bytes to [-1, 1] in float32 (x / 127.5f − 1.0f).
        planes = torch.from_numpy(rgb.astype(np.float32).transpose(2, 0, 1).copy())
        host = planes / np.float32(127.5) - np.float32(1.0)
        image = host.to(self.dtype)[None]
        latent = self.model.video["vae"].encode(image)
        noise = torch.from_numpy(philox.normal_like(seed, NOISE_OFFSET_CONDITION,
                                                    tuple(latent.shape))).to(self.dtype)
        latent = latent + noise_aug_strength * noise
        size = self.config["image_encoder"]["image_size"]
        unit = (np.float32(0.5) * (host + np.float32(1.0))).to(self.dtype)[None]
        embedding = self.model.image_encoder(clip_preprocess(unit, size))
        fps = condition_fps if condition_fps > 0 else self.fps
        ids = torch.tensor([fps - 1.0, motion_bucket_id, noise_aug_strength], dtype=self.dtype)
        return Condition(latent[0], embedding[0], ids)

    # jd-jointdit.c: jointdit_denoise, one call
    @torch.no_grad()
    def denoise(self, video: torch.Tensor, audio: torch.Tensor, point: Point,
                condition: Condition, conditioned: bool, attention: str):
        latent = condition.image_latent if conditioned else torch.zeros_like(condition.image_latent)
        context = condition.image_embedding if conditioned else torch.zeros_like(
            condition.image_embedding)
        video_x0, audio_x0 = self.denoise_batch(
            video[None], audio[None], point, latent[None], context[None],
            condition.added_time_ids[None],
            condition.image_embedding[None] if conditioned else None, attention)
        return video_x0[0], audio_x0[0]

    @torch.no_grad()
    def denoise_batch(self, video: torch.Tensor, audio: torch.Tensor, point: Point,
                      image_latent: torch.Tensor, context: torch.Tensor,
                      added_time_ids: torch.Tensor, audio_image_embeds: torch.Tensor | None,
                      attention: str):
        """x̂₀ of a batch at one point: video (B, F, C, h, w) with image_latent (B, C, h, w),
        context (B, D) and added_time_ids (B, 3); audio (B, C, T, F_mel) with
        audio_image_embeds (B, D), or None for its null condition (also what an audio UNet
        without an image projection gets)."""
        sigma = point.sigma
        b, frames = video.shape[:2]
        sample = torch.cat([edm_c_in(sigma) * video,
                            image_latent[:, None].expand(-1, frames, -1, -1, -1)], dim=2)
        if self.config["audio_unet"].get("image_embed_dim", 0) <= 0:
            audio_image_embeds = None
        v_out, a_out = self.model(
            sample, torch.full((b,), edm_c_noise(sigma), dtype=self.dtype), context[:, None],
            added_time_ids, audio, torch.full((b,), float(point.audio_index), dtype=self.dtype),
            audio_image_embeds, attention)
        va, vb = v_prediction_to_x0(sigma)
        aa, ab = eps_prediction_to_x0(point.alpha_bar)
        return va * video + vb * v_out, aa * audio + ab * a_out

    # jd-sampler.c: jd_sample
    @torch.no_grad()
    def sample(self, condition: Condition, seed: int, steps: int, guidance: Guidance,
               on_step=None) -> tuple[torch.Tensor, torch.Tensor]:
        points = self.schedule.grid(steps)
        sigma_max = self.schedule.config.sigma_max
        # The engine scales the float32 noise by (float) √(σ_max² + 1) in float32.
        video_noise = philox.normal_like(seed, NOISE_OFFSET_VIDEO, self.video_shape)
        video = torch.from_numpy(video_noise).to(self.dtype) * math.sqrt(sigma_max ** 2 + 1.0)
        audio = torch.from_numpy(philox.normal_like(seed, NOISE_OFFSET_AUDIO,
                                                    self.audio_shape)).to(self.dtype)
        frames = self.video_shape[0]
        x0_video = x0_audio = None
        for i, point in enumerate(points):
            x0_video, x0_audio = self.denoise(video, audio, point, condition, True, "full")
            if guidance.needs_negative():
                n_video, n_audio = self.denoise(video, audio, point, condition, False,
                                                NEGATIVE_ATTENTION[guidance.mode])
                x0_video = torch.stack([_guide(x0_video[f], n_video[f],
                                               guidance.video_omega(f, frames))
                                        for f in range(frames)])
                x0_audio = _guide(x0_audio, n_audio, guidance.omega_audio)
            if i + 1 < steps:
                ea, eb = edm_euler_step(point.sigma, points[i + 1].sigma)
                da, db = ddim_step(point.alpha_bar, points[i + 1].alpha_bar)
                video = ea * video + eb * x0_video
                audio = da * audio + db * x0_audio
            if on_step is not None:
                on_step(i + 1, steps, point)
        return x0_video, x0_audio

    # jd-generate.c: decode_video
    @torch.no_grad()
    def decode_video(self, x0: torch.Tensor) -> torch.Tensor:
        """(F, 3, H, W) in about [-1, 1]."""
        scale = self.config["video_vae"]["scaling_factor"]
        return self.model.video["vae"].decode(x0 * (1.0 / scale), x0.shape[0])

    # jd-generate.c: decode_audio (the mel half)
    @torch.no_grad()
    def decode_mel(self, x0: torch.Tensor) -> torch.Tensor:
        """log-mel (frames, bins)."""
        scale = self.config["audio_vae"]["scaling_factor"]
        return self.model.audio["vae"].decode((x0 * (1.0 / scale))[None])[0, 0]

    def has_matching_vocoder(self, bins: int) -> bool:
        return ("vocoder" in self.config
                and self.config["vocoder"]["model_in_dim"] == bins)

    def sample_rate(self) -> int:
        rate = self.config.get("vocoder", {}).get("sampling_rate", AUDIOLDM_MEL["sample_rate"])
        return int(self.config["shapes"].get("sample_rate", rate))

    def hop_length(self) -> int:
        if "vocoder" in self.config:
            return int(np.prod(self.config["vocoder"]["upsample_rates"]))
        return AUDIOLDM_MEL["hop"]

    @torch.no_grad()
    def decode_pcm(self, mel: torch.Tensor) -> np.ndarray:
        """PCM (frames · hop samples) from the log-mel: the vocoder when it takes this many
        bins, else Griffin-Lim with the engine's settings (32 iterations, momentum 0.99, GRand
        seed 1), as jd-generate.c decides."""
        frames, bins = mel.shape
        samples = frames * self.hop_length()
        if self.has_matching_vocoder(bins):
            wave = self.model.audio["vocoder"](mel[None])[0]
            out = np.zeros(samples)
            n = min(samples, wave.shape[0])
            out[:n] = wave[:n].double().numpy()
            return out
        return griffin_lim(mel.double(), self.sample_rate(), self.hop_length(), samples)


def grand_doubles(seed: int, count: int) -> np.ndarray:
    """GLib's g_rand_double stream of g_rand_new_with_seed(seed): MT19937 seeded by
    init_genrand (GLib ≥ 2.2), each double from two 32-bit outputs, (a·2⁻³² + b)·2⁻³², redrawn
    when it rounds to 1.  Python's random module is the same MT19937; only its seeding differs,
    so the state is set directly."""
    mt = [seed & 0xFFFFFFFF]
    for i in range(1, 624):
        mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + i) & 0xFFFFFFFF)
    rng = random.Random()
    rng.setstate((3, tuple(mt) + (624,), None))
    transform = 2.3283064365386962890625e-10
    out = np.empty(count)
    for i in range(count):
        while True:
            value = rng.getrandbits(32) * transform
            value = (value + rng.getrandbits(32)) * transform
            if value < 1.0:
                break
        out[i] = value
    return out


def griffin_lim(log_mel: torch.Tensor, sample_rate: int, hop: int, samples: int,
                iterations: int = 32, momentum: float = 0.99, seed: int = 1) -> np.ndarray:
    """Griffin-Lim as the engine runs it for a bundle without a matching vocoder
    (jd-generate.c griffin_lim → jd_griffin_lim_log_mel): magnitude = max(F⁺ exp(log-mel), 0)
    with F the Slaney filters (n_mels = the mel's bins, fmax = sample_rate/2) and F⁺ their
    pseudo-inverse; AudioLDM's STFT (n_fft 1024, periodic Hann) at the given hop with a reflect
    pad of (n_fft − hop)/2; initial phases 2π·g_rand_double from GRand seeded with `seed`; the
    fast (momentum) update; the signal kept in float32 between iterations as the engine keeps
    it.  Equal to the engine up to the FFTs' own rounding."""
    n_fft = AUDIOLDM_MEL["n_fft"]
    frames, n_mels = log_mel.shape
    bins = n_fft // 2 + 1
    pad = (n_fft - hop) // 2
    fb = mel_filters(sample_rate, n_fft, n_mels, 0.0, sample_rate / 2.0).numpy()
    inverse = fb.T @ np.linalg.inv(fb @ fb.T)
    magnitude = np.maximum(np.exp(log_mel.double().numpy()) @ inverse.T, 0.0)  # (frames, bins)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    length = n_fft + (frames - 1) * hop
    weight = np.zeros(length)
    for f in range(frames):
        weight[f * hop:f * hop + n_fft] += window * window

    def inverse_stft(re: np.ndarray, im: np.ndarray) -> np.ndarray:
        out = np.fft.irfft(re + 1j * im, n=n_fft, axis=1) * window
        total = np.zeros(length)
        for f in range(frames):
            total[f * hop:f * hop + n_fft] += out[f]
        j = np.arange(samples) + pad
        ok = (j < length)
        value = np.zeros(samples)
        jj = j[ok]
        value[ok] = np.where(weight[jj] > 1e-11, total[jj] / np.where(weight[jj] > 1e-11,
                                                                      weight[jj], 1.0), 0.0)
        return value.astype(np.float32)

    def forward_stft(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = signal.astype(np.float64)
        padded = np.concatenate([x[1:pad + 1][::-1], x, x[-pad - 1:-1][::-1]])
        idx = np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]
        spec = np.fft.rfft(padded[idx] * window, axis=1)
        return spec.real.copy(), spec.imag.copy()

    u = grand_doubles(seed, frames * bins).reshape(frames, bins)
    angle = [2.0 * math.pi * v for v in u.ravel().tolist()]
    re = np.array([math.cos(a) for a in angle]).reshape(frames, bins)
    im = np.array([math.sin(a) for a in angle]).reshape(frames, bins)
    prev_re, prev_im = np.zeros_like(re), np.zeros_like(im)
    blend = momentum / (1.0 + momentum)
    for _ in range(iterations):
        signal = inverse_stft(re * magnitude, im * magnitude)
        rb_re, rb_im = forward_stft(signal)
        c_re, c_im = rb_re - blend * prev_re, rb_im - blend * prev_im
        norm = np.hypot(c_re, c_im)
        keep = norm > 1e-16
        safe = np.where(keep, norm, 1.0)
        re = np.where(keep, c_re / safe, 1.0)
        im = np.where(keep, c_im / safe, 0.0)
        prev_re, prev_im = rb_re, rb_im
    return inverse_stft(re * magnitude, im * magnitude).astype(np.float64)
