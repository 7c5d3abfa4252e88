"""tools/train: the training objective against the engine's sampler, condition dropout, resume,
and the exported bundle (tiny config)."""
import argparse
import json
import math
import pathlib
import subprocess
import sys
import tempfile
import unittest

import torch

HERE = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from jointdit_train import data, models, objectives  # noqa: E402
from jointdit_train import run as train_run  # noqa: E402
import joint_usage  # noqa: E402
from jointdit_reference import bundle, sampling  # noqa: E402
from jointdit_reference.joint import JointDiT  # noqa: E402
from test_same_moment_init import time_bias_offsets  # noqa: E402

TOOL = HERE / "make-default-model"


def make(out: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), "--config", "tiny", "--out", str(out),
                           *extra], capture_output=True, text=True)


class Objective(unittest.TestCase):
    def setUp(self):
        self.gen = torch.Generator().manual_seed(7)
        self.ts = objectives.UnifiedTimestep()

    def test_unified_timestep_equals_the_sampler_map(self):
        t = self.ts.draw(400, self.gen)
        sigma, index, alpha_bar = self.ts.point(t)
        schedule = sampling.Schedule()
        for i in range(t.shape[0]):
            p = schedule.point(float(t[i]))
            self.assertLess(abs(float(sigma[i]) - p.sigma) / p.sigma, 1e-12)
            self.assertEqual(int(index[i]), p.audio_index)
            self.assertEqual(float(alpha_bar[i]), p.alpha_bar)
        # Training covers exactly the sampler's range: its grid's ends.
        grid = schedule.grid(25)
        self.assertAlmostEqual(self.ts.t_hi, grid[0].t_uni, places=12)
        self.assertAlmostEqual(self.ts.t_lo, grid[-1].t_uni, places=12)
        self.assertTrue(bool((t >= self.ts.t_lo).all() and (t <= self.ts.t_hi).all()))
        # Both ends of the audio index range are reached.
        _, ends, _ = self.ts.point(torch.tensor([self.ts.t_lo, self.ts.t_hi], dtype=torch.float64))
        self.assertEqual(ends.tolist(), [0, 999])

    def test_low_noise_share_moves_draws_to_the_low_end_only(self):
        n = 20000
        plain = self.ts.sigma(self.ts.draw(n, torch.Generator().manual_seed(3)))
        t = self.ts.draw(n, torch.Generator().manual_seed(3), low_share=0.5, low_sigma=1.0)
        sigma = self.ts.sigma(t)
        self.assertTrue(bool((t >= self.ts.t_lo).all() and (t <= self.ts.t_hi).all()))
        # P(sigma <= 1) = share + (1 - share) * P_uniform(sigma <= 1); above sigma = 1 the
        # draw keeps its shape, only (1 - share) of it.
        p_low = float((plain <= 1.0).double().mean())
        self.assertAlmostEqual(p_low, 0.331, delta=0.015)    # Phi((ln 1 - 0.7) / 1.6)
        self.assertAlmostEqual(float((sigma <= 1.0).double().mean()), 0.5 + 0.5 * p_low,
                               delta=0.015)
        hi_plain = float((plain > 10.0).double().mean())
        self.assertAlmostEqual(float((sigma > 10.0).double().mean()), 0.5 * hi_plain, delta=0.01)
        # Within the low end the draw is uniform in t_uni.
        t_one = self.ts.schedule.t_uni_of_sigma(1.0)
        low = t[sigma <= 1.0]
        frac = float(((low - self.ts.t_lo) / (t_one - self.ts.t_lo) < 0.5).double().mean())
        self.assertAlmostEqual(frac, 0.5, delta=0.02)
        # No share: the plain draw, the same numbers.
        torch.testing.assert_close(self.ts.draw(5, torch.Generator().manual_seed(9)),
                                   self.ts.draw(5, torch.Generator().manual_seed(9), low_share=0.0))

    def test_audio_loss_is_the_epsilon_mse(self):
        a0 = torch.randn(6, 8, 5, 4, generator=self.gen, dtype=torch.float64)
        noise = torch.randn(a0.shape, generator=self.gen, dtype=torch.float64)
        eps_hat = torch.randn(a0.shape, generator=self.gen, dtype=torch.float64)
        _, _, alpha_bar = self.ts.point(self.ts.draw(6, self.gen))
        xt = objectives.audio_noisy(a0, noise, alpha_bar)
        loss = objectives.audio_loss(a0, objectives.audio_x0(xt, eps_hat, alpha_bar), alpha_bar)
        eps_mse = (noise - eps_hat).square().flatten(1).mean(1)
        torch.testing.assert_close(loss, eps_mse, rtol=1e-9, atol=0)
        # and x0 from the true noise is exact (the conversion is the sampler's)
        ab = float(alpha_bar[0])
        a, b = sampling.eps_prediction_to_x0(ab)
        torch.testing.assert_close(a * xt[0] + b * noise[0], a0[0], rtol=1e-9, atol=1e-9)

    def test_video_loss_is_the_edm_loss(self):
        x0 = torch.randn(5, 3, 4, 2, 2, generator=self.gen, dtype=torch.float64)
        noise = torch.randn(x0.shape, generator=self.gen, dtype=torch.float64)
        v_out = torch.randn(x0.shape, generator=self.gen, dtype=torch.float64)
        sigma = self.ts.sigma(self.ts.draw(5, self.gen))
        x, x_in, c_noise = objectives.video_noisy(x0, noise, sigma)
        loss = objectives.video_loss(x0, objectives.video_x0(x, v_out, sigma), sigma)
        for i in range(5):
            s = float(sigma[i])
            # EDM (Karras et al.) with sigma_data = 1: lambda |D - x0|^2 = |F - F_target|^2.
            c_skip, c_out = 1 / (s * s + 1), -s / math.sqrt(s * s + 1)
            target = (x0[i] - c_skip * x[i]) / c_out
            self.assertAlmostEqual(float(loss[i]), float((v_out[i] - target).square().mean()),
                                   delta=1e-9 * float(loss[i]))
            # the sampler's conversion and preconditioning
            va, vb = sampling.v_prediction_to_x0(s)
            torch.testing.assert_close(objectives.video_x0(x, v_out, sigma)[i],
                                       va * x[i] + vb * v_out[i])
            torch.testing.assert_close(x_in[i], sampling.edm_c_in(s) * x[i])
            self.assertAlmostEqual(float(c_noise[i]), sampling.edm_c_noise(s), places=12)

    def test_audio_null_skips_the_image_projection(self):
        cfg = models.model_config("tiny")
        torch.manual_seed(1)
        unet = JointDiT(cfg).unet("audio").double()
        # random everywhere (a bias that would condition if fed zeros, no zero-initialised output)
        bundle.randomize(unet, torch.Generator().manual_seed(1))
        xt = torch.randn(2, *cfg["shapes"]["audio_latent"], generator=self.gen,
                         dtype=torch.float64)
        emb = torch.randn(2, cfg["audio_unet"]["image_embed_dim"], generator=self.gen,
                          dtype=torch.float64)
        t = torch.tensor([10.0, 500.0], dtype=torch.float64)
        with torch.no_grad():
            cond = unet(xt, t, image_embeds=emb)
            null = unet(xt, t, image_embeds=None)
            models.patch_audio_null(unet)
            unet.keep_mask = torch.tensor([True, False])
            mixed = unet(xt, t, image_embeds=emb)
        torch.testing.assert_close(mixed[0], cond[0])
        torch.testing.assert_close(mixed[1], null[1])
        self.assertGreater(float((cond[1] - null[1]).abs().max()), 1e-6)

    def test_condition_keep_rate(self):
        keep = objectives.condition_keep(20000, 0.1, self.gen)
        self.assertLess(abs(1.0 - float(keep.float().mean()) - 0.1), 0.01)

    def test_training_seeds_stay_below_the_evaluation_seeds(self):
        shapes = models.model_config("tiny")["shapes"]
        with self.assertRaises(ValueError):
            data.make_clip(data.TRAIN_SEED_LIMIT, shapes, 12.5)
        scenes = [data.scene_for(s) for s in range(2000)]
        self.assertGreater(scenes.count("bounce") + scenes.count("strike"), 1200)
        self.assertEqual(set(scenes), set(data.SCENE_WEIGHTS))


class TinyRun(unittest.TestCase):
    """One tiny run of every stage (about 30 s), shared by the tests below."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = pathlib.Path(cls.tmp.name) / "run"
        cls.result = make(cls.out)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def tiny_run(self):
        """A Run on the shared tiny run's folder, for calling its stages' helpers directly."""
        return train_run.Run(argparse.Namespace(
            out=str(self.out), config="tiny", device="cpu", budget_minutes=2.0, max_steps=3,
            interrupt_at=0))

    def test_run_succeeds_and_logs(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr[-3000:])
        log = (self.out / train_run.LOG_NAME).read_text()
        for stage in train_run.STAGES:
            self.assertIn(f"[{stage}] done", log)
        self.assertIn("stage ETA", log)
        # a rerun skips every finished stage
        again = make(self.out, "--resume")
        self.assertEqual(again.returncode, 0, again.stderr[-3000:])
        self.assertEqual(again.stdout.count("already done, skipped"), len(train_run.STAGES))
        # and without --resume a used folder is refused
        self.assertEqual(make(self.out).returncode, 2)

    def test_bundle_names_and_shapes_equal_the_reference(self):
        config, tensors = bundle.read_bundle(self.out / train_run.BUNDLE_NAME)
        reference = JointDiT(models.model_config("tiny")).state_dict()
        self.assertEqual({k: tuple(v.shape) for k, v in tensors.items()},
                         {k: tuple(v.shape) for k, v in reference.items()})
        self.assertTrue(all(t.dtype == torch.float16 for t in tensors.values()))
        self.assertNotIn("vocoder", config)
        c_video = config["shapes"]["video_latent"][0]
        c_audio = config["shapes"]["audio_latent"][0]
        self.assertEqual(len(config["preview"]["video_rgb"]["weight"]), 3)
        self.assertEqual(len(config["preview"]["video_rgb"]["weight"][0]), c_video)
        self.assertEqual(len(config["preview"]["audio_mel"]["weight"]), c_audio)
        done = json.loads((self.out / "state" / "latents.done.json").read_text())
        self.assertEqual(config["video_vae"]["scaling_factor"], done["video_scaling_factor"])
        self.assertEqual(config["audio_vae"]["scaling_factor"], done["audio_scaling_factor"])
        prov = config["provenance"]
        for key in ("git_revision", "machine", "commands", "world", "stages"):
            self.assertIn(key, prov)
        self.assertLess(prov["world"]["seeds"][1], data.TRAIN_SEED_LIMIT)
        self.assertEqual(prov["stages"]["joint"]["steps"], 3)
        # The trained gates are not zero; the baseline's are. The joint stage trained the
        # experts too: the baseline has them as the unimodal stage left them. All else is equal.
        base_config, base = bundle.read_bundle(self.out / train_run.BASELINE_NAME)
        state = self.out / "state"
        alone, joint = torch.load(state / "unimodal.pt"), torch.load(state / "joint.pt")
        prefixes = {"video.unet.": "video_unet", "audio.unet.": "audio_unet"}
        moved = total = 0
        for name, t in tensors.items():
            prefix = next((p for p in prefixes if name.startswith(p)), None)
            if name.startswith("joint.") and "_modulation." in name:
                self.assertEqual(float(base[name].abs().max()), 0.0)
                if name.endswith("weight"):
                    self.assertGreater(float(t.abs().max()), 0.0, name)
            elif prefix is not None:
                key = name[len(prefix):]
                before, after = alone[prefixes[prefix]][key], joint[prefixes[prefix]][key]
                self.assertTrue(torch.equal(base[name], before.to(torch.float16)), name)
                self.assertTrue(torch.equal(t, after.to(torch.float16)), name)
                moved += not torch.equal(before, after)
                total += 1
            else:
                self.assertTrue(torch.equal(base[name], t), name)
        self.assertGreater(moved, total // 2)
        self.assertIn("unimodal stage", base_config["provenance"]["variant"])
        # The joint stage's fresh blocks started at the present (attend_to_same_moment): three
        # steps leave their Q/K time biases near a.
        offsets = time_bias_offsets(config["joint"], tensors)
        self.assertTrue(offsets)
        for name, offset in offsets.items():
            self.assertLess(offset, 0.05, name)

    def test_condition_dropout_nulls_all_conditions_together(self):
        r = self.tiny_run()
        embeds = torch.randn(3, 32, generator=torch.Generator().manual_seed(2))
        keep = torch.tensor([True, False, True])
        z0, ids, ctx, mask = r.conditions(torch.tensor([0, 1, 2]), torch.Generator(), keep,
                                          embeds)
        self.assertEqual(mask.tolist(), keep.tolist())
        for i, k in enumerate(keep.tolist()):
            self.assertEqual(bool(z0[i].abs().max() > 0), k)
            self.assertEqual(bool(ctx[i].abs().max() > 0), k)
        # the added time ids are no condition: the engine keeps them in its null call
        self.assertEqual(ids[:, 1].tolist(), [train_run.MOTION_BUCKET] * 3)

    def test_unimodal_video_clips_are_the_first_frames(self):
        # The unimodal stage may train the video UNet on a clip's first frames: the clip's own
        # latents, cut to its start, each frame with the clip's first-frame condition.
        r = self.tiny_run()
        timestep = objectives.UnifiedTimestep()
        idx, keep = torch.tensor([1, 0]), torch.tensor([True, True])
        t = torch.tensor([0.3, 0.7], dtype=torch.float64)
        start = r.video_inputs(idx, torch.Generator().manual_seed(4), keep, t, timestep, 2)
        x0, sample = start[0], start[2]
        frames, channels = r.load_latents()["video"].shape[1:3]
        self.assertGreater(frames, 2)
        self.assertTrue(torch.equal(x0, r.load_latents()["video"][idx, :2]))
        self.assertEqual(tuple(sample.shape[:3]), (2, 2, 2 * channels))
        # every frame carries the same first-frame condition, as in a whole clip
        self.assertTrue(torch.equal(sample[:, 0, channels:], sample[:, 1, channels:]))
        self.assertGreater(float(sample[:, :, channels:].abs().max()), 0.0)
        done = json.loads((self.out / "state" / "unimodal.done.json").read_text())
        used = min(train_run.UNIMODAL_VIDEO_FRAMES, frames)
        self.assertEqual(done["batch"]["video_frames"], used)
        self.assertEqual(done["batch"]["video"], 2 * frames // used)

    def test_joint_usage_sees_what_the_joint_blocks_carry(self):
        base_path = self.out / train_run.BASELINE_NAME
        base = joint_usage.measure(base_path, 1)
        # Gates zero: the Joint Blocks change nothing and neither side sees the other (the
        # partner effect only up to the rounding of a reordered batch).
        for row in base["by_sigma"]:
            for m in ("video", "audio"):
                self.assertEqual(row["block_diagonal_change"][m], 0.0)
                self.assertEqual(row["no_joint_blocks_change"][m], 0.0)
                self.assertLess(abs(row["partner_effect"][m]), 1e-5)
                self.assertGreater(row["error"][m], 0.0)
        # The same bundle with random modulations: the blocks carry each side to the other.
        config, tensors = bundle.read_bundle(base_path)
        g = torch.Generator().manual_seed(3)
        for name, t in tensors.items():
            if "_modulation." in name:
                tensors[name] = 0.5 * torch.randn(t.shape, generator=g).to(t.dtype)
        opened_path = pathlib.Path(self.tmp.name) / "opened.safetensors"
        config.pop("format"), config.pop("version")
        bundle.write_bundle(opened_path, config, tensors)
        opened = joint_usage.measure(opened_path, 1)
        for m in ("video", "audio"):
            self.assertGreater(max(r["block_diagonal_change"][m] for r in opened["by_sigma"]),
                               1e-3)
            self.assertGreater(max(r["no_joint_blocks_change"][m] for r in opened["by_sigma"]),
                               1e-3)
            self.assertGreater(max(abs(r["partner_effect"][m]) for r in opened["by_sigma"]),
                               1e-4)
        # Sensitivity: one entry per expert stage, every one measurable at the input.
        model = JointDiT(config)
        for m in ("video", "audio"):
            stages = opened["expert_sensitivity"][m]
            self.assertEqual(list(stages), model.unet(m).stage_names())
            self.assertGreater(stages["conv_in"], 1e-3)
        self.assertIn("| conv_in |", joint_usage.report(opened))


class Resume(unittest.TestCase):
    def test_interrupted_stage_resumes_where_it_stopped(self):
        with tempfile.TemporaryDirectory() as tmp:
            straight, broken = pathlib.Path(tmp) / "a", pathlib.Path(tmp) / "b"
            args = ("--max-steps", "4", "--stop-after", "vae_video")
            r = make(straight, *args)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            r = make(broken, *args, "--interrupt-at", "2")
            self.assertEqual(r.returncode, 3, r.stderr[-3000:])
            self.assertFalse((broken / "state" / "vae_video.done.json").exists())
            r = make(broken, *args, "--resume")
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            self.assertIn("[vae_video] resuming at step 2 (", r.stdout)
            self.assertIn("[dataset] already done, skipped", r.stdout)
            a = torch.load(straight / "state" / "vae_video.pt")
            b = torch.load(broken / "state" / "vae_video.pt")
            for name in a:
                self.assertTrue(torch.equal(a[name], b[name]), name)


if __name__ == "__main__":
    unittest.main()
