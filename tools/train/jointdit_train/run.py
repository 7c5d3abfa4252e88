"""make-default-model: the whole recipe, stage by stage, each checkpointed and resumable.

Stages (state in OUT/state/): dataset -> vae_video -> vae_audio -> latents -> unimodal -> joint
-> preview -> export.  A finished stage leaves OUT/state/STAGE.done.json and is skipped on a
rerun; an unfinished training stage resumes from OUT/state/STAGE.ckpt.pt.  Every line of
progress is also appended to OUT/make-default-model.log.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import zlib

import torch
from torch.nn import functional as F

from . import data, models, objectives, paths
from .vae_init import pooled_colour_init
from jointdit_reference import bundle
from jointdit_reference.blas import blas_library, is_reference_blas
from jointdit_reference.joint import JointDiT
from jointdit_reference.preprocess import clip_preprocess
from jointdit_reference.vae import AudioVAE, VideoVAE

STAGES = ["dataset", "vae_video", "vae_audio", "latents", "unimodal", "joint", "preview",
          "export"]
# Share of the time budget per stage (the short stages take what they need).
# The latents stage is not time-boxed (it encodes every clip: 0.16-0.23 s per clip on 2 cores
# with the current VAEs, 116-133 s for 566 clips, 295 s for 1,821), so its share is what that
# measures.
SHARE = {"dataset": 0.05, "vae_video": 0.18, "vae_audio": 0.05, "latents": 0.07,
         "unimodal": 0.32, "joint": 0.30, "preview": 0.01, "export": 0.02}
P_DROP = 0.1
NOISE_AUG_MAX = 0.1
MOTION_BUCKET = 127.0
# Half of every denoiser batch is drawn from the low-noise end (sigma <= 1, audio index below
# ~330), the rest from the whole range. With SVD's log-normal alone (P_mean 0.7, P_std 1.6, made
# for 576x1024 latents) sigma < 0.5 is 19 % of the steps, and the fourth run's video UNet still
# left 85 % of the noise at sigma 0.05 and 44 % at 0.5, so its samples ended as coloured noise
# (resources/models/README.md). Continuing that UNet 500 steps with sigma <= 1 only took those
# to 72 % / 32 %, against 82 % / 39 % with the usual draw, at the cost of 12 % against 11 %
# at sigma 2 and 3.4 % against 2.0 % at sigma 10 (relative errors, 4 fixed clips).
LOW_NOISE_SHARE = 0.5
# Peak learning rates (each stage warms up, then follows a cosine down to a tenth). Unimodal:
# a fresh video UNet trained alone on the fourth run's latents reached at 450 steps with 1.5e-3
# the errors it reached at 750 with 5e-4 (x0-hat rms error at sigma 0.2 / 1: 0.103 / 0.258
# against 0.131 / 0.314 at 450 steps). Joint: the fresh Joint Blocks, and the experts continuing
# from the unimodal stage.
UNIMODAL_LR = 1.5e-3
JOINT_LR = 1e-3
EXPERT_LR = 5e-4
# The unimodal stage trains the video UNet on the first 8 frames of each clip, with four times
# the clips per batch (the same frames per step); the joint stage then trains it on whole clips.
# Fresh video UNets trained alone for 10 minutes on the fourth run's latents (1 thread each),
# x0-hat rms error on whole 32-frame clips at sigma 0.2 / 1 / 5 / 20 (copying the picture into
# every frame: 0.133):  32 frames x 2 clips 0.083 / 0.208 / 0.318 / 0.352;  16 x 4 0.083 / 0.200
# / 0.256 / 0.274;  8 x 8 0.072 / 0.161 / 0.217 / 0.237;  4 x 16 0.080 / 0.173 / 0.209 / 0.230.
# More pictures per step teach it the picture sooner, and its temporal layers still generalise
# to 32 frames (the error's part that varies across frames was lower with short clips too).
UNIMODAL_VIDEO_FRAMES = 8
BUNDLE_NAME = "default.safetensors"
BASELINE_NAME = "baseline-no-joint-block.safetensors"
LOG_NAME = "make-default-model.log"


class Run:
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.state = os.path.join(self.out, "state")
        os.makedirs(self.state, exist_ok=True)
        self.log_path = os.path.join(self.out, LOG_NAME)
        self.cfg = models.model_config(args.config)
        self.tiny = args.config == "tiny"
        if args.device == "auto":
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.device = torch.device(args.device)
        self.budget_s = args.budget_minutes * 60.0
        self.started = time.time()
        self.fps = float(self.cfg["joint"]["video_fps"])

    # ---- bookkeeping ----
    def log(self, text: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}Z {text}"
        print(line, flush=True)
        with open(self.log_path, "a") as f:
            f.write(line + "\n")

    def path(self, name: str) -> str:
        return os.path.join(self.state, name)

    def done(self, stage: str):
        p = self.path(f"{stage}.done.json")
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
        return None

    def mark_done(self, stage: str, summary: dict) -> None:
        with open(self.path(f"{stage}.done.json"), "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        self.log(f"[{stage}] done: {json.dumps(summary, sort_keys=True)}")

    def allotted(self, stage: str) -> float:
        return self.budget_s * SHARE[stage]

    def remaining_plan_s(self, after: str) -> float:
        rest = STAGES[STAGES.index(after) + 1:]
        return sum(self.allotted(s) for s in rest if self.done(s) is None)

    # ---- the training loop shared by the learning stages ----
    def train_loop(self, stage: str, modules: dict, groups: list, step_fn,
                   ema_limit: float = 0.0, warmup: int = 20, min_steps: int = 30):
        """Runs step_fn(step, generator) -> (loss tensor, {name: float}) for the stage's share of
        the time budget (or exactly --max-steps steps); `groups` is [(parameters, base learning
        rate), ...], each rate following warm-up then a cosine over the budget's elapsed fraction
        (so a machine slowed by other work shortens the stage instead of overrunning it);
        checkpoints every 2 minutes and at the end; resumes from the checkpoint."""
        ckpt_path = self.path(f"{stage}.ckpt.pt")
        groups = [(list(group), lr) for group, lr in groups]
        params = [p for group, _ in groups for p in group]
        bases = [lr for _, lr in groups]
        opt = torch.optim.AdamW([{"params": group, "lr": lr} for group, lr in groups],
                                weight_decay=0.01, betas=(0.9, 0.99))
        ema = {n: p.detach().clone() for n, p in _named(modules, params)} if ema_limit else None
        step, elapsed, history = 0, 0.0, []
        if os.path.exists(ckpt_path):
            ck = torch.load(ckpt_path, map_location=self.device)
            for name, m in modules.items():
                m.load_state_dict(ck["modules"][name])
            opt.load_state_dict(ck["opt"])
            if ema is not None:
                ema = ck["ema"]
            step, elapsed, history = ck["step"], ck["elapsed"], ck["history"]
            self.log(f"[{stage}] resuming at step {step} ({elapsed:.0f} s of "
                     f"{self.allotted(stage):.0f} s done before)")
        budget = self.allotted(stage)
        fixed = self.args.max_steps or 0

        def progress() -> float:
            return step / fixed if fixed else elapsed / budget

        def finished() -> bool:
            if fixed:
                return step >= fixed
            return elapsed >= budget and step >= min_steps

        last_save = time.time()
        recent_dt: list[float] = []
        every = 5 if not fixed else 1
        while not finished():
            t0 = time.time()
            p = min(1.0, progress())
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = objectives.scheduled_lr(step, p, base, warmup)
            gen = torch.Generator().manual_seed(zlib.crc32(f"{stage}:{step}".encode()))
            loss, parts = step_fn(step, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if ema is not None:
                d = objectives.ema_decay(step, ema_limit)
                with torch.no_grad():
                    for n, q in _named(modules, params):
                        ema[n].mul_(d).add_(q.detach(), alpha=1.0 - d)
            step += 1
            dt = time.time() - t0
            elapsed += dt
            recent_dt = (recent_dt + [dt])[-20:]
            history.append([step, float(loss.detach())] + [float(v) for v in parts.values()])
            if step % every == 0 or step <= 2 or finished():
                recent = history[-20:]
                mean = sum(h[1] for h in recent) / len(recent)
                per_s = sum(recent_dt) / len(recent_dt)
                left = (fixed - step) * per_s if fixed else max(0.0, budget - elapsed)
                total = fixed or step + int(left / per_s)
                names = list(parts)
                avg = [sum(h[2 + i] for h in recent) / len(recent) for i in range(len(names))]
                parts_text = " ".join(f"{k} {v:.4f}" for k, v in zip(names, avg))
                self.log(f"[{stage}] step {step}/~{total} loss {mean:.4f} ({parts_text}) "
                         f"lr {opt.param_groups[0]['lr']:.2e} {per_s:.2f} s/step, "
                         f"stage ETA {_mmss(left)}, run ETA "
                         f"{_mmss(left + self.remaining_plan_s(stage))}")
            if time.time() - last_save > 120 or finished() or step == self.args.interrupt_at:
                self._save(ckpt_path, modules, opt, ema, step, elapsed, history)
                last_save = time.time()
            if step == self.args.interrupt_at:
                self.log(f"[{stage}] interrupted at step {step} as asked (--interrupt-at)")
                raise SystemExit(3)
        if ema is not None:
            with torch.no_grad():
                for n, q in _named(modules, params):
                    q.copy_(ema[n])
        tail = history[-max(1, min(50, len(history) // 5)):]
        final = sum(h[1] for h in tail) / len(tail)
        return {"steps": step, "seconds": round(elapsed, 1), "final_loss": round(final, 5),
                "seconds_per_step": round(elapsed / max(1, step), 3),
                "final_parts": {k: round(sum(h[2 + i] for h in tail) / len(tail), 5)
                                for i, k in enumerate(parts)}}

    def _save(self, path, modules, opt, ema, step, elapsed, history):
        tmp = path + ".tmp"
        torch.save({"modules": {n: m.state_dict() for n, m in modules.items()},
                    "opt": opt.state_dict(), "ema": ema, "step": step,
                    "elapsed": elapsed, "history": history}, tmp)
        os.replace(tmp, path)

    # ---- stage 1: dataset ----
    def stage_dataset(self):
        shapes = self.cfg["shapes"]
        if self.tiny:
            count = 12
        else:
            # Seconds per clip (worldgen + log-mel) on 2 cores: 566 clips took 69-81 s in each
            # run that made its dataset (the 0.45 used until then left 70 % of the share unused).
            # Distinct clips matter for learning the strike times (resources/models/README.md,
            # "Why its sound is not synchronised").
            per_clip = 0.14
            count = int(min(2000, max(64, self.allotted("dataset") / per_clip)))
        ckpt = self.path("dataset.partial.pt")
        frames, mels, scenes, seeds, events = [], [], [], [], []
        if os.path.exists(ckpt):
            part = torch.load(ckpt)
            frames, mels = list(part["frames"]), list(part["mels"])
            scenes, seeds, events = part["scenes"], part["seeds"], part["events"]
            count = part["count"]
            self.log(f"[dataset] resuming at clip {len(seeds)}/{count}")
        t0 = time.time()
        last = time.time()
        start = len(seeds)
        for i in range(start, count):
            fr, mel, scene, seed, times = data.make_clip(i, shapes, self.fps)
            frames.append(torch.from_numpy(fr))
            mels.append(mel)
            scenes.append(scene)
            seeds.append(seed)
            events.append(times)
            n = i + 1
            if n % max(1, count // 20) == 0 or n == count:
                per = (time.time() - t0) / (n - start)
                self.log(f"[dataset] clip {n}/{count} ({per:.2f} s/clip, stage ETA "
                         f"{_mmss(per * (count - n))})")
            if time.time() - last > 120:
                torch.save({"frames": torch.stack(frames), "mels": torch.stack(mels),
                            "scenes": scenes, "seeds": seeds, "events": events,
                            "count": count}, ckpt)
                last = time.time()
        torch.save({"frames": torch.stack(frames), "mels": torch.stack(mels), "scenes": scenes,
                    "seeds": seeds, "events": events}, self.path("dataset.pt"))
        if os.path.exists(ckpt):
            os.remove(ckpt)
        counts = {s: scenes.count(s) for s in sorted(set(scenes))}
        return {"clips": count, "seeds": [min(seeds), max(seeds)], "scenes": counts,
                "scene_weights": data.SCENE_WEIGHTS, "seconds": round(time.time() - t0, 1),
                "held_out_seeds_from": data.TRAIN_SEED_LIMIT}

    def load_dataset(self):
        if not hasattr(self, "_dataset"):
            self._dataset = torch.load(self.path("dataset.pt"))
        return self._dataset

    # ---- stage 2: VAEs ----
    def stage_vae_video(self):
        ds = self.load_dataset()
        frames_u8 = ds["frames"]
        n, nf = frames_u8.shape[:2]
        vae = VideoVAE(self.cfg["video_vae"]).to(self.device)
        pooled_colour_init(vae, torch.Generator().manual_seed(zlib.crc32(b"vae_video:init")))
        _quiet_posterior(vae)
        group = min(3, nf)
        clips = 4 if self.device.type == "cpu" else 16
        crop = frames_u8.shape[2] if self.tiny else 32

        def step_fn(step, gen):
            idx = torch.randint(0, n, (clips,), generator=gen)
            start = torch.randint(0, nf - group + 1, (clips,), generator=gen)
            x = torch.stack([frames_u8[i, s:s + group] for i, s in zip(idx, start)])
            x = data.frames_to_unit(x).flatten(0, 1)
            if crop < x.shape[-1]:
                # Random 32 px crops: the VAE is convolutional (the mid attention works at any
                # size), and a crop costs a quarter of a frame, so 4x the steps per second.
                oy, ox = torch.randint(0, x.shape[-1] - crop + 1, (2,), generator=gen).tolist()
                x = x[:, :, oy:oy + crop, ox:ox + crop].contiguous()
            x = x.to(self.device)
            moments = vae.quant_conv(vae.encoder(x))
            mean, logvar = moments.chunk(2, dim=1)
            logvar = logvar.clamp(-30.0, 20.0)
            z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen).to(x)
            rec = vae.decode(z, group)
            mse = F.mse_loss(rec, x)
            l1 = (rec - x).abs().mean()
            kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()
            loss = mse + 0.5 * l1 + 1e-5 * kl
            return loss, {"mse": float(mse), "kl": float(kl)}

        # 3e-4, not 1e-3: from the pooled-colour start a larger step first undoes the codec
        # (measured 22.9 against 22.6 dB after the same 660 steps).
        summary = self.train_loop("vae_video", {"vae": vae}, [(vae.parameters(), 3e-4)],
                                  step_fn, warmup=20)
        torch.save(vae.state_dict(), self.path("vae_video.pt"))
        mse = summary["final_parts"]["mse"]
        summary["psnr_db"] = round(10 * math.log10(4.0 / max(mse, 1e-12)), 2)
        return summary

    def stage_vae_audio(self):
        ds = self.load_dataset()
        mels = ds["mels"]
        n, t_all, _ = mels.shape
        vae = AudioVAE(self.cfg["audio_vae"]).to(self.device)
        _quiet_posterior(vae)
        factor = models.vae_factor(self.cfg["audio_vae"])
        crop = min(64, t_all) if not self.tiny else t_all
        crop -= crop % factor
        batch = 4 if self.device.type == "cpu" else 16
        with torch.no_grad():   # start the decoder at the mean log-mel (silence is -11.5)
            vae.decoder.conv_out.bias.fill_(float(mels.mean()))

        def step_fn(step, gen):
            idx = torch.randint(0, n, (batch,), generator=gen)
            start = torch.randint(0, t_all - crop + 1, (batch,), generator=gen)
            x = torch.stack([mels[i, s:s + crop] for i, s in zip(idx, start)])[:, None]
            x = x.to(self.device)
            moments = vae.quant_conv(vae.encoder(x))
            mean, logvar = moments.chunk(2, dim=1)
            logvar = logvar.clamp(-30.0, 20.0)
            z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen).to(x)
            rec = vae.decode(z)
            mse = F.mse_loss(rec, x)
            l1 = (rec - x).abs().mean()
            kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()
            loss = mse + 0.5 * l1 + 1e-5 * kl
            return loss, {"mse": float(mse), "kl": float(kl)}

        summary = self.train_loop("vae_audio", {"vae": vae}, [(vae.parameters(), 1e-3)],
                                  step_fn, warmup=20)
        torch.save(vae.state_dict(), self.path("vae_audio.pt"))
        return summary

    # ---- latents: encode the whole set once, scaling factors ----
    @torch.no_grad()
    def stage_latents(self):
        ds = self.load_dataset()
        vvae = VideoVAE(self.cfg["video_vae"]).to(self.device).eval()
        vvae.load_state_dict(torch.load(self.path("vae_video.pt")))
        avae = AudioVAE(self.cfg["audio_vae"]).to(self.device).eval()
        avae.load_state_dict(torch.load(self.path("vae_audio.pt")))
        frames_u8, mels = ds["frames"], ds["mels"]
        n, nf = frames_u8.shape[:2]
        t0 = time.time()
        video, audio = [], []
        for i in range(n):
            x = data.frames_to_unit(frames_u8[i]).to(self.device)
            video.append(vvae.encode(x).cpu())
            audio.append(avae.encode(mels[i][None, None].to(self.device))[0].cpu())
            if (i + 1) % max(1, n // 10) == 0:
                per = (time.time() - t0) / (i + 1)
                self.log(f"[latents] {i + 1}/{n} clips encoded, stage ETA {_mmss(per * (n - i - 1))}")
        video = torch.stack(video)    # (N, F, C, h, w), unscaled
        audio = torch.stack(audio)    # (N, C, T, f), unscaled
        v_scale = 1.0 / float(video.std())
        a_scale = 1.0 / float(audio.std())
        size = self.cfg["image_encoder"]["image_size"]
        unit = (data.frames_to_unit(frames_u8[:, 0]) + 1.0) * 0.5
        clip_in = torch.cat([clip_preprocess(unit[i:i + 64], size) for i in range(0, n, 64)])
        torch.save({"video": video * v_scale, "audio": audio * a_scale,
                    "image_latent": video[:, 0].clone(), "clip_in": clip_in,
                    "video_scale": v_scale, "audio_scale": a_scale}, self.path("latents.pt"))
        return {"video_scaling_factor": v_scale, "audio_scaling_factor": a_scale,
                "video_latent_mean": float(video.mean()), "audio_latent_mean": float(audio.mean()),
                "seconds": round(time.time() - t0, 1)}

    def load_latents(self):
        if not hasattr(self, "_latents"):
            self._latents = torch.load(self.path("latents.pt"))
        return self._latents

    # ---- conditions shared by the unimodal and joint stages ----
    def video_condition(self, idx, gen, keep):
        lat = self.load_latents()
        b = idx.shape[0]
        strength = torch.rand(b, generator=gen) * NOISE_AUG_MAX
        z0 = lat["image_latent"][idx]
        z0 = z0 + strength.view(-1, 1, 1, 1) * torch.randn(z0.shape, generator=gen)
        z0 = z0 * keep.float().view(-1, 1, 1, 1)
        ids = torch.stack([torch.full((b,), self.fps - 1.0), torch.full((b,), MOTION_BUCKET),
                           strength], dim=1)
        return z0.to(self.device), ids.to(self.device)

    def conditions(self, idx, gen, keep, embeds):
        """All conditions of the samples in one batch from ONE keep mask, so a dropped sample
        gets the engine's null condition for everything at once: zero image latent and zero
        context for video, no image_proj addition for audio (the returned mask)."""
        z0, ids = self.video_condition(idx, gen, keep)
        k = keep.to(self.device)
        ctx = (embeds * k.to(embeds.dtype).view(-1, 1))[:, None]
        return z0, ids, ctx, k

    def video_inputs(self, idx, gen, keep, t_uni, timestep, frames=None):
        """The noisy clips of samples idx (their first `frames` frames; None: all)."""
        lat = self.load_latents()
        x0 = lat["video"][idx, :frames].to(self.device)
        sigma = timestep.sigma(t_uni)
        noise = torch.randn(x0.shape, generator=gen).to(self.device)
        x, x_in, c_noise = objectives.video_noisy(x0, noise, sigma)
        z0, ids = self.video_condition(idx, gen, keep)
        sample = torch.cat([x_in, z0[:, None].expand(-1, x0.shape[1], -1, -1, -1)], dim=2)
        return x0, x, sample, c_noise.float(), ids, sigma

    def audio_inputs(self, idx, gen, t_uni, timestep):
        lat = self.load_latents()
        a0 = lat["audio"][idx].to(self.device)
        _, index, alpha_bar = timestep.point(t_uni)
        noise = torch.randn(a0.shape, generator=gen).to(self.device)
        xt = objectives.audio_noisy(a0, noise, alpha_bar)
        return a0, xt, index.float().to(self.device), alpha_bar

    # ---- stage 3: unimodal denoisers + image encoder ----
    def stage_unimodal(self):
        lat = self.load_latents()
        n = lat["video"].shape[0]
        model = JointDiT(self.cfg, fresh=True).to(self.device)
        vunet, aunet, enc = model.unet("video"), model.unet("audio"), model.image_encoder
        models.patch_audio_null(aunet)
        timestep = objectives.UnifiedTimestep()
        total_frames = lat["video"].shape[1]
        frames = min(UNIMODAL_VIDEO_FRAMES, total_frames)
        bv = (2 if self.device.type == "cpu" else 16) * total_frames // frames
        ba = 4 if self.device.type == "cpu" else 32
        clip_in = lat["clip_in"]

        def step_fn(step, gen):
            # Video alone: its own timestep, its own dropout.
            iv = torch.randint(0, n, (bv,), generator=gen)
            keep_v = objectives.condition_keep(bv, P_DROP, gen)
            t_v = timestep.draw(bv, gen, LOW_NOISE_SHARE)
            x0, x, sample, c_noise, ids, sigma = self.video_inputs(iv, gen, keep_v, t_v, timestep,
                                                                   frames)
            emb_v = enc(clip_in[iv].to(self.device))
            ctx = (emb_v * keep_v.float().view(-1, 1).to(self.device))[:, None]
            v_out = vunet(sample, c_noise, ctx, ids)
            lv = objectives.video_loss(x0, objectives.video_x0(x, v_out, sigma), sigma).mean()
            # Audio alone.
            ia = torch.randint(0, n, (ba,), generator=gen)
            keep_a = objectives.condition_keep(ba, P_DROP, gen)
            t_a = timestep.draw(ba, gen, LOW_NOISE_SHARE)
            a0, xt, index, alpha_bar = self.audio_inputs(ia, gen, t_a, timestep)
            emb_a = enc(clip_in[ia].to(self.device))
            aunet.keep_mask = keep_a.to(self.device)
            eps = aunet(xt, index, image_embeds=emb_a)
            la = objectives.audio_loss(a0, objectives.audio_x0(xt, eps, alpha_bar), alpha_bar).mean()
            return lv + la, {"video": float(lv), "audio": float(la)}

        modules = {"video_unet": vunet, "audio_unet": aunet, "image_encoder": enc}
        params = [p for m in modules.values() for p in m.parameters()]
        summary = self.train_loop("unimodal", modules, [(params, UNIMODAL_LR)], step_fn,
                                  ema_limit=0.98, warmup=25)
        torch.save({k: m.state_dict() for k, m in modules.items()}, self.path("unimodal.pt"))
        summary["batch"] = {"video": bv, "video_frames": frames, "audio": ba}
        return summary

    # ---- stage 4: joint ----
    def joint_model(self):
        model = JointDiT(self.cfg, fresh=True).to(self.device)
        uni = torch.load(self.path("unimodal.pt"))
        model.unet("video").load_state_dict(uni["video_unet"])
        model.unet("audio").load_state_dict(uni["audio_unet"])
        model.image_encoder.load_state_dict(uni["image_encoder"])
        return model

    def stage_joint(self):
        lat = self.load_latents()
        n = lat["video"].shape[0]
        model = self.joint_model()
        for block in model.joint.blocks:
            block.attend_to_same_moment()
        # The Joint Blocks and both experts learn (the image encoder stays frozen): the paper
        # trains JointDiT whole, its "w/o Joint Block" ablation being the two experts fine-tuned
        # alone, and here the experts are what limits the samples (resources/models/README.md).
        # The baseline bundle keeps the experts as the unimodal stage left them (stage_export).
        models.set_trainable(model, False)
        experts = {"video_unet": model.unet("video"), "audio_unet": model.unet("audio")}
        for m in [model.joint, *experts.values()]:
            models.set_trainable(m, True)
        aunet = model.unet("audio")
        models.patch_audio_null(aunet)
        with torch.no_grad():
            embeds = torch.cat([model.image_encoder(lat["clip_in"][i:i + 64].to(self.device))
                                for i in range(0, n, 64)])
        timestep = objectives.UnifiedTimestep()
        b = 2 if self.device.type == "cpu" else 16

        def step_fn(step, gen):
            idx = torch.randint(0, n, (b,), generator=gen)
            keep = objectives.condition_keep(b, P_DROP, gen)
            t_uni = timestep.draw(b, gen, LOW_NOISE_SHARE)   # ONE unified timestep per sample
            x0, x, sample, c_noise, ids, sigma = self.video_inputs(idx, gen, keep, t_uni, timestep)
            a0, xt, index, alpha_bar = self.audio_inputs(idx, gen, t_uni, timestep)
            emb = embeds[idx]
            _, _, ctx, aunet.keep_mask = self.conditions(idx, gen, keep, emb)
            v_out, eps = model(sample, c_noise, ctx, ids, xt, index, emb, "full")
            lv = objectives.video_loss(x0, objectives.video_x0(x, v_out, sigma), sigma).mean()
            la = objectives.audio_loss(a0, objectives.audio_x0(xt, eps, alpha_bar), alpha_bar).mean()
            return lv + la, {"video": float(lv), "audio": float(la)}

        modules = {"joint": model.joint, **experts}
        groups = [(model.joint.parameters(), JOINT_LR),
                  ([p for m in experts.values() for p in m.parameters()], EXPERT_LR)]
        summary = self.train_loop("joint", modules, groups, step_fn, ema_limit=0.98, warmup=25)
        torch.save({k: m.state_dict() for k, m in modules.items()}, self.path("joint.pt"))
        summary["batch"] = b
        summary["trained"] = (f"Joint Blocks (lr {JOINT_LR:g}) and both experts (lr "
                              f"{EXPERT_LR:g}); image encoder frozen")
        return summary

    # ---- stage 5: preview maps ----
    @torch.no_grad()
    def stage_preview(self):
        ds, lat = self.load_dataset(), self.load_latents()
        use = min(128, lat["video"].shape[0])
        video = lat["video"][:use]                       # (N, F, C, h, w) scaled latents
        c, h, w = video.shape[2:]
        rgb = data.frames_to_unit(ds["frames"][:use])    # (N, F, 3, H, W)
        rgb = F.adaptive_avg_pool2d(rgb.flatten(0, 1), (h, w))
        xv = video.flatten(0, 1).permute(0, 2, 3, 1).reshape(-1, c).double()
        yv = rgb.permute(0, 2, 3, 1).reshape(-1, 3).double()
        wv, err_v = _lstsq(xv, yv)
        audio = lat["audio"][:use]                       # (N, C, T, f)
        ca, ta, fa = audio.shape[1:]
        mel = F.adaptive_avg_pool2d(ds["mels"][:use][:, None], (ta, fa))[:, 0]
        xa = audio.permute(0, 2, 3, 1).reshape(-1, ca).double()
        ya = mel.reshape(-1, 1).double()
        wa, err_a = _lstsq(xa, ya)
        preview = {"video_rgb": {"weight": wv[:c].T.tolist(), "bias": wv[c].tolist()},
                   "audio_mel": {"weight": wa[:ca, 0].tolist(), "bias": float(wa[ca, 0])}}
        with open(self.path("preview.json"), "w") as f:
            json.dump(preview, f)
        return {"video_rgb_rms_error": err_v, "audio_mel_rms_error": err_a, "clips": use}

    # ---- stage 6: export ----
    def stage_export(self):
        model = self.joint_model()          # the experts as the unimodal stage left them
        model.video["vae"].load_state_dict(torch.load(self.path("vae_video.pt")))
        model.audio["vae"].load_state_dict(torch.load(self.path("vae_audio.pt")))
        trained = torch.load(self.path("joint.pt"))
        model.joint.load_state_dict(trained["joint"])
        lat = self.done("latents")
        cfg = json.loads(json.dumps(self.cfg))
        cfg["video_vae"]["scaling_factor"] = lat["video_scaling_factor"]
        cfg["audio_vae"]["scaling_factor"] = lat["audio_scaling_factor"]
        with open(self.path("preview.json")) as f:
            cfg["preview"] = json.load(f)
        cfg["provenance"] = self.provenance()
        # The baseline: the unimodal stage's experts sampled independently (gates 0).
        base_config, base_tensors = without_joint_blocks(
            cfg, _f16_tensors(model), "w/o Joint Block baseline: the experts of the unimodal "
            "stage (trained alone), joint.*_modulation zeroed (gates 0)")
        model.unet("video").load_state_dict(trained["video_unet"])
        model.unet("audio").load_state_dict(trained["audio_unet"])
        tensors = _f16_tensors(model)
        out = os.path.join(self.out, BUNDLE_NAME)
        bundle.write_bundle(out, cfg, tensors)
        base = os.path.join(self.out, BASELINE_NAME)
        bundle.write_bundle(base, base_config, base_tensors)
        size = os.path.getsize(out)
        return {"bundle": out, "bytes": size, "baseline": base,
                "parameters": sum(v.numel() for v in tensors.values())}

    def provenance(self) -> dict:
        stages = {s: self.done(s) for s in STAGES[:-1]}
        wall = sum(float((v or {}).get("seconds", 0.0)) for v in stages.values())
        return {
            "made_by": "tools/train/make-default-model",
            "commands": self.commands(),
            "config": self.args.config,
            "git_revision": _git_revision(),
            "machine": _machine(self.device),
            "world": {"seeds": stages["dataset"]["seeds"], "scenes": stages["dataset"]["scenes"],
                      "clips": stages["dataset"]["clips"],
                      "held_out_seeds_from": data.TRAIN_SEED_LIMIT,
                      "generator": "tools/worldgen (64x64, 12.5 fps, 2.56 s, 16 kHz)"},
            "stages": {s: {k: v for k, v in (stages[s] or {}).items()
                           if k in ("steps", "seconds", "final_loss", "final_parts", "psnr_db",
                                    "batch", "trained", "seconds_per_step",
                                    "video_scaling_factor", "audio_scaling_factor")}
                       for s in stages},
            "training_seconds": round(wall, 1),
            "objective": "DESIGN.md section 4: one unified t_uni (EDM P_mean 0.7, P_std 1.6; "
                         "DDPM scaled-linear 0.0015-0.0195, 1000 steps), w_v=(s^2+1)/s^2, "
                         "w_a=abar/(1-abar), condition dropout 0.1 nulling all together",
            "training_steps": sum(int((stages[s] or {}).get("steps", 0))
                                  for s in ("vae_video", "vae_audio", "unimodal", "joint")),
        }

    def commands(self) -> list:
        p = self.path("commands.json")
        cmds = json.load(open(p)) if os.path.exists(p) else []
        return cmds

    def record_command(self) -> None:
        p = self.path("commands.json")
        cmds = self.commands()
        cmds.append({"argv": " ".join(sys.argv), "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                       time.gmtime())})
        with open(p, "w") as f:
            json.dump(cmds, f, indent=1)

    def run(self) -> int:
        self.record_command()
        self.log(f"make-default-model: config {self.args.config}, device {self.device}, "
                 f"budget {self.args.budget_minutes} min, threads {torch.get_num_threads()}, "
                 f"out {self.out}, git {_git_revision()}")
        blas = blas_library()
        if self.device.type == "cpu" and is_reference_blas(blas):
            self.log(f"warning: PyTorch multiplies matrices with the reference BLAS ({blas}), "
                     f"about 5x slower here than OpenBLAS; install libopenblas0-openmp "
                     f"(tools/install-dependencies does) for a model trained as far as the "
                     f"budget allows")
        for stage in STAGES:
            if stage in self.args.stop_after_skip:
                continue
            if self.done(stage) is not None:
                self.log(f"[{stage}] already done, skipped")
                continue
            self.log(f"[{stage}] starting (share {SHARE[stage] * self.budget_s / 60:.1f} min)")
            t0 = time.time()
            summary = getattr(self, f"stage_{stage}")()
            summary.setdefault("seconds", round(time.time() - t0, 1))
            self.mark_done(stage, summary)
            if self.args.stop_after == stage:
                self.log(f"stopping after {stage} as asked")
                return 0
        self.log(f"make-default-model: finished in {time.time() - self.started:.0f} s this "
                 f"session; bundle {os.path.join(self.out, BUNDLE_NAME)}")
        return 0


def without_joint_blocks(config: dict, tensors: dict, variant: str):
    """(config, tensors) of the paper's "w/o Joint Block" setting: every Joint Block's
    modulation zeroed (gates 0), so each UNet runs alone; the provenance names the variant."""
    tensors = {name: torch.zeros_like(t) if name.startswith("joint.") and "_modulation." in name
               else t for name, t in tensors.items()}
    config = dict(config)
    config.pop("format", None)
    config.pop("version", None)
    prov = dict(config.get("provenance", {}))
    prov["variant"] = variant
    config["provenance"] = prov
    return config, tensors


def write_baseline(src: str, dst: str) -> None:
    """A bundle's "w/o Joint Block" variant: the same bundle with every gate zero."""
    config, tensors = bundle.read_bundle(src)
    config, tensors = without_joint_blocks(
        config, tensors, "w/o Joint Block: joint.*_modulation zeroed (gates 0)")
    bundle.write_bundle(dst, config, tensors)


def _f16_tensors(model: torch.nn.Module) -> dict:
    tensors = {k: v.detach().cpu().to(torch.float16) for k, v in model.state_dict().items()}
    for k, v in tensors.items():
        if not torch.isfinite(v).all():
            raise ValueError(f"export: tensor {k} is not finite in F16")
    return tensors


def _quiet_posterior(vae) -> None:
    """Start the posterior's log-variance at -8 (std 0.02) instead of about 0: with unit noise
    on latents whose mean spreads about 0.3, the first run's decoder saw mostly noise and learned
    only the average colour in 180 steps (MSE stuck at 0.20)."""
    with torch.no_grad():
        lat = vae.quant_conv.out_channels // 2
        vae.quant_conv.weight[lat:].mul_(0.01)
        vae.quant_conv.bias[lat:].fill_(-8.0)


def _lstsq(x: torch.Tensor, y: torch.Tensor):
    xb = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], dim=1)
    sol = torch.linalg.lstsq(xb, y).solution
    err = float((xb @ sol - y).square().mean().sqrt())
    return sol, round(err, 5)


def _named(modules: dict, params: list):
    ids = {id(p) for p in params}
    for mname, m in modules.items():
        for n, p in m.named_parameters():
            if id(p) in ids:
                yield f"{mname}.{n}", p


def _mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=paths.ROOT, capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    text = (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, BLAS {blas_library()}")
    if device.type == "cuda":
        text += f", {torch.cuda.get_device_name(device)}"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="make-default-model",
        description="Train the built-in default model (DESIGN.md section 4) and write its bundle.")
    parser.add_argument("--out", default="build/default-model",
                        help="output folder (state/, the bundle, the log)")
    parser.add_argument("--config", choices=["default", "tiny"], default="default")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="time budget for the whole run (default 85 for default, 2 for tiny)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in OUT (the default when OUT/state exists; "
                             "without it a fresh OUT is required)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=0,
                        help="fixed step count per training stage (tiny default 3)")
    parser.add_argument("--interrupt-at", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--stop-after", choices=STAGES, default=None,
                        help="stop once this stage is done (a later rerun continues)")
    args = parser.parse_args(argv)
    args.stop_after_skip = []
    if args.budget_minutes is None:
        args.budget_minutes = 2.0 if args.config == "tiny" else 85.0
    if args.config == "tiny" and not args.max_steps:
        args.max_steps = 3
    state = os.path.join(args.out, "state")
    if os.path.isdir(state) and os.listdir(state) and not args.resume:
        print(f"make-default-model: {args.out} already holds a run; pass --resume to continue "
              f"it or choose another --out", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return Run(args).run()
