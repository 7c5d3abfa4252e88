"""The committed decoder fixtures are what make_decoder_fixtures.py writes now (deterministic),
so they cannot drift from the reference code."""
import pathlib
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
SCRIPT = HERE.parent / "make_decoder_fixtures.py"
COMMITTED = HERE.parents[2] / "tests" / "fixtures" / "reference"


class DecoderFixtures(unittest.TestCase):
    def test_regenerated_files_are_identical(self):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, str(SCRIPT), "-o", tmp], check=True,
                           stdout=subprocess.DEVNULL)
            for name in ("decoders.safetensors", "decoders-golden.safetensors"):
                with self.subTest(name=name):
                    self.assertEqual((pathlib.Path(tmp) / name).read_bytes(),
                                     (COMMITTED / name).read_bytes())


if __name__ == "__main__":
    unittest.main()
