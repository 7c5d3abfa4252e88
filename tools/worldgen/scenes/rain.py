"""rain: drops fall on a surface; each splash is a click at the moment the drop lands.

Each drop falls at a constant (terminal) speed from above the picture to its landing point on
the surface, so the falling streak (motion blur) foretells the splash; after landing it spreads
as a fading ring.  Landing times are random, at least MIN_GAP apart."""

import numpy as np

from .. import raster, sound, textures
from ..world import Event, Scene, check_times, event_window, max_events, spaced_times

SPLASH_TIME = 0.18   # s the ring stays visible


def build(rng, cfg, options):
    # when and how hard things happen comes from its own stream, so forcing the times (tests,
    # evaluation) leaves the look of the scene unchanged
    timing = np.random.Generator(np.random.PCG64(int(rng.integers(2 ** 63))))
    start, end = event_window(cfg)
    if options.get("times") is not None:
        times = [float(t) for t in options["times"]]
        check_times(times, cfg)
    else:
        most = min(9, max_events(cfg))
        count = int(timing.integers(min(3, most), most + 1))
        times = spaced_times(timing, count, start, end)
    cv = raster.Canvas(cfg.width, cfg.height)
    horizon = rng.uniform(0.35, 0.55)
    sky = textures.make_texture(rng, *textures.palette(rng, (0.2, 0.45)), kind="gradient")
    water = textures.make_texture(rng, *textures.palette(rng, (0.1, 0.35)), kind="noise", scale=0.4)
    img = np.where((cv.y < horizon)[..., None], sky(cv.x, cv.y), water(cv.x, (cv.y - horizon) * 3))
    background = np.clip(img + textures.grain(rng, img.shape), 0, 1)
    drop_colour = textures.colour(rng, rng.uniform(0.5, 0.65), (0.05, 0.3), (0.85, 1.0))
    drops = []
    for t in times:
        land_y = timing.uniform(horizon + 0.08, 0.95)
        land_x = timing.uniform(0.08, cfg.aspect - 0.08)
        speed = timing.uniform(1.5, 2.5)            # image heights per second
        size = 0.02 + 0.03 * (land_y - horizon) # nearer drops are larger
        strength = float(timing.uniform(0.4, 1.0))
        drops.append((t, land_x, land_y, speed, size, strength))

    def draw(t):
        img = background.copy()
        for te, x, y, speed, size, s in drops:
            if t < te:
                fy = y - speed * (te - t)
                if fy > -size:
                    drop = raster.ellipse(cv, x, fy, size * 0.7, size * 1.3)
                    raster.paint(img, drop, drop_colour)
            elif t < te + SPLASH_TIME:
                u = (t - te) / SPLASH_TIME
                rx = size * (1.0 + 4.0 * u)
                ring = raster.ellipse_ring(cv, x, y, rx, 0.35 * rx, 0.8 * cv.px + 0.3 * size)
                raster.paint(img, ring * (1.0 - u) * (0.4 + 0.6 * s), drop_colour)
        return img

    events, voices = [], []
    for te, x, y, speed, size, s in drops:
        events.append(Event(te, "splash", (x / cfg.aspect, y), "water", s))
        voices += sound.impact(rng, te, "water", s)
    params = {"horizon_y": horizon, "splash_seconds": SPLASH_TIME}
    return Scene("rain", events, voices, draw, params)
