"""The reference sampler: the engine's schedule grid, guidance rules, and sample.py reproducing
the committed sampling golden (tests/fixtures/reference/sampling-golden.safetensors)."""
import pathlib
import subprocess
import sys
import tempfile
import unittest
import wave

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from jointdit_reference import bundle, sampling  # noqa: E402
import make_sampling_fixtures  # noqa: E402
import sample  # noqa: E402

FIXTURES = HERE.parents[1] / "tests" / "fixtures" / "reference"
GOLDEN = FIXTURES / "sampling-golden.safetensors"
PARITY = FIXTURES / "parity.safetensors"

# jd_schedule_make_grid (default schedule, 4 steps), printed by a throwaway C program linking
# engine/sampling/jd-schedule.c: (t_uni, σ_v, t_a), each float64 printed with %.17g.
ENGINE_GRID_4 = [
    (0.9998723705906758, 700.00000000011107, 999),
    (0.66658416173897428, 4.0100376824656268, 666),
    (0.33329595288727265, 1.0107289740236312, 333),
    (7.744035571022323e-06, 0.0020000000000021875, 0),
]


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


class ScheduleTest(unittest.TestCase):
    def test_grid_matches_engine(self):
        grid = sampling.Schedule().grid(4)
        self.assertEqual([(p.t_uni, p.sigma, p.audio_index) for p in grid], ENGINE_GRID_4)

    def test_grid_indices_distinct_and_refused_beyond_range(self):
        schedule = sampling.Schedule()
        for n in (1, 2, 25, 200, 1000):
            idx = [p.audio_index for p in schedule.grid(n)]
            self.assertEqual(len(set(idx)), n)
            self.assertEqual(idx, sorted(idx, reverse=True))
        with self.assertRaisesRegex(ValueError, "step count"):
            schedule.grid(1001)

    def test_quantile_inverts_cdf(self):
        for p in (1e-12, 1e-5, 0.1, 0.5, 0.77, 1 - 1e-9):
            self.assertAlmostEqual(sampling.normal_cdf(sampling.normal_quantile(p)) / p, 1.0,
                                   delta=1e-13)


class GuidanceTest(unittest.TestCase):
    def test_zero_omega_skips_negative_and_ramp(self):
        self.assertFalse(sampling.Guidance("joint-star").needs_negative())
        self.assertFalse(sampling.Guidance("none", 2, 2, 2).needs_negative())
        ramp = sampling.Guidance("cfg", 0.0, 2.0, 0.0)
        self.assertTrue(ramp.needs_negative())
        self.assertEqual([ramp.video_omega(f, 5) for f in range(5)], [0, 0.5, 1, 1.5, 2])
        with self.assertRaises(ValueError):
            sampling.Guidance("cfg", -1, -1, 0)


@unittest.skipUnless(GOLDEN.exists() and PARITY.exists(),
                     "tests/fixtures/reference/sampling-golden.safetensors is missing")
class GoldenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.golden, cls.meta = bundle.read_safetensors(GOLDEN)

    def test_image_is_the_scripts(self):
        image = make_sampling_fixtures.test_image()
        np.testing.assert_array_equal(self.golden["image"].numpy().astype(np.uint8), image)

    def test_joint_star_in_process(self):
        pipe = sampling.Pipeline(PARITY)
        image = make_sampling_fixtures.test_image()
        cond = pipe.condition(image, make_sampling_fixtures.SEED)
        video, audio = pipe.sample(cond, make_sampling_fixtures.SEED, make_sampling_fixtures.STEPS,
                                   make_sampling_fixtures.CASES["joint_star"])
        self.assertLess(rel_err(video, self.golden["joint_star.video"]), 1e-6)
        self.assertLess(rel_err(audio, self.golden["joint_star.audio"]), 1e-6)
        # ω matters: the unguided golden is far away.
        self.assertGreater(rel_err(video, self.golden["none.video"]), 1e-2)

    def test_sample_cli_reproduces_golden(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = pathlib.Path(tmp)
            image = make_sampling_fixtures.test_image()
            sample.write_png(tmp / "image.png", image)
            np.testing.assert_array_equal(sample.read_image(tmp / "image.png"), image)
            subprocess.run(
                [sys.executable, str(HERE / "sample.py"), "--model", str(PARITY),
                 "--image", str(tmp / "image.png"), "--steps", str(make_sampling_fixtures.STEPS),
                 "--guidance", "none", "--omega", "0", "--seed",
                 str(make_sampling_fixtures.SEED), "--frames", str(tmp / "frames"),
                 "--wav", str(tmp / "out.wav"), "--latents", str(tmp / "latents.safetensors")],
                check=True, capture_output=True)
            latents, _ = bundle.read_safetensors(tmp / "latents.safetensors")
            self.assertLess(rel_err(latents["video"], self.golden["none.video"]), 1e-6)
            self.assertLess(rel_err(latents["audio"], self.golden["none.audio"]), 1e-6)
            expected = sample.frames_to_bytes(self.golden["none.frames"])
            pngs = sorted((tmp / "frames").glob("frame-*.png"))
            self.assertEqual(len(pngs), expected.shape[0])
            for png, frame in zip(pngs, expected):
                diff = np.abs(sample.read_image(png).astype(int) - frame.astype(int))
                self.assertLessEqual(int(diff.max()), 1, png.name)
            with wave.open(str(tmp / "out.wav")) as w:
                mel_frames = self.golden["none.mel"].shape[0]
                self.assertEqual(w.getnframes(), mel_frames * 160)
                self.assertEqual(w.getframerate(), 16000)
                pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767.0
            # The random model's sound runs past ±1; the WAV clips it, as 16-bit PCM must.
            golden_pcm = self.golden["none.pcm"].double().clamp(-1.0, 1.0)
            self.assertLess(rel_err(torch.from_numpy(pcm), golden_pcm), 1e-3)

    def test_grand_stream(self):
        # g_rand_double of g_rand_new_with_seed (1), printed by a throwaway C program (%.17g).
        self.assertEqual(sampling.grand_doubles(1, 3).tolist(),
                         [0.99718480823026556, 0.93255736136816547, 0.128124447772306])


if __name__ == "__main__":
    unittest.main()
