"""Procedural textures and colours.  A texture is a function of coordinate arrays (u, v), so the
same texture paints a static background or a moving, rotating object in its own frame."""

import colorsys

import numpy as np

KINDS = ("stripes", "checker", "noise", "gradient")


def colour(rng, hue=None, sat=(0.35, 0.9), val=(0.35, 0.95)):
    h = rng.uniform(0, 1) if hue is None else hue % 1.0
    return np.array(colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val)))


def luminance(rgb):
    return float(np.dot(rgb, [0.2126, 0.7152, 0.0722]))


def palette(rng, lum_range=None, tries=64):
    """Two related colours; with lum_range, their mean luminance lies in that range."""
    for _ in range(tries):
        hue = rng.uniform(0, 1)
        a = colour(rng, hue)
        b = colour(rng, hue + rng.uniform(-0.15, 0.15))
        if lum_range is None or lum_range[0] <= 0.5 * (luminance(a) + luminance(b)) <= lum_range[1]:
            return a, b
    lum = 0.5 * (lum_range[0] + lum_range[1])  # fall back to greys of the wanted brightness
    return np.full(3, lum * 1.1), np.full(3, lum * 0.9)


def _mix(w, c1, c2):
    return c1 + w[..., None] * (c2 - c1)


class ValueNoise:
    """Smooth periodic value noise on a lattice of random values (two octaves)."""

    def __init__(self, rng, cells=8):
        self.cells = cells
        self.grids = [rng.uniform(0, 1, (cells, cells)), rng.uniform(0, 1, (2 * cells, 2 * cells))]

    @staticmethod
    def _sample(grid, u, v):
        n = grid.shape[0]
        x, y = u * n, v * n
        x0, y0 = np.floor(x), np.floor(y)
        fx, fy = x - x0, y - y0
        fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
        i0, j0 = x0.astype(np.int64) % n, y0.astype(np.int64) % n
        i1, j1 = (i0 + 1) % n, (j0 + 1) % n
        top = grid[j0, i0] + fx * (grid[j0, i1] - grid[j0, i0])
        bottom = grid[j1, i0] + fx * (grid[j1, i1] - grid[j1, i0])
        return top + fy * (bottom - top)

    def __call__(self, u, v):
        return (0.65 * self._sample(self.grids[0], u, v)
                + 0.35 * self._sample(self.grids[1], u, v))


def make_texture(rng, c1, c2, kind=None, scale=1.0):
    """Returns texture(u, v) -> (..., 3) colours between c1 and c2.  scale: size of the pattern
    in the coordinate units (1 = one image height for backgrounds, one radius for a ball)."""
    kind = kind or KINDS[rng.integers(len(KINDS))]
    angle = rng.uniform(0, np.pi)
    ca, sa = np.cos(angle), np.sin(angle)
    if kind == "stripes":
        freq = rng.uniform(2.0, 6.0) / scale
        phase, sharp = rng.uniform(0, 2 * np.pi), rng.uniform(1, 4)

        def tex(u, v):
            w = np.sin(2 * np.pi * freq * (u * ca + v * sa) + phase)
            return _mix(np.clip(0.5 + 0.5 * sharp * w, 0, 1), c1, c2)
    elif kind == "checker":
        size = rng.uniform(0.08, 0.25) * scale

        def tex(u, v):
            a, b = (u * ca + v * sa) / size, (-u * sa + v * ca) / size
            w = 0.5 + 0.5 * np.tanh(3.0 * np.sin(np.pi * a) * np.sin(np.pi * b))
            return _mix(w, c1, c2)
    elif kind == "noise":
        noise, period = ValueNoise(rng), rng.uniform(0.6, 1.5) * scale

        def tex(u, v):
            return _mix(np.clip(1.6 * (noise(u / period, v / period) - 0.5) + 0.5, 0, 1), c1, c2)
    elif kind == "gradient":
        centre, slope = rng.uniform(-0.3, 0.3) * scale, rng.uniform(0.8, 2.0) / scale

        def tex(u, v):
            return _mix(np.clip(0.5 + slope * (u * ca + v * sa - centre), 0, 1), c1, c2)
    else:
        raise ValueError(f"unknown texture kind {kind!r}; known: {', '.join(KINDS)}")
    tex.kind = kind
    return tex


def grain(rng, shape, amount=0.015):
    """Fixed fine per-pixel grain for static backgrounds (same in every frame)."""
    return amount * (rng.uniform(-1, 1, shape[:2])[..., None])
