"""Philox 4x32-10 known answers and bit identity with the engine's Gaussian noise."""
import pathlib
import sys
import unittest

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from jointdit_reference import philox  # noqa: E402

# Random123's kat_vectors (philox4x32 R=10), as tests/test-philox.c uses them.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]

# (seed, element index, float32 bits of jd_philox_normal): printed once by a throwaway C program
# that linked engine/core/jd-philox.c (compiled with -ffp-contract=off, as engine/meson.build
# builds it) and called jd_philox_normal(seed, index).
ENGINE_VALUES = [
    (0x0000000000000000, 0x00000000000, 0x3F7DBB33),
    (0x0000000000000000, 0x00000000007, 0x3F617FE9),
    (0x0000000000000000, 0x10000000000, 0x40037759),
    (0x0000000000000000, 0x000FFFFFFFF, 0xBD97C183),
    (0x0000000000000001, 0x00000000000, 0x3EC2C3E3),
    (0x0000000000000001, 0x00000000007, 0xBF97B48F),
    (0x0000000000000001, 0x10000000000, 0xBC925E15),
    (0x0000000000000001, 0x000FFFFFFFF, 0xBEBAC63A),
    (0x000000000000002A, 0x00000000000, 0xBF785E5C),
    (0x000000000000002A, 0x00000000007, 0xBF99A316),
    (0x000000000000002A, 0x10000000000, 0x3EFD7819),
    (0x000000000000002A, 0x000FFFFFFFF, 0xBD6F15C2),
    (0x00000000013501F7, 0x00000000000, 0xBFF0B574),
    (0x00000000013501F7, 0x00000000007, 0xBFB03B6F),
    (0x00000000013501F7, 0x10000000000, 0x3EC378A1),
    (0x00000000013501F7, 0x000FFFFFFFF, 0xBF3ACF1F),
    (0xFFFFFFFFFFFFFFFF, 0x00000000000, 0x3F8C9EC9),
    (0xFFFFFFFFFFFFFFFF, 0x00000000007, 0x3D234FAE),
    (0xFFFFFFFFFFFFFFFF, 0x10000000000, 0x3FA91669),
    (0xFFFFFFFFFFFFFFFF, 0x000FFFFFFFF, 0xBF3D2570),
    (0x0000000100000000, 0x00000000000, 0x3E03389D),
    (0x0000000100000000, 0x00000000007, 0xBEE96F83),
    (0x0000000100000000, 0x10000000000, 0xBFE557F4),
    (0x0000000100000000, 0x000FFFFFFFF, 0x3FCC14CB),
]

# FNV-1a (64-bit) over the float32 bit patterns of jd_philox_normal(7, 2^40 + i), i < 100000,
# from the same throwaway C program.
ENGINE_FNV_SEED7_AUDIO_100000 = 0xB06E421431AAFC7C


class PhiloxTest(unittest.TestCase):
    def test_known_answers(self):
        for counter, key, expected in KNOWN_ANSWERS:
            out = philox.philox4x32_10(counter, *key)
            self.assertEqual([int(w) for w in out], list(expected))

    def test_engine_values_bit_identical(self):
        for seed, index, bits in ENGINE_VALUES:
            z = philox.normal(seed, index, 1)
            self.assertEqual(int(z.view(np.uint32)[0]), bits, f"seed {seed:#x} index {index:#x}")

    def test_engine_stream_bit_identical(self):
        z = philox.normal(7, 1 << 40, 100000).view(np.uint32)
        h = 1469598103934665603
        for b in z.tolist():
            h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        self.assertEqual(h, ENGINE_FNV_SEED7_AUDIO_100000)

    def test_log_and_cos_close_to_libm(self):
        rng = np.random.default_rng(3)
        x = (rng.integers(0, 2**32, 10000).astype(np.float64) + 0.5) / 2**32
        self.assertLess(np.max(np.abs(philox.log(x) - np.log(x)) / np.maximum(1, np.abs(np.log(x)))), 4e-16)
        self.assertLess(np.max(np.abs(philox.cos2pi(x) - np.cos(2 * np.pi * x))), 2e-15)

    def test_offsets_are_tails(self):
        long = philox.normal(5, 100, 50)
        np.testing.assert_array_equal(philox.normal(5, 120, 30), long[20:])
        self.assertFalse(np.array_equal(philox.normal(6, 100, 50), long))


if __name__ == "__main__":
    unittest.main()
