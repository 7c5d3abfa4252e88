"""strike: a stick hits or scratches a patch of wood, metal, glass or dirt.

The contact times are drawn at random (the picture does not fix them): only a model that
generates picture and sound together can keep them in step.  Between contacts the stick's tip
swings up and back down along a half sine, so it meets the patch with a speed; the height of the
swing grows with the strength of the hit it leads to.  A scratch keeps the tip on the patch and
drags it sideways for SCRATCH_TIME, making rough band-passed noise."""

import math

import numpy as np

from .. import raster, sound, textures
from ..world import Event, Scene, check_times, event_window, max_events, spaced_times
from .common import object_palette, wall_and_floor

MATERIALS = ("wood", "metal", "glass", "dirt")
SCRATCH_TIME = 0.14   # s the tip stays on the patch (shorter than the minimum event spacing)
RISE_TIME = 0.25      # s to lift the stick after the last contact


def material_texture(rng, material):
    if material == "wood":
        a = textures.colour(rng, rng.uniform(0.05, 0.1), (0.5, 0.8), (0.35, 0.6))
        return textures.make_texture(rng, a, a * 0.6, kind="stripes", scale=0.4)
    if material == "metal":
        a = np.full(3, rng.uniform(0.55, 0.8))
        return textures.make_texture(rng, a, a * 0.55 + 0.1, kind="gradient", scale=0.5)
    if material == "glass":
        a = textures.colour(rng, rng.uniform(0.45, 0.6), (0.15, 0.4), (0.8, 1.0))
        return textures.make_texture(rng, a, a * 0.75, kind="gradient", scale=0.3)
    a = textures.colour(rng, rng.uniform(0.06, 0.12), (0.4, 0.7), (0.2, 0.4))
    return textures.make_texture(rng, a, a * 0.5, kind="noise", scale=0.15)


def build(rng, cfg, options):
    # when and how hard things happen comes from its own stream, so forcing the times (tests,
    # evaluation) leaves the look of the scene unchanged
    timing = np.random.Generator(np.random.PCG64(int(rng.integers(2 ** 63))))
    material = options.get("material") or MATERIALS[rng.integers(len(MATERIALS))]
    if material not in MATERIALS:
        raise ValueError(f"strike: unknown material {material!r}; known: {', '.join(MATERIALS)}")
    start, end = event_window(cfg)
    if options.get("times") is not None:
        times = [float(t) for t in options["times"]]
        check_times(times, cfg)
    else:
        count = int(timing.integers(1, min(6, max_events(cfg)) + 1))
        times = spaced_times(timing, count, start, end)
    kinds = ["scratch" if timing.uniform() < 0.3 else "hit" for _ in times]
    strengths = [float(timing.uniform(0.45, 1.0)) for _ in times]

    surface = rng.uniform(0.72, 0.84)
    dark = bool(rng.integers(2))
    cv, background = wall_and_floor(rng, cfg, surface, dark)
    patch_w = rng.uniform(0.45, 0.7) * cfg.aspect
    patch_x0 = rng.uniform(0.05, cfg.aspect - patch_w - 0.05)
    patch_h = rng.uniform(0.06, 0.1)
    patch = raster.box(cv, patch_x0, surface - patch_h, patch_x0 + patch_w, surface)
    background = raster.paint(background.copy(), patch, material_texture(rng, material)(cv.x, cv.y))
    top = surface - patch_h                         # the tip touches the patch at this height
    hand_side = 1 if rng.uniform() < 0.5 else -1    # stick held from the right or the left
    stick_len = rng.uniform(0.45, 0.6)
    stick_r = rng.uniform(0.012, 0.02)
    stick_tex = textures.make_texture(rng, *object_palette(rng, dark), kind="stripes", scale=0.3)
    max_lift = min(0.3, top - 0.15)
    tip_x = [float(timing.uniform(patch_x0 + 0.1 * patch_w, patch_x0 + 0.9 * patch_w))
             for _ in times]
    drag = [float(timing.uniform(0.15, 0.3) * patch_w * (1 if timing.uniform() < 0.5 else -1))
            for _ in times]
    tip_x = [min(max(x, patch_x0 + 0.3 * patch_w), patch_x0 + 0.7 * patch_w) for x in tip_x]
    lifts = [max_lift * (0.35 + 0.65 * s) for s in strengths]
    leave = [t + (SCRATCH_TIME if k == "scratch" else 0.0) for t, k in zip(times, kinds)]

    def tip(t):
        """The stick tip at continuous time t: (x, height above the patch)."""
        if not times:
            return patch_x0 + 0.5 * patch_w, 0.6 * max_lift
        i = int(np.searchsorted(times, t, side="right"))   # contacts at or before t
        if i == 0:
            u = t / times[0]                               # first descent from rest
            return tip_x[0], lifts[0] * math.sin(0.5 * math.pi * (1.0 - u))
        j = i - 1
        if t < leave[j]:                                  # dragging on the patch
            u = (t - times[j]) / SCRATCH_TIME
            return tip_x[j] + drag[j] * (0.5 - 0.5 * math.cos(math.pi * u)), 0.0
        x_from = tip_x[j] + (drag[j] if kinds[j] == "scratch" else 0.0)
        if i == len(times):                                # final rise, then rest
            u = min(1.0, (t - leave[j]) / RISE_TIME)
            return x_from, 0.6 * max_lift * math.sin(0.5 * math.pi * u)
        u = (t - leave[j]) / (times[i] - leave[j])         # swing to the next contact
        return x_from + (tip_x[i] - x_from) * u, lifts[i] * math.sin(math.pi * u)

    def draw(t):
        img = background.copy()
        x, lift = tip(t)
        ty = top - lift - stick_r
        angle = math.radians(35) * hand_side
        hx, hy = x + stick_len * math.sin(angle), ty - stick_len * math.cos(angle)
        cov = raster.capsule(cv, x, ty, hx, hy, stick_r)
        along = (cv.x - x) * math.sin(angle) - (cv.y - ty) * math.cos(angle)
        raster.paint_texture(img, cov, stick_tex, along, 0.0 * along)
        return img

    events, voices = [], []
    for t, kind, s, x in zip(times, kinds, strengths, tip_x):
        events.append(Event(t, kind, (x / cfg.aspect, top), material, s))
        if kind == "hit":
            voices += sound.impact(rng, t, material, s)
        else:
            voices += sound.scratch(rng, t, material, s, SCRATCH_TIME)
    params = {"material": material, "surface_y": top, "scratch_seconds": SCRATCH_TIME}
    return Scene("strike", events, voices, draw, params, extras={"tip": tip})
