"""The engine's joint sampler and generation pipeline in PyTorch, step for step as
engine/sampling/jd-schedule.c, jd-sampler.c, jd-guidance.c, engine/models/jd-jointdit.c (the
denoiser) and engine/jd-generate.c (condition, sample, decode) do it, with the same Philox noise
(jointdit_reference/philox.py).  Everything runs in the model's dtype (float64 by default).

Layouts as the engine's: video latent (F, C, h, w), audio latent (C, T, F_mel); the Philox
element index of a noise tensor is its flat C-order index plus the stream's offset.
"""
import math
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
        sigma = point.sigma
        frames = video.shape[0]
        latent = condition.image_latent if conditioned else torch.zeros_like(condition.image_latent)
        context = condition.image_embedding if conditioned else torch.zeros_like(
            condition.image_embedding)
        sample = torch.cat([edm_c_in(sigma) * video,
                            latent[None].expand(frames, -1, -1, -1)], dim=1)[None]
        image_embeds = None
        if conditioned and self.config["audio_unet"].get("image_embed_dim", 0) > 0:
            image_embeds = condition.image_embedding[None]
        v_out, a_out = self.model(
            sample, torch.tensor([edm_c_noise(sigma)], dtype=self.dtype), context[None, None],
            condition.added_time_ids[None], audio[None],
            torch.tensor([float(point.audio_index)], dtype=self.dtype), image_embeds, attention)
        va, vb = v_prediction_to_x0(sigma)
        aa, ab = eps_prediction_to_x0(point.alpha_bar)
        return va * video + vb * v_out[0], aa * audio + ab * a_out[0]

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
    def decode_pcm(self, mel: torch.Tensor, seed: int = 0) -> np.ndarray:
        """PCM (frames · hop samples) from the log-mel: the vocoder when it takes this many
        bins, else Griffin-Lim (the engine's choice).  The vocoder path matches the engine; the
        Griffin-Lim path is the same algorithm but not the same initial phases (the engine draws
        them from GLib's GRand), so it is only a listenable stand-in."""
        frames, bins = mel.shape
        samples = frames * self.hop_length()
        if self.has_matching_vocoder(bins):
            wave = self.model.audio["vocoder"](mel[None])[0]
            out = np.zeros(samples)
            n = min(samples, wave.shape[0])
            out[:n] = wave[:n].double().numpy()
            return out
        return griffin_lim(mel.double(), self.sample_rate(), self.hop_length(), samples, seed)


def griffin_lim(log_mel: torch.Tensor, sample_rate: int, hop: int, samples: int, seed: int,
                iterations: int = 32, momentum: float = 0.99) -> np.ndarray:
    """Fast Griffin-Lim (librosa's momentum form) from a log-mel (frames, bins), AudioLDM's STFT
    with the given hop; mel → magnitude by the filters' pseudo-inverse, clamped at 0."""
    n_fft = AUDIOLDM_MEL["n_fft"]
    frames, bins = log_mel.shape
    fb = mel_filters(sample_rate, n_fft, bins, 0.0, sample_rate / 2.0)
    magnitude = torch.clamp(torch.linalg.pinv(fb) @ torch.exp(log_mel).T, min=0)
    pad = (n_fft - hop) // 2
    window = torch.hann_window(n_fft, dtype=torch.float64)
    length = samples + 2 * pad

    def stft(x):
        return torch.stft(x, n_fft, hop_length=hop, window=window, center=False,
                          return_complex=True)[:, :frames]

    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * math.pi * torch.rand(magnitude.shape, generator=gen,
                                                 dtype=torch.float64))
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        coeffs = magnitude * angles
        signal = _overlap_add(coeffs, window, hop, n_fft, length)
        rebuilt = stft(signal)
        angles = rebuilt - (momentum / (1 + momentum)) * previous
        previous = rebuilt
        angles = angles / torch.clamp(angles.abs(), min=1e-16)
    signal = _overlap_add(magnitude * angles, window, hop, n_fft, length)
    return signal[pad:pad + samples].numpy()


def _overlap_add(coeffs: torch.Tensor, window: torch.Tensor, hop: int, n_fft: int,
                 length: int) -> torch.Tensor:
    """Inverse STFT by windowed overlap-add, normalised by the summed squared window."""
    frames = torch.fft.irfft(coeffs.T, n=n_fft) * window
    out = torch.zeros(length, dtype=torch.float64)
    norm = torch.zeros(length, dtype=torch.float64)
    for t in range(frames.shape[0]):
        start = t * hop
        end = min(start + n_fft, length)
        out[start:end] += frames[t, :end - start]
        norm[start:end] += window[:end - start] ** 2
    return out / torch.clamp(norm, min=1e-8)
