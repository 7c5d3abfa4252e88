"""Philox 4x32-10 and the engine's Gaussian mapping, bit for bit as engine/core/jd-philox.c.

Element i of a noise tensor drawn with (seed, offset) uses the counter (offset + i, 0) (low word
first) under the 64-bit key seed (low word first); output words w0, w1 become
u = (w + 0.5) / 2^32 and z = sqrt(-2 ln u1) * cos(2 pi u2), evaluated in float64 with the engine's
own ln and cos2pi (only +, -, *, / and sqrt, each rounded once) and rounded to float32.  numpy's
float64 array operations round once per operation and never fuse, so the vectorised code below
gives the same bits as the C code as long as the order of operations is the same (it is kept
line for line).
"""
import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)

LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
SQRT_HALF = 0.70710678118654752440
HALF_PI = 1.57079632679489661923


def philox4x32_10(counter, key0: int, key1: int):
    """One Philox 4x32-10 block per element: counter is a sequence of four uint32 arrays (or
    ints); returns four uint64 arrays holding the 32-bit output words."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & MASK32 for c in counter)
    k0, k1 = key0 & 0xFFFFFFFF, key1 & 0xFFFFFFFF
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> SHIFT32, p0 & MASK32
        hi1, lo1 = p1 >> SHIFT32, p1 & MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0 = (k0 + W0) & 0xFFFFFFFF
        k1 = (k1 + W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def log(x):
    """ln x for x in (0, 1], as jd_philox_log: ln m = 2 atanh((m-1)/(m+1)) summed to s^27."""
    x = np.asarray(x, dtype=np.float64)
    m, k = np.frexp(x)
    low = m < SQRT_HALF
    m = np.where(low, m * 2.0, m)
    k = np.where(low, k - 1, k).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    total = np.zeros_like(s)
    for n in range(27, 2, -2):
        total = (total + 1.0 / float(n)) * s2
    ln_m = 2.0 * s + 2.0 * s * total
    return k * LN2_HI + (k * LN2_LO + ln_m)


def _sincos_quadrant(theta):
    t2 = theta * theta
    s = np.zeros_like(theta)
    c = np.zeros_like(theta)
    for n in range(25, 2, -2):
        s = (s + 1.0) * (-t2 / (float(n) * float(n - 1)))
    s = theta + theta * s
    for n in range(24, 1, -2):
        c = (c + 1.0) * (-t2 / (float(n) * float(n - 1)))
    c = 1.0 + c
    return s, c


def cos2pi(u):
    """cos(2 pi u) for u in [0, 1), as jd_philox_cos2pi (quadrant + Taylor series)."""
    u = np.asarray(u, dtype=np.float64)
    q = u * 4.0
    quadrant = np.floor(q)
    fraction = q - quadrant
    s, c = _sincos_quadrant(fraction * HALF_PI)
    quad = quadrant.astype(np.int64) & 3
    return np.select([quad == 0, quad == 1, quad == 2], [c, -s, -c], s)


def normal_from_words(w0, w1):
    inv_2_32 = 1.0 / 4294967296.0
    u1 = (np.asarray(w0).astype(np.float64) + 0.5) * inv_2_32
    u2 = (np.asarray(w1).astype(np.float64) + 0.5) * inv_2_32
    radius = np.sqrt(-2.0 * log(u1))
    return (radius * cos2pi(u2)).astype(np.float32)


def normal(seed: int, offset: int, count: int) -> np.ndarray:
    """float32 array of jd_philox_normal(seed, offset + i) for i in 0..count-1."""
    seed &= 0xFFFFFFFFFFFFFFFF
    index = np.uint64(offset & 0xFFFFFFFFFFFFFFFF) + np.arange(count, dtype=np.uint64)
    w0, w1, _, _ = philox4x32_10((index & MASK32, index >> SHIFT32, 0, 0),
                                 seed & 0xFFFFFFFF, seed >> 32)
    return normal_from_words(w0, w1)


def normal_like(seed: int, offset: int, shape) -> np.ndarray:
    """A float32 noise array of `shape`, element index = flat (C-order) index + offset."""
    return normal(seed, offset, int(np.prod(shape))).reshape(shape)
