"""pendulum: a bob on a rod swings and an escapement ticks at every turning point.

θ(t) = θ₀·cos(ω t + φ) with ω = √(g/L) (small-angle motion, the same g as every scene);
turning points (θ' = 0) fall at t = (kπ − φ)/ω, half a period T/2 = π/ω apart.  The phase
φ is drawn so that no turn falls in the first or last EDGE_MARGIN of the clip: every turning point
in the clip ticks."""

import math

import numpy as np

from .. import raster, sound, textures
from ..world import EDGE_MARGIN, GRAVITY, Event, Scene
from .common import object_palette, wall_and_floor


def turning_points(theta0, omega, phase, seconds):
    """Times in [EDGE_MARGIN, seconds − EDGE_MARGIN] where the swing turns."""
    times, k = [], math.ceil((phase + omega * EDGE_MARGIN) / math.pi - 1e-12)
    while True:
        t = (k * math.pi - phase) / omega
        if t > seconds - EDGE_MARGIN:
            return times
        if t >= EDGE_MARGIN:
            times.append(t)
        k += 1


def build(rng, cfg, options):
    bob_r = rng.uniform(0.05, 0.08)
    for _ in range(100):
        length = rng.uniform(0.3, 0.6)             # rod, in image heights
        omega = math.sqrt(GRAVITY / length)
        theta0 = rng.uniform(0.25, 0.5)            # rad
        # narrow pictures: swing less so the bob stays inside
        fit = (0.5 * cfg.aspect - bob_r - 0.02) / length
        theta0 = min(theta0, math.asin(max(0.05, min(1.0, fit))))
        # the first turn comes at least EDGE_MARGIN in; which side it turns at is random
        first_turn = rng.uniform(EDGE_MARGIN, math.pi / omega)   # the turn before is at ≤ 0
        phase = (math.pi * rng.integers(2) - omega * first_turn) % (2 * math.pi)
        last = turning_points(theta0, omega, phase, cfg.seconds + 2 * EDGE_MARGIN)
        # no silent turn in the final margin either (redraw; a very short clip may not allow it)
        if not any(cfg.seconds - EDGE_MARGIN < t <= cfg.seconds for t in last):
            break
    reach = min(length * math.sin(theta0) + bob_r + 0.02, 0.5 * cfg.aspect)
    pivot_x = rng.uniform(reach, cfg.aspect - reach)
    pivot_y = rng.uniform(0.08, 0.25)
    material = ("wood", "metal")[rng.integers(2)]
    dark = bool(rng.integers(2))
    cv, background = wall_and_floor(rng, cfg, rng.uniform(0.88, 0.97), dark)
    background = raster.paint(background.copy(), raster.disk(cv, pivot_x, pivot_y, 0.02),
                              np.full(3, 0.5))
    bob_tex = textures.make_texture(rng, *object_palette(rng, dark),
                                    kind="noise" if material == "wood" else "gradient", scale=0.5)
    rod_colour = np.full(3, 0.85 if dark else 0.15)

    def angle(t):
        return theta0 * math.cos(omega * t + phase)

    def bob(t):
        a = angle(t)
        return pivot_x + length * math.sin(a), pivot_y + length * math.cos(a)

    def draw(t):
        img = background.copy()
        bx, by = bob(t)
        raster.paint(img, raster.capsule(cv, pivot_x, pivot_y, bx, by, 0.008), rod_colour)
        raster.paint_texture(img, raster.disk(cv, bx, by, bob_r), bob_tex,
                             (cv.x - bx) / bob_r, (cv.y - by) / bob_r)
        return img

    strength = 0.5 + theta0
    events, voices = [], []
    for t in turning_points(theta0, omega, phase, cfg.seconds):
        bx, by = bob(t)
        events.append(Event(t, "tick", (bx / cfg.aspect, by), material, strength))
        voices += sound.impact(rng, t, material, strength, brightness=1.5)
    params = {"gravity": GRAVITY, "length": length, "theta0": theta0, "omega": omega,
              "phase": phase, "period": 2 * math.pi / omega,
              "pivot": [pivot_x / cfg.aspect, pivot_y]}
    return Scene("pendulum", events, voices, draw, params, extras={"bob": bob, "angle": angle,
                                                            "background": background,
                                                            "bob_radius": bob_r})
