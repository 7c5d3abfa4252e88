"""Event sounds: a few exponentially decaying modes set by material and speed, a short
band-limited noise click (or a longer scratch), and sine beeps.

Every voice starts exactly at its event time, not at the nearest sample: the modes and every
envelope are evaluated at (n / sample_rate − t0), so a sound starting between two samples has the
correctly shifted phase.  A 0.2 ms raised-sine attack keeps the onset sharp but free of a step."""

from dataclasses import dataclass

import numpy as np

from .world import SAMPLE_RATE

ATTACK = 0.0002           # s
MASTER_GAIN = 0.25        # fixed, so loudness carries strength from clip to clip
PEAK_LIMIT = 0.95

# Per material: base frequency range (Hz), mode ratios, decay of the lowest mode (s, range),
# click centre (Hz), click width (octaves), click level, click decay (s).
MATERIALS = {
    "wood":   dict(f0=(160, 360), ratios=(1.0, 2.57, 4.22, 6.1), decay=(0.035, 0.06),
                   click_hz=1800, click_oct=1.6, click=0.8, click_decay=0.003),
    "metal":  dict(f0=(520, 1100), ratios=(1.0, 2.76, 5.40, 8.93), decay=(0.10, 0.15),
                   click_hz=4000, click_oct=1.2, click=0.6, click_decay=0.002),
    "glass":  dict(f0=(1300, 2400), ratios=(1.0, 2.32, 4.25), decay=(0.06, 0.10),
                   click_hz=6000, click_oct=1.0, click=0.7, click_decay=0.0015),
    "dirt":   dict(f0=(70, 130), ratios=(1.0, 1.6, 2.3), decay=(0.015, 0.03),
                   click_hz=400, click_oct=2.0, click=1.0, click_decay=0.010),
    "rubber": dict(f0=(110, 240), ratios=(1.0, 1.93, 3.1), decay=(0.02, 0.035),
                   click_hz=900, click_oct=2.0, click=0.9, click_decay=0.004),
    "water":  dict(f0=(900, 2600), ratios=(1.0, 2.1), decay=(0.008, 0.02),
                   click_hz=3500, click_oct=1.8, click=1.0, click_decay=0.002),
}


def attack_envelope(tau):
    """0 before the onset, a raised sine over ATTACK, then 1."""
    ramp = np.sin(0.5 * np.pi * np.clip(tau / ATTACK, 0.0, 1.0)) ** 2
    return np.where(tau >= 0.0, ramp, 0.0)


def _span(t0, length, sample_rate, total):
    """Sample indices from the first sample at or after t0 for `length` seconds."""
    first = max(0, int(np.ceil(t0 * sample_rate - 1e-9)))
    last = min(total, int(np.ceil((t0 + length) * sample_rate)) + 1)
    return np.arange(first, max(first, last))


@dataclass
class Modes:
    t0: float
    freqs: np.ndarray
    decays: np.ndarray
    amps: np.ndarray
    phases: np.ndarray

    def add_to(self, buf, sample_rate):
        n = _span(self.t0, 9.0 * float(np.max(self.decays)), sample_rate, len(buf))
        if not len(n):
            return
        tau = n / sample_rate - self.t0
        x = np.zeros(len(n))
        for f, d, a, p in zip(self.freqs, self.decays, self.amps, self.phases):
            x += a * np.exp(-tau / d) * np.sin(2 * np.pi * f * tau + p)
        buf[n] += attack_envelope(tau) * x


@dataclass
class Noise:
    """Band-limited noise: a burst that holds for `hold` s then decays with `decay` s.  The noise
    itself lives on the sample grid; its envelope starts at t0 exactly."""
    t0: float
    centre_hz: float
    octaves: float
    amp: float
    decay: float
    hold: float
    seed: int
    roughness: float = 0.0   # amplitude flutter of a scratch (stick-slip), 0 for a click

    def add_to(self, buf, sample_rate):
        length = self.hold + 9.0 * self.decay
        n = _span(self.t0, length, sample_rate, len(buf))
        if not len(n):
            return
        rng = np.random.Generator(np.random.PCG64(self.seed))
        size = int(np.ceil(length * sample_rate)) + 2
        spectrum = np.fft.rfft(rng.standard_normal(size))
        freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
        octave = np.log2(np.maximum(freqs, 1.0) / self.centre_hz)
        spectrum *= np.exp(-0.5 * (octave / (0.5 * self.octaves)) ** 2)
        noise = np.fft.irfft(spectrum, size)
        noise /= max(np.sqrt(np.mean(noise ** 2)), 1e-12)
        tau = n / sample_rate - self.t0
        env = attack_envelope(tau) * np.exp(-np.maximum(tau - self.hold, 0.0) / self.decay)
        if self.roughness:  # a scratch: the drag builds up over 10 ms and flutters
            flutter = rng.uniform(25, 60)
            env *= np.clip(tau / 0.01, 0.0, 1.0)
            env *= 1.0 + self.roughness * np.sin(2 * np.pi * flutter * tau) ** 2
        buf[n] += self.amp * env * noise[: len(n)]


@dataclass
class Beep:
    t0: float
    freq: float
    duration: float
    amp: float
    release: float = 0.005

    def add_to(self, buf, sample_rate):
        n = _span(self.t0, self.duration + self.release, sample_rate, len(buf))
        if not len(n):
            return
        tau = n / sample_rate - self.t0
        tail = np.clip((self.duration + self.release - tau) / self.release, 0.0, 1.0)
        env = attack_envelope(tau) * np.sin(0.5 * np.pi * tail) ** 2
        buf[n] += self.amp * env * np.sin(2 * np.pi * self.freq * tau)


def impact(rng, t0, material, strength, brightness=1.0):
    """Voices of one impact: modes whose upper partials grow with strength (a harder hit is
    brighter), plus a click.  Draws its random numbers from rng in a fixed order."""
    m = MATERIALS[material]
    f0 = rng.uniform(*m["f0"])
    decay0 = rng.uniform(*m["decay"])
    ratios = np.array(m["ratios"]) * (1.0 + rng.uniform(-0.02, 0.02, len(m["ratios"])))
    freqs = f0 * ratios
    keep = freqs < 0.45 * SAMPLE_RATE
    order = np.arange(len(ratios))
    amps = strength * (0.6 ** order) * strength ** (0.5 * order) * brightness ** order
    amps *= rng.uniform(0.7, 1.0, len(ratios))
    decays = decay0 / np.sqrt(ratios)
    # an impulse sets each mode's velocity, and the radiated pressure follows the velocity, so
    # the modes start near their crest (cosine phase): the onset is heard at once
    phases = 0.5 * np.pi + rng.uniform(-0.4, 0.4, len(ratios))
    click = Noise(t0, m["click_hz"] * (0.7 + 0.6 * strength), m["click_oct"],
                  m["click"] * strength, m["click_decay"], 0.0, int(rng.integers(2 ** 63)))
    return [Modes(t0, freqs[keep], decays[keep], amps[keep], phases[keep]), click]


def scratch(rng, t0, material, strength, duration):
    """A stick dragged over the material: the touch-down click, then rough band-passed noise for
    `duration` seconds, with a faint excitation of the material's lowest mode."""
    m = MATERIALS[material]
    touch = Noise(t0, m["click_hz"] * 1.5, m["click_oct"], 1.5 * m["click"] * strength,
                  m["click_decay"], 0.0, int(rng.integers(2 ** 63)))
    noise = Noise(t0, m["click_hz"] * rng.uniform(0.6, 1.2), m["click_oct"] + 0.5,
                  0.6 * strength, 0.02, duration, int(rng.integers(2 ** 63)), roughness=0.8)
    f0 = rng.uniform(*m["f0"])
    ring = Modes(t0, np.array([f0]), np.array([rng.uniform(*m["decay"])]),
                 np.array([0.25 * strength]), np.array([rng.uniform(0, 2 * np.pi)]))
    return [touch, noise, ring]


def mix(voices, cfg):
    """Sums the voices into cfg.samples samples at the fixed master gain, scaled down only if
    the peak would reach PEAK_LIMIT."""
    buf = np.zeros(cfg.samples)
    for voice in voices:
        voice.add_to(buf, cfg.sample_rate)
    buf *= MASTER_GAIN
    peak = float(np.max(np.abs(buf))) if len(buf) else 0.0
    if peak > PEAK_LIMIT:
        buf *= PEAK_LIMIT / peak
    return buf
