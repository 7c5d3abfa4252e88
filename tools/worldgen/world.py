"""The world's constants, the clip configuration, events, and how event times are drawn.

Units: lengths are in image heights (y grows downwards, x from 0 to width/height), times in
seconds.  Time convention (DESIGN.md §3): frame k covers [k/fps, (k+1)/fps) and its nominal time
is the centre of that interval, (k + ½)/fps; it is rendered as the mean of sub-frames spread
uniformly over the interval, so motion blur is centred on that time too."""

import math
from dataclasses import dataclass, field

import numpy as np

GRAVITY = 8.0           # image heights per s²: one gravity for every scene
MIN_GAP = 0.200         # s between two events
EDGE_MARGIN = 0.120     # s without events at the start and at the end of a clip
SAMPLE_RATE = 16000
SUBFRAMES = 8           # sub-frames averaged per frame (motion blur)


@dataclass(frozen=True)
class Config:
    """What one clip looks like; the defaults match the default model (DESIGN.md §6)."""
    fps: float = 12.5
    seconds: float = 2.56
    width: int = 64
    height: int = 64
    sample_rate: int = SAMPLE_RATE
    subframes: int = SUBFRAMES

    @property
    def frames(self):
        return int(round(self.seconds * self.fps))

    @property
    def samples(self):
        return int(round(self.seconds * self.sample_rate))

    @property
    def aspect(self):
        return self.width / self.height

    def frame_interval(self, k):
        return k / self.fps, (k + 1) / self.fps

    def frame_time(self, k):
        """The frame's nominal time: the centre of its interval."""
        return (k + 0.5) / self.fps

    def subframe_times(self, k):
        """Times of the sub-frames averaged into frame k: midpoints of K equal slices."""
        return (k + (np.arange(self.subframes) + 0.5) / self.subframes) / self.fps

    def validate(self):
        """Returns a list of sentences saying what is wrong (empty when the config is usable)."""
        problems = []
        if not (self.fps > 0 and math.isfinite(self.fps)):
            problems.append(f"--fps must be a positive number, got {self.fps}")
        if not (self.seconds > 0 and math.isfinite(self.seconds)):
            problems.append(f"--seconds must be a positive number, got {self.seconds}")
        if problems:
            return problems
        if self.seconds < 2 * EDGE_MARGIN + 0.1:
            problems.append(f"--seconds must be at least {2 * EDGE_MARGIN + 0.1:.2f} so that "
                            f"events fit between the {EDGE_MARGIN * 1000:.0f} ms margins, "
                            f"got {self.seconds}")
        if abs(self.seconds * self.fps - self.frames) > 1e-6 or self.frames < 1:
            problems.append(f"--seconds × --fps must be a whole number of frames, got "
                            f"{self.seconds} × {self.fps} = {self.seconds * self.fps:g}")
        if abs(self.seconds * self.sample_rate - self.samples) > 1e-6:
            problems.append(f"--seconds must be a whole number of {self.sample_rate} Hz samples, "
                            f"got {self.seconds}")
        for name, value in (("width", self.width), ("height", self.height)):
            if not 16 <= value <= 1024:
                problems.append(f"--size {name} must be between 16 and 1024 pixels, got {value}")
        if self.width and self.height and not 0.5 <= self.width / self.height <= 4.0:
            problems.append(f"--size must have a width/height ratio between 1:2 and 4:1, got "
                            f"{self.width}x{self.height}")
        if self.subframes < 1:
            problems.append(f"sub-frames per frame must be at least 1, got {self.subframes}")
        return problems


@dataclass
class Event:
    """A visible cause of a sound.  position is (x, y) in [0, 1] image coordinates (x to the
    right, y down); material is None where it has no meaning (flash); strength is in (0, 1]."""
    time: float
    kind: str
    position: tuple
    material: object
    strength: float

    def to_json(self):
        return {"time": float(self.time), "kind": self.kind,
                "position": [float(self.position[0]), float(self.position[1])],
                "material": self.material, "strength": float(self.strength)}


@dataclass
class Scene:
    """What a scene module builds: its events, the sounds they make, a renderer of the picture
    at any continuous time, and the parameters that define it (written to truth.json)."""
    name: str
    events: list
    voices: list
    draw: object                      # draw(t) -> H×W×3 float image in [0, 1]
    params: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)  # analytic helpers for tests (not written)


def spaced_times(rng, count, start, end, gap=MIN_GAP):
    """count times in [start, end], consecutive ones at least gap apart, drawn uniformly over all
    such arrangements (sorted uniform slack plus fixed gaps).  Continuous, never snapped."""
    slack = (end - start) - (count - 1) * gap
    if count < 1 or slack < 0:
        raise ValueError(f"cannot place {count} events at least {gap} s apart in [{start}, {end}]")
    offsets = np.sort(rng.uniform(0.0, slack, size=count))
    return [float(start + o + i * gap) for i, o in enumerate(offsets)]


def event_window(cfg):
    """The interval event times may fall in."""
    return EDGE_MARGIN, cfg.seconds - EDGE_MARGIN


def max_events(cfg, gap=MIN_GAP):
    start, end = event_window(cfg)
    return int(math.floor((end - start) / gap + 1e-9)) + 1


def check_times(times, cfg):
    """Raises ValueError unless times respect the margins and the spacing."""
    start, end = event_window(cfg)
    for i, t in enumerate(times):
        if not start - 1e-12 <= t <= end + 1e-12:
            raise ValueError(f"event time {t:.4f} s lies outside [{start:.3f}, {end:.3f}] s")
        if i and t - times[i - 1] < MIN_GAP - 1e-12:
            raise ValueError(f"events at {times[i - 1]:.4f} s and {t:.4f} s are closer than "
                             f"{MIN_GAP * 1000:.0f} ms")
