"""jointdit_reference.blas: the BLAS PyTorch multiplies with, as training logs and benchmark
tables name it."""
import os
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from jointdit_reference.blas import blas_library, is_reference_blas  # noqa: E402


class Blas(unittest.TestCase):
    def test_names_a_mapped_library_file(self):
        path = blas_library()
        if path in ("built into torch", "unknown"):
            self.skipTest(f"no separate BLAS library in this process ({path})")
        self.assertTrue(os.path.isfile(path), path)
        self.assertIn("blas", os.path.basename(path))
        self.assertEqual(path, os.path.realpath(path))

    def test_tells_the_reference_blas_from_openblas(self):
        self.assertTrue(is_reference_blas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"))
        self.assertFalse(is_reference_blas(
            "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"))
        self.assertFalse(is_reference_blas(
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"))


if __name__ == "__main__":
    unittest.main()
