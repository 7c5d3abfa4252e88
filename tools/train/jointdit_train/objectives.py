"""The training objective of DESIGN.md section 4, the exact partner of the engine's sampler
(tools/reference/jointdit_reference/sampling.py):

* one unified timestep t_uni per sample; video log sigma = P_mean + P_std * Phi^-1(t_uni),
  audio DDPM index ceil(1000 t_uni) - 1 with alpha_bar from the same beta schedule;
* video: EDM with SVD's v-prediction preconditioning, x0_hat = c_skip x + c_out F;
* audio: epsilon-prediction, a0_hat = (x_t - sqrt(1 - alpha_bar) eps_hat) / sqrt(alpha_bar);
* L = lambda1 w_v(sigma) |v0 - v0_hat|^2 + lambda2 w_a(t) |a0 - a0_hat|^2,
  w_v = (sigma^2 + 1) / sigma^2, w_a = alpha_bar / (1 - alpha_bar);
* condition dropout nulls every condition of a sample together.
"""
import math

import torch

from . import paths  # noqa: F401
from jointdit_reference import sampling


class UnifiedTimestep:
    """Vectorised t_uni -> (sigma, audio index, alpha_bar), equal to sampling.Schedule.point."""

    def __init__(self, config: sampling.ScheduleConfig | None = None):
        self.schedule = sampling.Schedule(config)
        c = self.schedule.config
        self.p_mean, self.p_std, self.steps = c.p_mean, c.p_std, c.train_steps
        self.alpha_bar = torch.tensor(self.schedule.alpha_bar, dtype=torch.float64)
        # The sampler's grid never leaves [t(sigma_max), t(sigma_min)]; neither does training.
        self.t_lo = self.schedule.t_uni_of_sigma(c.sigma_min)
        self.t_hi = self.schedule.t_uni_of_sigma(c.sigma_max)

    def draw(self, batch: int, generator: torch.Generator | None = None,
             low_share: float = 0.0, low_sigma: float = 1.0) -> torch.Tensor:
        """t_uni uniform on the sampler's range; with low_share > 0 that share of the samples is
        drawn uniformly from the low-noise end only, [t(sigma_min), t(low_sigma)] (the mapping
        t_uni -> sigma, audio index is unchanged: only where training spends its steps)."""
        u = torch.rand(batch, generator=generator, dtype=torch.float64)
        t = self.t_lo + (self.t_hi - self.t_lo) * u
        if low_share > 0.0:
            t_low = self.schedule.t_uni_of_sigma(low_sigma)
            low = torch.rand(batch, generator=generator, dtype=torch.float64) < low_share
            t = torch.where(low, self.t_lo + (t_low - self.t_lo) * u, t)
        return t

    def sigma(self, t_uni: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.p_mean + self.p_std * torch.special.ndtri(t_uni.double()))

    def audio_index(self, t_uni: torch.Tensor) -> torch.Tensor:
        index = torch.ceil(self.steps * t_uni.double()).long() - 1
        return index.clamp(0, self.steps - 1)

    def point(self, t_uni: torch.Tensor):
        index = self.audio_index(t_uni)
        return self.sigma(t_uni), index, self.alpha_bar[index]


def _bcast(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.dtype).to(like.device).view(-1, *([1] * (like.dim() - 1)))


def video_noisy(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor):
    """EDM forward process and the denoiser's input scaling: (x, c_in x, c_noise)."""
    s = _bcast(sigma, x0)
    x = x0 + s * noise
    return x, x / torch.sqrt(s * s + 1.0), (0.25 * torch.log(sigma)).to(x0.dtype).to(x0.device)


def video_x0(x: torch.Tensor, v_out: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x0_hat from SVD's v-prediction (sampling.v_prediction_to_x0)."""
    s = _bcast(sigma, x)
    s2 = s * s + 1.0
    return x / s2 - s / torch.sqrt(s2) * v_out


def video_loss(x0: torch.Tensor, x0_hat: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """w_v(sigma) |x0 - x0_hat|^2 per sample (mean over elements), w_v = (sigma^2+1)/sigma^2."""
    w = (sigma * sigma + 1.0) / (sigma * sigma)
    per = (x0 - x0_hat).square().flatten(1).mean(1)
    return w.to(per.dtype).to(per.device) * per


def audio_noisy(a0: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    ab = _bcast(alpha_bar, a0)
    return torch.sqrt(ab) * a0 + torch.sqrt(1.0 - ab) * noise


def audio_x0(x: torch.Tensor, eps: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """a0_hat from the epsilon-prediction (sampling.eps_prediction_to_x0)."""
    ab = _bcast(alpha_bar, x)
    return (x - torch.sqrt(1.0 - ab) * eps) / torch.sqrt(ab)


def audio_loss(a0: torch.Tensor, a0_hat: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """w_a(t) |a0 - a0_hat|^2 per sample, w_a = alpha_bar / (1 - alpha_bar) (= the eps-MSE)."""
    w = alpha_bar / (1.0 - alpha_bar)
    per = (a0 - a0_hat).square().flatten(1).mean(1)
    return w.to(per.dtype).to(per.device) * per


def condition_keep(batch: int, p_drop: float, generator: torch.Generator | None = None):
    """(batch,) bool: True keeps the sample's conditions, False nulls all of them together."""
    return torch.rand(batch, generator=generator) >= p_drop


def null_conditions(keep: torch.Tensor, image_latent: torch.Tensor, context: torch.Tensor,
                    image_embeds: torch.Tensor):
    """The engine's null condition for the dropped samples, all together: zero image latent and
    zero context for video; for audio the image_proj addition is skipped, which the caller does
    with the returned audio mask (image_embeds times 0 would still add image_proj's bias)."""
    k = keep.to(image_latent.device)
    lat = image_latent * _bcast(k.float(), image_latent)
    ctx = context * _bcast(k.float(), context)
    return lat, ctx, image_embeds, k


def ema_decay(step: int, limit: float) -> float:
    """EMA warm-up (1 + n) / (10 + n), capped at `limit`."""
    return min(limit, (1.0 + step) / (10.0 + step))


def scheduled_lr(step: int, progress: float, base: float, warmup: int) -> float:
    """Linear warm-up over the first `warmup` steps, then a cosine from `base` down to
    base/10 over the stage's progress (0..1: elapsed share of its time, or of its steps)."""
    cosine = base * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))
    return cosine * min(1.0, (step + 1) / warmup)
