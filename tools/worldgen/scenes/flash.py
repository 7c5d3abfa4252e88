"""flash: a lamp (or the whole picture) flashes and a beep sounds at the same instant.

Brightness jumps at the event time and fades exponentially; the beep is a sine burst that starts
at the same time.  Times are random, so only the joint picture and sound agree on them."""

import math

import numpy as np

from .. import raster, sound, textures
from ..world import Event, Scene, check_times, event_window, max_events, spaced_times


def build(rng, cfg, options):
    # when and how hard things happen comes from its own stream, so forcing the times (tests,
    # evaluation) leaves the look of the scene unchanged
    timing = np.random.Generator(np.random.PCG64(int(rng.integers(2 ** 63))))
    start, end = event_window(cfg)
    if options.get("times") is not None:
        times = [float(t) for t in options["times"]]
        check_times(times, cfg)
    else:
        count = int(timing.integers(1, min(5, max_events(cfg)) + 1))
        times = spaced_times(timing, count, start, end)
    strengths = [float(timing.uniform(0.5, 1.0)) for _ in times]
    whole_frame = options.get("whole_frame")
    whole_frame = bool(rng.uniform() < 0.3) if whole_frame is None else bool(whole_frame)
    fade = rng.uniform(0.06, 0.14)
    cv = raster.Canvas(cfg.width, cfg.height)
    wall = textures.make_texture(rng, *textures.palette(rng, (0.05, 0.3)))
    background = np.clip(wall(cv.x, cv.y) + textures.grain(rng, (cfg.height, cfg.width)), 0, 1)
    light = textures.colour(rng, sat=(0.2, 0.7), val=(0.9, 1.0))
    side = min(0.3, 0.5 * cfg.aspect)
    lamp_x = rng.uniform(side, cfg.aspect - side)
    lamp_y = rng.uniform(0.3, 0.6)
    lamp_r = min(rng.uniform(0.08, 0.14), 0.4 * cfg.aspect)
    # the lamp's housing, drawn once; its glass lights up
    housing = raster.box(cv, lamp_x - 0.05, lamp_y - lamp_r - 0.25,
                         lamp_x + 0.05, lamp_y - lamp_r + 0.01)
    background = raster.paint(background.copy(), housing, np.full(3, 0.15))
    glass_cov = raster.disk(cv, lamp_x, lamp_y, lamp_r)
    glow = np.exp(-(np.hypot(cv.x - lamp_x, cv.y - lamp_y) / (2.5 * lamp_r)) ** 2)
    dim_glass = 0.25 * light

    def brightness(t):
        b = 0.0
        for te, s in zip(times, strengths):
            if t >= te:
                b += s * math.exp(-(t - te) / fade)
        return min(b, 1.0)

    def draw(t):
        b = brightness(t)
        img = background.copy()
        if whole_frame:
            img += b * 0.8 * light
        else:
            img += (b * 0.7 * glow)[..., None] * light
        raster.paint(img, glass_cov, dim_glass + b * (light - dim_glass))
        return np.clip(img, 0, 1)

    freq = float(rng.uniform(400, 2000))
    beep_len = float(rng.uniform(0.06, 0.15))
    position = (0.5, 0.5) if whole_frame else (lamp_x / cfg.aspect, lamp_y)
    events = [Event(t, "flash", position, None, s) for t, s in zip(times, strengths)]
    voices = [sound.Beep(t, freq, beep_len, 0.9 * s) for t, s in zip(times, strengths)]
    params = {"whole_frame": whole_frame, "fade_seconds": fade, "beep_hz": freq,
              "beep_seconds": beep_len}
    return Scene("flash", events, voices, draw, params, extras={"brightness": brightness})
