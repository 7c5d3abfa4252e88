"""The committed converter fixtures (tests/fixtures/checkpoints) are what
make_checkpoint_fixtures.py makes: regenerated into a temporary folder, every file is equal byte
for byte. Needs diffusers and transformers (the venv of tools/reference/README.md); skipped,
saying so, where they are absent (Debian's Python has neither)."""
import filecmp
import importlib.util
import pathlib
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "checkpoints"
SCRIPT = ROOT / "tools" / "convert" / "make_checkpoint_fixtures.py"


@unittest.skipUnless(importlib.util.find_spec("diffusers") and importlib.util.find_spec("transformers"),
                     "diffusers/transformers not installed (use the venv of tools/reference/README.md)")
class FixturesCurrent(unittest.TestCase):
    def test_regenerated_fixtures_equal_the_committed_ones(self):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, str(SCRIPT), "--out", tmp], check=True,
                           capture_output=True)
            made = sorted(p.relative_to(tmp) for p in pathlib.Path(tmp).rglob("*") if p.is_file())
            committed = sorted(p.relative_to(FIXTURES) for p in FIXTURES.rglob("*")
                               if p.is_file() and "published" not in p.parts)
            self.assertEqual(made, committed)
            for rel in made:
                self.assertTrue(filecmp.cmp(pathlib.Path(tmp) / rel, FIXTURES / rel, shallow=False),
                                f"{rel} differs from what the script makes")



class FixturesSmall(unittest.TestCase):
    def test_under_five_megabytes(self):
        total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
        self.assertLess(total, 5_000_000)


if __name__ == "__main__":
    unittest.main()
