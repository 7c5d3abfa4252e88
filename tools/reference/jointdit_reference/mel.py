"""AudioLDM's log-mel front end (HiFi-GAN's mel_spectrogram): reflect-pad (n_fft - hop) / 2 on
both sides, STFT without centring (periodic Hann), magnitude, librosa's Slaney mel filters,
log(clamp(x, 1e-5)).  The filters follow librosa.filters.mel(htk=False, norm="slaney"),
written out here because librosa is not a dependency."""
import math

import torch
from torch.nn import functional as F

AUDIOLDM_MEL = {"sample_rate": 16000, "n_fft": 1024, "hop": 160, "win": 1024, "n_mels": 64,
                "fmin": 0.0, "fmax": 8000.0}


def hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = math.log(6.4) / 27.0
    linear = f / f_sp
    log = min_log_hz / f_sp + torch.log(torch.clamp(f, min=1e-10) / min_log_hz) / logstep
    return torch.where(f >= min_log_hz, log, linear)


def mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return torch.where(m >= min_log_mel, min_log_hz * torch.exp(logstep * (m - min_log_mel)),
                       f_sp * m)


def mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    """(n_mels, 1 + n_fft // 2), float64."""
    fftfreqs = torch.linspace(0, sr / 2, 1 + n_fft // 2, dtype=torch.float64)
    lo, hi = hz_to_mel(torch.tensor(fmin, dtype=torch.float64)), hz_to_mel(
        torch.tensor(fmax, dtype=torch.float64))
    mel_f = mel_to_hz(torch.linspace(float(lo), float(hi), n_mels + 2, dtype=torch.float64))
    fdiff = mel_f[1:] - mel_f[:-1]
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = torch.clamp(torch.minimum(lower, upper), min=0)
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    return weights * enorm[:, None]


def log_mel(wave: torch.Tensor, cfg: dict = AUDIOLDM_MEL) -> torch.Tensor:
    """wave (samples,) -> log-mel (frames, n_mels), frames = samples // hop for multiples."""
    pad = (cfg["n_fft"] - cfg["hop"]) // 2
    y = F.pad(wave[None, None], (pad, pad), mode="reflect")[0, 0]
    window = torch.hann_window(cfg["win"], dtype=wave.dtype)
    spec = torch.stft(y, cfg["n_fft"], hop_length=cfg["hop"], win_length=cfg["win"],
                      window=window, center=False, return_complex=True)
    fb = mel_filters(cfg["sample_rate"], cfg["n_fft"], cfg["n_mels"], cfg["fmin"], cfg["fmax"])
    return torch.log(torch.clamp(fb @ spec.abs(), min=1e-5)).T
