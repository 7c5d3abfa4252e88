"""Joint Blocks, RoPE, the JointDiT assembly, bundles and the committed parity fixtures."""
import json
import pathlib
import struct
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from jointdit_reference import bundle, configs, rope  # noqa: E402
from jointdit_reference.joint import ATTENTION_MODES, JointDiT, PerceiverJointAttention  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "reference"


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def parity_inputs(config: dict, gen: torch.Generator, batch: int = 1) -> dict:
    s = config["shapes"]
    _, h, w = s["video_latent"]
    return {
        "video_sample": torch.randn(batch, s["frames"], 8, h, w, generator=gen, dtype=torch.float64),
        "video_timestep": torch.full((batch,), 0.4, dtype=torch.float64),
        "video_context": torch.randn(batch, 1, config["video_unet"]["cross_attention_dim"],
                                     generator=gen, dtype=torch.float64),
        "added_time_ids": torch.tensor([[11.5, 127.0, 0.02]] * batch, dtype=torch.float64),
        "audio_sample": torch.randn(batch, *s["audio_latent"], generator=gen, dtype=torch.float64),
        "audio_timestep": torch.full((batch,), 300.0, dtype=torch.float64),
        "image_embeds": torch.randn(batch, config["audio_unet"]["image_embed_dim"], generator=gen,
                                    dtype=torch.float64),
    }


def random_model(seed: int = 3) -> tuple[dict, JointDiT]:
    config = configs.parity_config()
    model = JointDiT(config)
    bundle.randomize(model, torch.Generator().manual_seed(seed))
    return config, model.double().eval()


class JointDiTBehaviour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config, cls.model = random_model()
        cls.inputs = parity_inputs(cls.config, torch.Generator().manual_seed(5))
        with torch.no_grad():
            cls.outputs = {m: cls.model(**cls.inputs, attention=m) for m in ATTENTION_MODES}

    def test_fresh_jointdit_is_the_two_unets(self):
        model = JointDiT(self.config, fresh=False).double()
        model.load_state_dict(self.model.state_dict())
        for block in model.joint.blocks:
            block.zero_modulation()
        x = self.inputs
        with torch.no_grad():
            video = model.unet("video")(x["video_sample"], x["video_timestep"], x["video_context"],
                                        x["added_time_ids"])
            audio = model.unet("audio")(x["audio_sample"], x["audio_timestep"],
                                        image_embeds=x["image_embeds"])
            for mode in ATTENTION_MODES:
                v, a = model(**x, attention=mode)
                self.assertLess(rel_err(v, video), 1e-12, mode)
                self.assertLess(rel_err(a, audio), 1e-12, mode)
        fresh = JointDiT(self.config, fresh=True)
        for block in fresh.joint.blocks:
            self.assertEqual(float(block.video_modulation.weight.abs().sum()), 0.0)
            self.assertGreater(float(block.attn.video_to_q.weight.abs().sum()), 0.0)

    def test_guided_modes_differ(self):
        for m1, m2 in (("full", "block_diagonal"), ("full", "skip"), ("block_diagonal", "skip")):
            for i, name in enumerate(("video", "audio")):
                err = rel_err(self.outputs[m1][i], self.outputs[m2][i])
                self.assertGreater(err, 1e-3, f"{name}: {m1} vs {m2}")

    def test_null_image_condition_changes_audio(self):
        x = dict(self.inputs, image_embeds=None)
        with torch.no_grad():
            _, audio = self.model(**x, attention="full")
        self.assertGreater(rel_err(audio, self.outputs["full"][1]), 1e-3)

    def test_skip_equals_zero_attention_gate(self):
        model = JointDiT(self.config).double()
        model.load_state_dict(self.model.state_dict())
        with torch.no_grad():
            for block in model.joint.blocks:
                for m in ("video", "audio"):
                    lin = getattr(block, f"{m}_modulation")
                    c = lin.out_features // 6
                    lin.weight[2 * c:3 * c] = 0  # g1
                    lin.bias[2 * c:3 * c] = 0
            v, a = model(**self.inputs, attention="full")
        self.assertLess(rel_err(v, self.outputs["skip"][0]), 1e-12)
        self.assertLess(rel_err(a, self.outputs["skip"][1]), 1e-12)

    def test_joint_output_replaces_the_experts_last_skip(self):
        """Joint Block 0 follows down_blocks.1; its output must be the skip that up_blocks.1's
        last resnet concatenates (in both UNets: two resnets per up block) and the next stage's
        input."""
        seen = {}
        model = self.model
        hooks = [
            model.joint.blocks[0].register_forward_hook(
                lambda m, i, o: seen.__setitem__("joint", o)),
            model.unet("video").up_blocks[1].resnets[1].register_forward_pre_hook(
                lambda m, i: seen.__setitem__("video_skip", i[0])),
            model.unet("audio").up_blocks[1].resnets[1].register_forward_pre_hook(
                lambda m, i: seen.__setitem__("audio_skip", i[0])),
            model.unet("video").down_blocks[2].register_forward_pre_hook(
                lambda m, i: seen.__setitem__("video_next", i[0])),
        ]
        try:
            with torch.no_grad():
                model(**self.inputs, attention="full")
        finally:
            for hook in hooks:
                hook.remove()
        vtok, atok = seen["joint"]
        b, frames = self.inputs["video_sample"].shape[:2]
        vskip, askip = seen["video_skip"], seen["audio_skip"]
        c, h, w = vtok.shape[-1], vskip.shape[-2], vskip.shape[-1]
        video = vtok.reshape(b, frames, h, w, c).permute(0, 1, 4, 2, 3).flatten(0, 1)
        self.assertTrue(torch.equal(vskip[:, -c:], video))
        self.assertTrue(torch.equal(seen["video_next"], video))
        ca, ta, fa = atok.shape[-1], askip.shape[-2], askip.shape[-1]
        audio = atok.reshape(b, ta, fa, ca).permute(0, 3, 1, 2)
        self.assertTrue(torch.equal(askip[:, -ca:], audio))

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "attention mode"):
            self.model(**self.inputs, attention="diagonal")
        bad = configs.parity_config()
        bad["joint"]["split"]["audio"] = bad["joint"]["split"]["audio"][:3]
        with self.assertRaisesRegex(ValueError, "same number"):
            JointDiT(bad)
        bad = configs.parity_config()
        bad["joint"]["split"]["video"] = ["down_blocks.2", "down_blocks.1", "down_blocks.3",
                                          "mid_block"]
        with self.assertRaisesRegex(ValueError, "increasing"):
            JointDiT(bad)


class JointAttention(unittest.TestCase):
    def setUp(self):
        gen = torch.Generator().manual_seed(11)
        self.attn = PerceiverJointAttention(32, 64, d_qk=32, d_v=24, heads=2).double()
        bundle.randomize(self.attn, gen)
        self.v = torch.randn(2, 7, 32, generator=gen, dtype=torch.float64)
        self.a = torch.randn(2, 5, 64, generator=gen, dtype=torch.float64)
        self.tv = torch.rand(7, 8, generator=gen, dtype=torch.float64) * 10
        self.ta = torch.rand(5, 8, generator=gen, dtype=torch.float64) * 10

    def test_block_diagonal_is_each_modality_alone(self):
        v, a = self.attn(self.v, self.a, self.tv, self.ta, "block_diagonal")
        v_alone, _ = self.attn(self.v, self.a[:, :0], self.tv, self.ta[:0], "full")
        _, a_alone = self.attn(self.v[:, :0], self.a, self.tv[:0], self.ta, "full")
        self.assertLess(rel_err(v, v_alone), 1e-12)
        self.assertLess(rel_err(a, a_alone), 1e-12)
        v_full, _ = self.attn(self.v, self.a, self.tv, self.ta, "full")
        self.assertGreater(rel_err(v_full, v), 1e-3)

    def test_against_explicit_softmax(self):
        at = self.attn
        q = torch.cat([rope.apply(at.video_to_q(self.v).reshape(2, 7, 2, 16), self.tv),
                       rope.apply(at.audio_to_q(self.a).reshape(2, 5, 2, 16), self.ta)], 1)
        k = torch.cat([rope.apply(at.video_to_k(self.v).reshape(2, 7, 2, 16), self.tv),
                       rope.apply(at.audio_to_k(self.a).reshape(2, 5, 2, 16), self.ta)], 1)
        val = torch.cat([at.video_to_v(self.v), at.audio_to_v(self.a)], 1).reshape(2, 12, 2, 12)
        w = torch.einsum("bqhd,bkhd->bhqk", q, k) / 4.0
        o = torch.einsum("bhqk,bkhd->bqhd", w.softmax(-1), val).reshape(2, 12, 24)
        v, a = at(self.v, self.a, self.tv, self.ta, "full")
        self.assertLess(rel_err(v, at.video_to_out(o[:, :7])), 1e-12)
        self.assertLess(rel_err(a, at.audio_to_out(o[:, 7:])), 1e-12)


class Rope(unittest.TestCase):
    def test_convention(self):
        runs = rope.axis_runs(16, 2)
        self.assertEqual(runs, [8, 4, 4])
        theta = rope.angles([torch.tensor([3.0]), torch.tensor([5.0]), torch.tensor([7.0])],
                            runs, 10000.0)
        want = [3 * 10000 ** (-2 * j / 8) for j in range(4)] + \
               [5 * 10000 ** (-2 * j / 4) for j in range(2)] + \
               [7 * 10000 ** (-2 * j / 4) for j in range(2)]
        self.assertLess(rel_err(theta[0], torch.tensor(want, dtype=torch.float64)), 1e-15)
        x = torch.arange(1, 17, dtype=torch.float64).reshape(1, 1, 1, 16)
        y = rope.apply(x, theta)
        c, s = torch.cos(theta[0, 1]), torch.sin(theta[0, 1])
        self.assertAlmostEqual(float(y[0, 0, 0, 2]), float(3 * c - 4 * s), places=12)
        self.assertAlmostEqual(float(y[0, 0, 0, 3]), float(3 * s + 4 * c), places=12)
        with self.assertRaisesRegex(ValueError, "multiple of 8"):
            rope.axis_runs(20, 2)

    def test_scores_depend_on_position_differences_only(self):
        gen = torch.Generator().manual_seed(2)
        q = torch.randn(1, 1, 1, 16, generator=gen, dtype=torch.float64)
        k = torch.randn(1, 1, 1, 16, generator=gen, dtype=torch.float64)
        runs = rope.axis_runs(16, 1)

        def score(pq, pk):
            tq = rope.angles([torch.tensor([pq[0]]), torch.tensor([pq[1]])], runs, 10000.0)
            tk = rope.angles([torch.tensor([pk[0]]), torch.tensor([pk[1]])], runs, 10000.0)
            return float((rope.apply(q, tq) * rope.apply(k, tk)).sum())

        self.assertAlmostEqual(score((2.0, 1.0), (5.0, 4.0)), score((12.5, 3.0), (15.5, 6.0)),
                               places=10)

    def test_one_clock(self):
        """Video frame k and an audio column covering the same interval get the same time
        angles: 12.5 fps frames against 80 ms audio columns (40 ms latent columns, one
        downsampling)."""
        vt = rope.video_positions(4, 1, 1, fps=12.5, clock_hz=25.0)[0]
        at = rope.audio_positions(4, 1, column_seconds=0.08, clock_hz=25.0)[0]
        self.assertLess(float((vt - at).abs().max()), 1e-12)
        self.assertAlmostEqual(float(vt[0]), 1.0)  # centre of frame 0: 40 ms = one clock unit
        tv = rope.angles(rope.video_positions(4, 2, 3, 12.5, 25.0), rope.axis_runs(32, 2), 1e4)
        ta = rope.angles(rope.audio_positions(4, 2, 0.08, 25.0), rope.axis_runs(32, 1), 1e4)
        # token (t=2, h=0, w=0) of video vs token (t=2, f=0) of audio: same first d/4 pairs
        self.assertLess(float((tv[2 * 6, :8] - ta[2 * 2, :8]).abs().max()), 1e-12)


class Bundles(unittest.TestCase):
    def test_round_trip_and_layout(self):
        tensors = {"b": torch.arange(6, dtype=torch.float32).reshape(2, 3),
                   "a": torch.tensor([1.5, -2.0], dtype=torch.float16),
                   "c": torch.ones(1, 1, dtype=torch.bfloat16)}
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "x.safetensors"
            bundle.write_bundle(path, {"joint": {"d_qk": 8}}, tensors)
            raw = path.read_bytes()
            (size,) = struct.unpack("<Q", raw[:8])
            self.assertEqual(size % 8, 0)
            header = json.loads(raw[8:8 + size])
            self.assertEqual([header[n]["data_offsets"] for n in ("a", "b", "c")],
                             [[0, 4], [4, 28], [28, 30]])
            self.assertEqual(len(raw), 8 + size + 30)
            config, back = bundle.read_bundle(path)
        self.assertEqual(config["format"], "jointdit-bundle")
        self.assertEqual(config["version"], 1)
        self.assertEqual(config["joint"], {"d_qk": 8})
        for name, t in tensors.items():
            self.assertEqual(back[name].dtype, t.dtype)
            self.assertTrue(torch.equal(back[name], t), name)

    def test_a_broken_file_is_refused_with_a_sentence(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "x.safetensors"
            bundle.write_bundle(path, {"joint": {"d_qk": 8}}, {"a": torch.ones(2)})
            whole = path.read_bytes()
            for raw, says in ((whole[:5], "no header"),
                              (struct.pack("<Q", len(whole)) + whole[8:], "header in a"),
                              (struct.pack("<Q", 4) + b"{no}" + whole[8:], "not JSON")):
                path.write_bytes(raw)
                with self.assertRaisesRegex(ValueError, says):
                    bundle.read_safetensors(path)

    def test_random_weights_are_all_nonzero_and_seeded(self):
        _, m1 = random_model(7)
        _, m2 = random_model(7)
        for (name, p1), p2 in zip(m1.named_parameters(), m2.parameters()):
            self.assertTrue(torch.equal(p1, p2), name)
            self.assertFalse(bool((p1 == 0).any()), name)


class DefaultModel(unittest.TestCase):
    def test_bundle_loads_back_strictly(self):
        import make_bundle  # tools/reference is on sys.path (see the top of this file)
        config, model = make_bundle.build("default", seed=4, fresh=True)
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "b.safetensors"
            bundle.write_bundle(path, config, model.state_dict())
            back_config, tensors = bundle.read_bundle(path)
        arch = {k: v for k, v in back_config.items() if k not in ("format", "version")}
        self.assertEqual(arch, json.loads(json.dumps(config)))
        again = JointDiT(arch)
        again.load_state_dict(tensors, strict=True)
        prefixes = {".".join(n.split(".")[:2]) for n in tensors}
        self.assertEqual(prefixes, {"video.unet", "video.vae", "audio.unet", "audio.vae",
                                    "audio.vocoder", "image_encoder.vision_model",
                                    "image_encoder.visual_projection", "joint.blocks"})
        self.assertEqual(float(tensors["joint.blocks.3.audio_modulation.weight"].abs().sum()), 0)

    def test_denoiser_call_within_three_gflop(self):
        """DESIGN.md section 6: at most 3 GFLOP per denoiser call of the default model."""
        from torch.profiler import ProfilerActivity, profile
        config = configs.default_config()
        model = JointDiT(config).eval()
        s = config["shapes"]
        _, h, w = s["video_latent"]
        # The temporal (k, 1, 1) convolutions run as conv2d (blocks.temporal_conv), which the
        # profiler counts with the other convolutions.
        with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            model(torch.randn(1, s["frames"], config["video_unet"]["in_channels"], h, w),
                  torch.tensor([0.3]),
                  torch.randn(1, 1, 64), torch.tensor([[11.5, 127.0, 0.02]]),
                  torch.randn(1, *s["audio_latent"]), torch.tensor([500]), torch.randn(1, 64))
        flops = sum(e.flops for e in prof.key_averages())
        self.assertGreater(flops, 1e9)  # the count sees the convolutions and matmuls
        self.assertLess(flops, 3e9)


@unittest.skipUnless((FIXTURES / "parity-golden.safetensors").is_file(), "no parity fixtures")
class CommittedFixtures(unittest.TestCase):
    def test_fixtures_match_the_reference(self):
        config, weights = bundle.read_bundle(FIXTURES / "parity.safetensors")
        golden, _ = bundle.read_safetensors(FIXTURES / "parity-golden.safetensors")
        model = JointDiT({k: v for k, v in config.items() if k not in ("format", "version",
                                                                        "provenance")})
        model.load_state_dict({n: t.to(torch.float64) for n, t in weights.items()})
        model.double()
        x = {k[3:]: v.to(torch.float64) for k, v in golden.items() if k.startswith("in.")}
        with torch.no_grad():
            for mode in ATTENTION_MODES:
                v, a = model(**x, attention=mode)
                self.assertLess(rel_err(v.float(), golden[f"cond.{mode}.video"]), 1e-6)
                self.assertLess(rel_err(a.float(), golden[f"cond.{mode}.audio"]), 1e-6)
            z = model.video["vae"].decode(golden["video_vae.decode.in"].double(),
                                          config["shapes"]["frames"])
            self.assertLess(rel_err(z.float(), golden["video_vae.decode.out"]), 1e-6)
            e = model.image_encoder(golden["image_encoder.in"].double())
            self.assertLess(rel_err(e.float(), golden["image_encoder.out"]), 1e-6)
            w = model.audio["vocoder"](golden["vocoder.in"].double())
            self.assertLess(rel_err(w.float(), golden["vocoder.out"]), 1e-6)


if __name__ == "__main__":
    unittest.main()
