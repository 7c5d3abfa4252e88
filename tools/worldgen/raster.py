"""Anti-aliased shapes on a pixel grid, compositing, and motion-blurred frame rendering.

Coverage is computed from signed distances in pixel units (a one-pixel ramp), so objects move
smoothly at sub-pixel positions; motion blur comes from averaging sub-frames (world.Config)."""

import numpy as np


class Canvas:
    """Pixel-centre coordinates in scene units: x in [0, width/height], y in [0, 1] downwards."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.px = 1.0 / height  # one pixel in scene units
        xs = (np.arange(width) + 0.5) / height
        ys = (np.arange(height) + 0.5) / height
        self.x, self.y = np.meshgrid(xs, ys)


def _coverage(signed_distance, px):
    return np.clip(0.5 - signed_distance / px, 0.0, 1.0)


def disk(cv, cx, cy, r):
    return _coverage(np.hypot(cv.x - cx, cv.y - cy) - r, cv.px)


def ellipse(cv, cx, cy, rx, ry):
    # distance approximated by scaling the unit-circle distance with the smaller radius
    d = (np.hypot((cv.x - cx) / rx, (cv.y - cy) / ry) - 1.0) * min(rx, ry)
    return _coverage(d, cv.px)


def ellipse_ring(cv, cx, cy, rx, ry, width):
    d = np.abs(np.hypot((cv.x - cx) / rx, (cv.y - cy) / ry) - 1.0) * min(rx, ry) - 0.5 * width
    return _coverage(d, cv.px)


def box(cv, x0, y0, x1, y1):
    dx = np.maximum(x0 - cv.x, cv.x - x1)
    dy = np.maximum(y0 - cv.y, cv.y - y1)
    outside = np.hypot(np.maximum(dx, 0), np.maximum(dy, 0))
    return _coverage(outside + np.minimum(np.maximum(dx, dy), 0), cv.px)


def capsule(cv, ax, ay, bx, by, r):
    """A segment from (ax, ay) to (bx, by) with round ends of radius r (a stick, a rod)."""
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy
    s = np.clip(((cv.x - ax) * vx + (cv.y - ay) * vy) / max(length2, 1e-12), 0, 1)
    return _coverage(np.hypot(cv.x - ax - s * vx, cv.y - ay - s * vy) - r, cv.px)


def paint(img, cov, colour):
    """Composites colour (a 3-vector or an image) over img with coverage cov, in place."""
    img += cov[..., None] * (colour - img)
    return img


def paint_texture(img, cov, texture, u, v, shade=None):
    """Composites texture(u, v) (times shade) over img with coverage cov, in place, evaluating
    the texture only where the object covers a pixel."""
    mask = cov > 0
    if mask.any():
        colour = texture(u[mask], v[mask])
        if shade is not None:
            colour = colour * shade[mask][..., None]
        img[mask] += cov[mask][..., None] * (colour - img[mask])
    return img


def render_frames(draw, cfg):
    """Renders every frame as the mean of cfg.subframes pictures spread over its interval;
    returns frames × H × W × 3 uint8."""
    out = np.empty((cfg.frames, cfg.height, cfg.width, 3), dtype=np.uint8)
    for k in range(cfg.frames):
        acc = np.zeros((cfg.height, cfg.width, 3))
        for t in cfg.subframe_times(k):
            acc += draw(float(t))
        out[k] = to_uint8(acc / cfg.subframes)
    return out


def to_uint8(img):
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
