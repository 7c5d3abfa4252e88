"""Pieces several scenes share: a wall-and-floor background with contrasting objects."""

import numpy as np

from .. import textures
from ..raster import Canvas


def wall_and_floor(rng, cfg, floor_y, dark):
    """A static background: textured wall above floor_y, textured floor below.  dark=True keeps
    both dark (so bright objects stand out), False keeps them bright."""
    cv = Canvas(cfg.width, cfg.height)
    lum = (0.08, 0.35) if dark else (0.6, 0.9)
    wall = textures.make_texture(rng, *textures.palette(rng, lum))
    floor = textures.make_texture(rng, *textures.palette(rng, lum), scale=0.5)
    img = np.where((cv.y < floor_y)[..., None], wall(cv.x, cv.y), floor(cv.x, cv.y * 2.0))
    # a soft darker band where wall meets floor helps read the ground line
    img *= 1.0 - 0.25 * np.exp(-((cv.y - floor_y) / (1.5 * cv.px)) ** 2)[..., None]
    img += textures.grain(rng, img.shape)
    return cv, np.clip(img, 0, 1)


def object_palette(rng, dark_background):
    """Colours for a foreground object that contrast with a dark or bright background."""
    return textures.palette(rng, (0.6, 0.95) if dark_background else (0.04, 0.3))
