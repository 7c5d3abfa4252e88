"""bounce: a ball dropped from rest at t = 0 from the height the first frame shows.

With one gravity g for the whole world and a restitution e fixed by the ball's material (which
its texture shows), the picture fixes every impact time:
    t₁ = √(2h/g),  v₁ = g·t₁,  t_{k+1} = t_k + 2·e^k·v₁/g.
Once the next flight would be shorter than the minimum event spacing the ball comes to rest
at its last impact (the infinitely many tiny bounces that follow are left out)."""

import math

import numpy as np

from .. import raster, sound, textures
from ..world import EDGE_MARGIN, GRAVITY, MIN_GAP, Event, Scene
from .common import object_palette, wall_and_floor

RESTITUTION = {"rubber": 0.8, "wood": 0.65, "metal": 0.5}
TEXTURE = {"rubber": "stripes", "wood": "noise", "metal": "gradient"}
MAX_IMPACT_SPEED = math.sqrt(2 * GRAVITY * 0.7)  # speed from the highest drop, strength 1


def impact_times(h, e, g, seconds):
    """Impact times and impact speeds of a ball dropped from rest from height h at t = 0."""
    t, v = math.sqrt(2 * h / g), math.sqrt(2 * g * h)
    times, speeds = [], []
    while t < seconds:
        times.append(t)
        speeds.append(v)
        flight = 2 * e * v / g
        if flight < MIN_GAP:
            break
        t, v = t + flight, e * v
    return times, speeds


def height_at(t, h, e, g, times, speeds):
    """Height of the ball's bottom above the ground at continuous time t."""
    if not times or t <= times[0]:
        return max(h - 0.5 * g * t * t, 0.0)
    k = int(np.searchsorted(times, t, side="right")) - 1
    if k == len(times) - 1 and 2 * e * speeds[k] / g < MIN_GAP:
        return 0.0  # at rest
    dt = t - times[k]
    return max(e * speeds[k] * dt - 0.5 * g * dt * dt, 0.0)


def build(rng, cfg, options):
    material = ("rubber", "wood", "metal")[rng.integers(3)]
    e = RESTITUTION[material]
    for _ in range(200):  # draw a drop whose impacts avoid the final margin
        ground = rng.uniform(0.78, 0.9)
        radius = rng.uniform(0.05, 0.085)
        h = rng.uniform(0.2, min(0.7, ground - 2 * radius - 0.04))
        times, speeds = impact_times(h, e, GRAVITY, cfg.seconds)
        inside = [t for t in times if t <= cfg.seconds - EDGE_MARGIN]
        if inside and len(inside) == len(times):
            break
    else:
        raise RuntimeError("bounce: no drop height fits the clip; use a longer --seconds")
    vx = rng.uniform(-0.08, 0.08)
    x_span = (radius + 0.03, cfg.aspect - radius - 0.03)
    x0 = rng.uniform(max(x_span[0], x_span[0] - vx * cfg.seconds),
                     min(x_span[1], x_span[1] - vx * cfg.seconds))
    dark = bool(rng.integers(2))
    cv, background = wall_and_floor(rng, cfg, ground, dark)
    ball_tex = textures.make_texture(rng, *object_palette(rng, dark), kind=TEXTURE[material])
    spin0 = rng.uniform(0, 2 * np.pi)

    def centre(t):
        return x0 + vx * t, ground - radius - height_at(t, h, e, GRAVITY, times, speeds)

    def draw(t, with_ball=True):
        img = background.copy()
        cx, cy = centre(t)
        height = ground - radius - cy
        # contact shadow on the floor in front of the ground line, fading with height
        shadow = raster.ellipse(cv, cx, ground + 0.35 * radius, radius * (1.1 - 0.5 * height),
                                0.25 * radius)
        raster.paint(img, shadow * 0.45 * max(0.0, 1.0 - 1.5 * height), np.zeros(3))
        if with_ball:
            angle = spin0 + vx * t / radius
            du, dv = (cv.x - cx) / radius, (cv.y - cy) / radius
            u = du * math.cos(angle) + dv * math.sin(angle)
            v = -du * math.sin(angle) + dv * math.cos(angle)
            shade = 1.0 - 0.3 * np.clip(0.5 * du + 0.6 * dv, 0, 1.5)
            raster.paint_texture(img, raster.disk(cv, cx, cy, radius), ball_tex, u, v, shade)
        return img

    events, voices = [], []
    for t, v in zip(times, speeds):
        strength = min(1.0, v / MAX_IMPACT_SPEED)
        x, _ = centre(t)
        events.append(Event(t, "bounce", (x / cfg.aspect, ground), material, strength))
        voices += sound.impact(rng, t, material, strength)
    params = {"gravity": GRAVITY, "drop_height": h, "restitution": e, "radius": radius,
              "ground_y": ground, "x0": x0 / cfg.aspect, "vx": vx / cfg.aspect,
              "ball_material": material,
              "units": "image heights, y down; x as a fraction of the width"}
    return Scene("bounce", events, voices, draw, params,
                 extras={"centre": centre, "background": lambda t: draw(t, with_ball=False)})
