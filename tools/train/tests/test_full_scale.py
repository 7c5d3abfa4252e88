"""train-full-scale on a tiny bundle and a few worldgen clips (one of them also as an MP4):
the cache holds what the bundle's encoders make of the clips, audio-v and joint train exactly
the parameters they should, a resumed run ends bit-identical to an uninterrupted one, two DDP
ranks (torchrun, gloo) agree, the exported Joint Blocks load with `jointdit convert --joint`,
and bad input gets a sentence and a non-zero exit."""
import contextlib
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from jointdit_train import clips, data, full_scale, models, paths  # noqa: E402
from jointdit_reference import bundle  # noqa: E402
from jointdit_reference.image_encoder import ImageEncoder  # noqa: E402
from jointdit_reference.joint import JointDiT  # noqa: E402
from test_same_moment_init import time_bias_offsets  # noqa: E402
from jointdit_reference.mel import log_mel  # noqa: E402
from jointdit_reference.preprocess import clip_preprocess  # noqa: E402
from jointdit_reference.vae import AudioVAE, VideoVAE  # noqa: E402
from worldgen import Config as WorldConfig  # noqa: E402
from worldgen.clip import make_clip  # noqa: E402
from worldgen.pngio import read_png  # noqa: E402
from worldgen.wavio import read_wav  # noqa: E402

TOOL = HERE / "train-full-scale"
FIXTURES = paths.ROOT / "tests" / "fixtures" / "checkpoints"
JOINTDIT = pathlib.Path(os.environ.get("JOINTDIT_CLI", paths.ROOT / "build" / "app" / "jointdit"))
FFMPEG = shutil.which("ffmpeg") and shutil.which("ffprobe")
# torch 1.13's torchrun cannot parse its own default "--redirects 0 --tee 0" under Python 3.11
# (Std.from_str looks for the zero flag by iterating the IntFlag, which 3.11 no longer yields);
# a mapping naming a local rank that does not exist leaves every real rank at "none".
TORCHRUN_STD = ["--redirects", "9:0", "--tee", "9:0"]
# Set by setUpModule: the temporary folder, the tiny bundle and the cache of the clips.
TMP = BUNDLE = CACHE = pathlib.Path()


def write_tiny_bundle(path: pathlib.Path, seed: int) -> None:
    """The tiny training config, random weights, Joint Block gates at zero (as convert)."""
    cfg = models.model_config("tiny")
    model = JointDiT(cfg)
    bundle.randomize(model, torch.Generator().manual_seed(seed))
    for block in model.joint.blocks:
        block.zero_modulation()
    bundle.write_bundle(path, cfg, {k: v.to(torch.float16) for k, v in model.state_dict().items()})


def cli(*argv: str) -> tuple[int, str, str]:
    """main() in this process (a torch import per call would cost seconds)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = full_scale.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def train(stage: str, out: pathlib.Path, *extra: str, cache=None, bundle_path=None):
    return cli(stage, "--bundle", bundle_path or BUNDLE, "--cache", cache or CACHE, "--out", out,
               "--batch", "2", "--warmup", "2", "--log-every", "1", *extra)


def weights(path) -> dict:
    return bundle.read_safetensors(path)[0]


def setUpModule():
    global TMP, BUNDLE, CACHE
    torch.set_num_threads(1)
    TMP = pathlib.Path(tempfile.mkdtemp(prefix="full-scale-"))
    BUNDLE = TMP / "tiny.safetensors"
    write_tiny_bundle(BUNDLE, 3)
    # Clip 0 is already at the model's size and rate (16x16, 12.5 fps): the cache must see its
    # frames unchanged; clips 1 and 2 are larger, 4:3, and are scaled and cropped.
    world = TMP / "clips"
    make_clip("bounce", 10, WorldConfig(fps=12.5, seconds=0.8, width=16, height=16),
              world / "a-bounce")
    make_clip("strike", 11, WorldConfig(fps=12.5, seconds=0.8, width=32, height=24),
              world / "b-strike")
    make_clip("flash", 12, WorldConfig(fps=12.5, seconds=0.8, width=32, height=24),
              world / "c-flash")
    if FFMPEG:
        mp4(world / "b-strike", world / "d-strike.mp4", with_audio=True)
    CACHE = TMP / "cache"
    rc, _, err = cli("cache", "--bundle", BUNDLE, "--clips", world, "--out", CACHE,
                     "--shard-clips", "2")
    assert rc == 0, err


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def mp4(clip: pathlib.Path, out: pathlib.Path, with_audio: bool) -> None:
    cmd = ["ffmpeg", "-v", "error", "-y", "-framerate", "12.5", "-i",
           str(clip / "frames" / "%05d.png")]
    cmd += ["-i", str(clip / "audio.wav"), "-c:a", "aac"] if with_audio else ["-an"]
    cmd += ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)


class Cache(unittest.TestCase):
    def test_index_and_shards(self):
        index = json.loads((CACHE / "index.json").read_text())
        n = 4 if FFMPEG else 3
        self.assertTrue(index["finished"])
        self.assertEqual(index["clips"], n)
        self.assertEqual([s["clips"] for s in index["shards"]], [2, 2] if FFMPEG else [2, 1])
        self.assertEqual(index["window"], {"width": 16, "height": 16, "fps": 12.5, "frames": 8,
                                           "sample_rate": 16000})
        self.assertEqual(index["mel_frames"], 64)
        first = weights(CACHE / index["shards"][0]["file"])
        self.assertEqual(list(first["video"].shape), [2, 8, 4, 8, 8])
        self.assertEqual(list(first["image_latent"].shape), [2, 4, 8, 8])
        self.assertEqual(list(first["image_embeds"].shape), [2, 32])
        self.assertEqual(list(first["audio"].shape), [2, 8, 32, 16])
        self.assertFalse(any(f.endswith((".pt", ".pkl")) for f in os.listdir(CACHE)))

    def test_cached_latents_are_the_bundles_encoding_of_the_clip(self):
        cfg, tensors = bundle.read_bundle(BUNDLE)

        def part(prefix, module):
            module.load_state_dict({k[len(prefix):]: v.float() for k, v in tensors.items()
                                    if k.startswith(prefix)})
            return module.eval()
        vvae = part("video.vae.", VideoVAE(cfg["video_vae"]))
        avae = part("audio.vae.", AudioVAE(cfg["audio_vae"]))
        enc = part("image_encoder.", ImageEncoder(cfg["image_encoder"]))
        clip = TMP / "clips" / "a-bounce"
        # Independently of clips.py: the PNGs as they are, the WAV's first 0.64 s.
        frames = torch.stack([torch.from_numpy(read_png(clip / "frames" / f"{k:05d}.png"))
                              for k in range(8)])
        wave, rate = read_wav(clip / "audio.wav")
        self.assertEqual(rate, 16000)
        mel = log_mel(torch.from_numpy(wave[:10240]), data.mel_config(cfg["shapes"]))[:64]
        with torch.no_grad():
            x = data.frames_to_unit(frames)
            video = vvae.encode(x)
            audio = avae.encode(mel.float()[None, None])[0]
            emb = enc(clip_preprocess((x[:1] + 1) * 0.5, 16))[0]
        got = weights(CACHE / "shard-00000.safetensors")
        s_v, s_a = cfg["video_vae"]["scaling_factor"], cfg["audio_vae"]["scaling_factor"]
        torch.testing.assert_close(got["video"][0], video * s_v, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got["image_latent"][0], video[0], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got["audio"][0], audio * s_a, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got["image_embeds"][0], emb, rtol=1e-4, atol=1e-5)

    def test_interrupted_cache_resumes_to_the_same_shards(self):
        out = TMP / "cache-resumed"
        real = clips.read_clip
        calls = []

        def failing(path, window):
            calls.append(path)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real(path, window)
        clips.read_clip = failing
        try:
            with self.assertRaises(KeyboardInterrupt):
                cli("cache", "--bundle", BUNDLE, "--clips", TMP / "clips", "--out", out,
                    "--shard-clips", "2")
        finally:
            clips.read_clip = real
        self.assertEqual(json.loads((out / "index.json").read_text())["done"], 2)
        rc, log, err = cli("cache", "--bundle", BUNDLE, "--clips", TMP / "clips", "--out", out,
                           "--shard-clips", "2")
        self.assertEqual(rc, 0, err)
        self.assertIn("resuming at clip 2/", log)
        for shard in json.loads((CACHE / "index.json").read_text())["shards"]:
            self.assertEqual((out / shard["file"]).read_bytes(),
                             (CACHE / shard["file"]).read_bytes())

    def test_folder_clip_resized_and_resampled(self):
        window = clips.Window(width=16, height=16, fps=6.25, frames=4, sample_rate=8000)
        frames, wave = clips.read_clip(str(TMP / "clips" / "b-strike"), window)
        self.assertEqual(list(frames.shape), [4, 16, 16, 3])
        self.assertEqual(frames.dtype, torch.uint8)
        self.assertEqual(wave.shape[0], 5120)      # 0.64 s at 8 kHz
        # Frame k of a 6.25 fps window shows source frame 2k+1 (its centre), 32x24 -> covered
        # 21x16, centre 16 columns: compare with a plain box-filtered version of that frame.
        src = read_png(TMP / "clips" / "b-strike" / "frames" / "00003.png").astype(np.float64)
        self.assertLess(abs(float(frames[1].double().mean()) - src[:, 5:27].mean()), 6.0)
        full, rate = read_wav(TMP / "clips" / "b-strike" / "audio.wav")
        ref = np.sqrt(np.mean(full[:10240] ** 2))
        self.assertAlmostEqual(float(wave.square().mean().sqrt()) / ref, 1.0, delta=0.05)

    @unittest.skipUnless(FFMPEG, "ffmpeg/ffprobe are not installed (tools/install-dependencies "
                                 "--test installs them)")
    def test_mp4_clip_reads_like_its_folder(self):
        window = clips.Window(width=16, height=16, fps=12.5, frames=8, sample_rate=16000)
        f_mp4, w_mp4 = clips.read_clip(str(TMP / "clips" / "d-strike.mp4"), window)
        f_dir, w_dir = clips.read_clip(str(TMP / "clips" / "b-strike"), window)
        self.assertEqual(f_mp4.shape, f_dir.shape)
        self.assertLess(float((f_mp4.double() - f_dir.double()).abs().mean()), 8.0)
        self.assertEqual(w_mp4.shape, w_dir.shape)
        rms = float(w_dir.square().mean().sqrt())
        self.assertAlmostEqual(float(w_mp4.square().mean().sqrt()) / rms, 1.0, delta=0.2)


class BadInput(unittest.TestCase):
    def test_empty_folder_exits_non_zero_with_a_sentence(self):
        empty = TMP / "empty"
        empty.mkdir(exist_ok=True)
        run = subprocess.run([sys.executable, str(TOOL), "cache", "--bundle", str(BUNDLE),
                              "--clips", str(empty), "--out", str(TMP / "c-empty")],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 2)
        self.assertIn("holds no clips", run.stderr)
        self.assertNotIn("Traceback", run.stderr)

    def test_clip_without_audio(self):
        bad = TMP / "no-audio"
        shutil.copytree(TMP / "clips" / "a-bounce", bad / "x")
        (bad / "x" / "audio.wav").unlink()
        rc, _, err = cli("cache", "--bundle", BUNDLE, "--clips", bad, "--out", TMP / "c-bad")
        self.assertEqual(rc, 2)
        self.assertIn("no audio.wav", err)
        self.assertIn(str(bad / "x"), err)
        if FFMPEG:
            mp4(TMP / "clips" / "a-bounce", bad / "silent.mp4", with_audio=False)
            (bad / "x").rename(bad / "y")    # keep only the MP4 and an audio-less folder
            rc, _, err = cli("cache", "--bundle", BUNDLE, "--clips", bad, "--out",
                             TMP / "c-bad2")
            self.assertEqual(rc, 2)
            self.assertIn("no audio stream", err)

    def test_skip_bad_clips_logs_and_goes_on(self):
        mixed = TMP / "mixed"
        shutil.copytree(TMP / "clips" / "a-bounce", mixed / "good")
        shutil.copytree(TMP / "clips" / "a-bounce", mixed / "mute")
        (mixed / "mute" / "audio.wav").unlink()
        rc, out, err = cli("cache", "--bundle", BUNDLE, "--clips", mixed, "--out",
                           TMP / "c-mixed", "--skip-bad-clips")
        self.assertEqual(rc, 0, err)
        index = json.loads((TMP / "c-mixed" / "index.json").read_text())
        self.assertEqual(index["clips"], 1)
        self.assertEqual([s["source"] for s in index["skipped"]], ["mute"])
        self.assertIn("skipped", out)

    def test_wrong_bundle(self):
        other = TMP / "other.safetensors"
        write_tiny_bundle(other, 4)
        rc, _, err = train("joint", TMP / "j-wrong", "--steps", "1", bundle_path=other)
        self.assertEqual(rc, 2)
        self.assertIn("not the bundle this cache was made with", err)
        not_a_bundle = FIXTURES / "svd" / "vae" / "diffusion_pytorch_model.safetensors"
        rc, _, err = train("joint", TMP / "j-wrong2", "--steps", "1", bundle_path=not_a_bundle)
        self.assertEqual(rc, 2)
        self.assertIn("not a JointDiT bundle", err)
        rc, _, err = train("joint", TMP / "j-wrong3", "--steps", "1", cache=TMP / "clips")
        self.assertEqual(rc, 2)
        self.assertIn("no latent cache here", err)


class Training(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.audio_v = TMP / "audio-v"
        rc, out, err = train("audio-v", cls.audio_v, "--steps", "3")
        assert rc == 0, err
        cls.audio_v_out = out
        cls.joint = TMP / "joint"
        rc, out, err = train("joint", cls.joint, "--steps", "3", "--audio-v",
                             cls.audio_v / "audio-v.safetensors")
        assert rc == 0, err

    def test_audio_v_trains_only_the_image_conditioning(self):
        before = bundle.read_bundle(BUNDLE)[1]
        after = weights(self.audio_v / "audio-v.safetensors")
        self.assertEqual(set(after), {k for k in before if k.startswith("audio.unet.")})
        changed = {k for k in after if not torch.equal(after[k], before[k].float())}
        self.assertIn("audio.unet.image_proj.weight", changed)
        self.assertTrue(changed)
        for k in changed:
            self.assertTrue(".image_proj." in k or ".time_emb_proj." in k, k)
        log = (self.audio_v / "audio-v.log").read_text()
        self.assertRegex(log, r"step 3/3 loss [0-9.]+ \(audio [0-9.]+\).*ETA 0:00:00")
        done = json.loads((self.audio_v / "done.json").read_text())
        self.assertEqual(done["steps"], 3)

    def test_joint_trains_the_joint_blocks_and_exports(self):
        before = bundle.read_bundle(BUNDLE)[1]
        tuned = weights(self.audio_v / "audio-v.safetensors")
        cfg, out = bundle.read_bundle(self.joint / "bundle.safetensors")
        self.assertEqual({k: list(v.shape) for k, v in out.items()},
                         {k: list(v.shape) for k, v in before.items()})
        self.assertTrue(all(v.dtype == torch.float16 for v in out.values()))
        for k, v in out.items():
            if k.startswith("audio.unet."):
                self.assertTrue(torch.equal(v, tuned[k].half()), k)   # audio-v's UNet
            elif not k.startswith("joint."):
                self.assertTrue(torch.equal(v, before[k]), k)        # frozen: unchanged
        gates = [k for k in out if k.startswith("joint.") and "_modulation." in k]
        self.assertTrue(gates and all(out[k].abs().max() > 0 for k in gates))
        # The bundle's blocks were fresh (gates 0), so their attention started at the present
        # (JointBlock.attend_to_same_moment): three steps leave the time biases near a.
        offsets = time_bias_offsets(cfg["joint"], out)
        self.assertTrue(offsets)
        for name, offset in offsets.items():
            self.assertLess(offset, 0.05, name)
        self.assertEqual(cfg["provenance"]["train_full_scale"][-1]["stage"], "joint")
        joint_cfg, joint = bundle.read_bundle(self.joint / "joint.safetensors")
        self.assertEqual(joint_cfg["joint"], cfg["joint"])
        self.assertEqual(set(joint), {k for k in out if k.startswith("joint.")})
        self.assertTrue(all(v.dtype == torch.float32 for v in joint.values()))
        log = (self.joint / "joint.log").read_text()
        self.assertRegex(log, r"step 2/3 loss [0-9.]+ \(video [0-9.]+ audio [0-9.]+\)")
        self.assertIn("ETA", log)

    def test_resume_is_bit_identical_and_a_used_folder_is_refused(self):
        run = TMP / "joint-resumed"
        args = ("--steps", "3", "--audio-v", self.audio_v / "audio-v.safetensors")
        with self.assertRaises(SystemExit) as stop:
            train("joint", run, *args, "--interrupt-at", "2")
        self.assertEqual(stop.exception.code, 3)
        rc, _, err = train("joint", run, *args)
        self.assertEqual(rc, 2)
        self.assertIn("--resume", err)
        # Resumed with gradient checkpointing on: it recomputes, it must not change a bit.
        rc, out, err = train("joint", run, *args, "--resume", "--grad-checkpoint")
        self.assertEqual(rc, 0, err)
        self.assertIn("resuming at step 2/3", out)
        a, b = weights(self.joint / "joint.safetensors"), weights(run / "joint.safetensors")
        for k in a:
            self.assertTrue(torch.equal(a[k], b[k]), k)
        rc, out, _ = train("joint", run, *args, "--resume")
        self.assertEqual(rc, 0)
        self.assertIn("nothing to do", out)

    def test_unfreeze_video(self):
        run = TMP / "joint-unfrozen"
        rc, out, err = train("joint", run, "--steps", "1", "--unfreeze", "video", "--dtype", "f32")
        self.assertEqual(rc, 0, err)
        before = bundle.read_bundle(BUNDLE)[1]
        after = bundle.read_bundle(run / "bundle.safetensors")[1]
        moved = {k.split(".")[0] + "." + k.split(".")[1] for k in after
                 if not torch.equal(after[k], before[k].float())}
        self.assertEqual(moved, {"video.unet", "joint.blocks"})
        self.assertIn("+ video expert(s)", out)

    @unittest.skipIf(torch.cuda.is_available(), "a CUDA GPU is present: bf16 is allowed")
    def test_bf16_is_refused_without_a_gpu(self):
        rc, _, err = train("joint", TMP / "joint-bf16", "--steps", "1", "--precision", "bf16")
        self.assertEqual(rc, 2)
        self.assertIn("--precision bf16 needs a CUDA GPU", err)

    def test_two_ranks_under_torchrun_agree(self):
        run = TMP / "ddp"
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
             "2", *TORCHRUN_STD, str(TOOL), "audio-v", "--bundle", str(BUNDLE), "--cache", str(CACHE),
             "--out", str(run), "--steps", "2", "--batch", "1", "--warmup", "1",
             "--device", "cpu"], capture_output=True, text=True, env=env, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        digests = dict(re.findall(r"rank (\d) of 2: trained weights sha256 ([0-9a-f]{64})",
                                  proc.stdout))
        self.assertEqual(set(digests), {"0", "1"}, proc.stdout)
        self.assertEqual(digests["0"], digests["1"])
        done = json.loads((run / "done.json").read_text())
        self.assertEqual(done["world_size"], 2)
        self.assertEqual(done["weights_sha256"], digests["0"])
        # The global batch is 2 clips (1 per rank): not the single-process run of batch 1.
        self.assertNotIn(digests["0"], self.audio_v_out)


@unittest.skipUnless(JOINTDIT.exists(), f"{JOINTDIT} is not built (meson compile -C build); "
                                        f"the convert --joint check needs it")
class ConvertJoint(unittest.TestCase):
    def test_trained_joint_blocks_load_with_convert_and_info(self):
        src = ["--svd", str(FIXTURES / "svd"), "--audioldm2", str(FIXTURES / "audioldm2")]
        converted = TMP / "converted.safetensors"
        subprocess.run([str(JOINTDIT), "convert", *src, "--out", str(converted),
                        "--dtype", "f32"], check=True, capture_output=True)
        cache = TMP / "cache-converted"
        rc, _, err = cli("cache", "--bundle", converted, "--clips", TMP / "clips" / "a-bounce",
                         "--out", cache, "--size", "16x16")
        self.assertEqual(rc, 0, err)
        run = TMP / "joint-converted"
        rc, _, err = train("joint", run, "--steps", "1", "--batch", "1", cache=cache,
                           bundle_path=converted)
        self.assertEqual(rc, 0, err)
        final = TMP / "final.safetensors"
        conv = subprocess.run([str(JOINTDIT), "convert", *src, "--joint",
                               str(run / "joint.safetensors"), "--out", str(final),
                               "--dtype", "f32"], capture_output=True, text=True)
        self.assertEqual(conv.returncode, 0, conv.stderr)
        self.assertIn("Joint Blocks loaded from", conv.stdout + conv.stderr)
        trained = weights(run / "joint.safetensors")
        got = bundle.read_bundle(final)[1]
        for k, v in trained.items():
            self.assertTrue(torch.equal(got[k], v), k)
        for path in (final, run / "bundle.safetensors"):
            info = subprocess.run([str(JOINTDIT), "info", str(path)], capture_output=True,
                                  text=True)
            self.assertEqual(info.returncode, 0, info.stderr)
            self.assertRegex(info.stdout, r"joint\s+56\s+417,792")


if __name__ == "__main__":
    unittest.main()
