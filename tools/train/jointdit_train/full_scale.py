"""train-full-scale: the paper's recipe on a folder of real clips, starting from a bundle
(usually one `jointdit convert` made from Stable Video Diffusion + AudioLDM2 + CLIP).

  cache    clips -> the bundle's VAE latents + image embeddings, safetensors shards, once
  audio-v  the image-conditioned audio UNet fine-tuned alone (the paper's "AudioLDM-v")
  joint    the Joint Blocks on the unified timestep (DESIGN.md section 4), experts frozen unless
           --unfreeze says otherwise

Training stages run alone or under torchrun (PyTorch DDP: gloo on the CPU, NCCL on CUDA); each
rank takes its own share of every global batch, only rank 0 writes.  Checkpoints, the cache and
the exports are safetensors files (never pickle); a rerun with --resume continues bit-identically.
"""
import argparse
import contextlib
import hashlib
import json
import os
import sys
import time
import zlib

import numpy as np
import torch
from torch.utils import checkpoint as torch_checkpoint

from . import clips, data, models, objectives, paths  # noqa: F401
from jointdit_reference import bundle as bundle_io
from jointdit_reference import sampling
from jointdit_reference.audio_unet import AudioUNet
from jointdit_reference.image_encoder import ImageEncoder
from jointdit_reference.joint import JointDiT
from jointdit_reference.mel import log_mel
from jointdit_reference.preprocess import clip_preprocess
from jointdit_reference.vae import AudioVAE, VideoVAE

CACHE_FORMAT = "jointdit-latent-cache"
CHECKPOINT_KEY = "jointdit.train"
NOISE_AUG_MAX = 0.1
EXPORT_DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
NP_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


class UsageError(ValueError):
    """Bad input the user can fix; main() prints it as one sentence and exits with 2."""


# ---------------------------------------------------------------- bundle ----
class Bundle:
    def __init__(self, path: str):
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such bundle file")
        try:
            self.config, self.tensors = bundle_io.read_bundle(path)
        except (KeyError, ValueError, json.JSONDecodeError) as err:
            raise UsageError(f"{path}: not a JointDiT bundle ({err}); make one with "
                             f"`jointdit convert` or tools/train/make-default-model") from None
        self.path = path
        for part in ("video_unet", "audio_unet", "joint"):
            if part not in self.config:
                raise UsageError(f"{path}: the bundle's config has no \"{part}\" section")

    def part(self, prefix: str) -> dict:
        return {k[len(prefix):]: v.float() for k, v in self.tensors.items()
                if k.startswith(prefix)}

    def require(self, *parts: str) -> None:
        for p in parts:
            if p not in self.config:
                raise UsageError(f"{self.path}: the bundle has no {p} (its config lacks "
                                 f"\"{p}\"); caching needs both VAEs and the image encoder")

    def encoder_identity(self) -> str:
        """sha256 of what the cache depends on: both VAEs and the image encoder (names, shapes,
        bytes) and their configs; training refuses a cache made with another bundle."""
        h = hashlib.sha256()
        for key in ("video_vae", "audio_vae", "image_encoder"):
            h.update(json.dumps(self.config.get(key), sort_keys=True).encode())
        for name in sorted(self.tensors):
            if name.startswith(("video.vae.", "audio.vae.", "image_encoder.")):
                t = self.tensors[name].contiguous()
                h.update(f"{name}:{t.dtype}:{list(t.shape)}".encode())
                h.update(t.view(torch.uint8).numpy().tobytes())
        return h.hexdigest()

    def schedule(self) -> sampling.ScheduleConfig:
        s = self.config.get("sampling", {})
        v, a = s.get("video", {}), s.get("audio", {})
        d = sampling.ScheduleConfig()
        return sampling.ScheduleConfig(
            sigma_min=v.get("sigma_min", d.sigma_min), sigma_max=v.get("sigma_max", d.sigma_max),
            p_mean=v.get("p_mean", d.p_mean), p_std=v.get("p_std", d.p_std),
            train_steps=a.get("train_steps", d.train_steps),
            scaled_linear=a.get("beta_schedule", "scaled_linear") == "scaled_linear",
            beta_start=a.get("beta_start", d.beta_start), beta_end=a.get("beta_end", d.beta_end))

    def video_conditions(self) -> tuple[float, float]:
        """(fps id, motion bucket): the added time ids as the sampler sets them
        (sampling.Pipeline.condition: joint.video_fps - 1, the bundle's motion bucket)."""
        vc = self.config.get("sampling", {}).get("video_conditions", {})
        fps = float(self.config["joint"]["video_fps"])
        return fps - 1.0, float(vc.get("motion_bucket_id", sampling.DEFAULT_MOTION_BUCKET_ID))


def _unet_factor(unet_config: dict) -> int:
    return 2 ** (len(unet_config["block_out_channels"]) - 1)


def geometry(b: Bundle, size: str | None, frames: int | None) -> tuple[clips.Window, dict, int]:
    """The clip window, the mel config and the mel frame count the bundle's model takes."""
    cfg = b.config
    shapes = cfg.get("shapes", {})
    vf = models.vae_factor(cfg["video_vae"])
    if size:
        try:
            w, h = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise UsageError(f"--size {size!r}: write WIDTHxHEIGHT, e.g. 1024x576") from None
    elif "image_size" in shapes:
        h, w = shapes["image_size"]
    elif "video_latent" in shapes:
        h, w = shapes["video_latent"][1] * vf, shapes["video_latent"][2] * vf
    else:
        raise UsageError(f"{b.path}: its config has no picture size; pass --size WxH")
    step = vf * _unet_factor(cfg["video_unet"])
    if w % step or h % step or w <= 0 or h <= 0:
        raise UsageError(f"picture size {w}x{h}: both sides must be multiples of {step} "
                         f"(the video VAE's and the UNet's downsampling)")
    n = frames or shapes.get("frames")
    if not n:
        raise UsageError(f"{b.path}: its config has no frame count; pass --frames N")
    mel = cfg.get("mel")
    sr = int((mel or {}).get("sample_rate", shapes.get("sample_rate", 16000)))
    if mel:
        mcfg = {"sample_rate": sr, "n_fft": mel["n_fft"], "hop": mel["hop_length"],
                "win": mel["win_length"], "n_mels": mel["mel_bins"],
                "fmin": float(mel["fmin"]), "fmax": float(mel["fmax"])}
    else:
        mcfg = data.mel_config({"mel_bins": shapes.get("mel_bins", 64), "sample_rate": sr})
    window = clips.Window(width=w, height=h, fps=float(cfg["joint"]["video_fps"]),
                         frames=int(n), sample_rate=sr)
    af = models.vae_factor(cfg["audio_vae"]) * _unet_factor(cfg["audio_unet"])
    mel_frames = int(window.samples // mcfg["hop"]) // af * af
    if mel_frames <= 0 or mcfg["n_mels"] % af:
        raise UsageError(f"{n} frames at {window.fps:g} fps give {window.seconds:.2f} s of "
                         f"audio, too short for the audio VAE and UNet (multiples of {af} mel "
                         f"frames)")
    return window, mcfg, mel_frames


# ----------------------------------------------------------------- cache ----
def _log_to(path: str | None):
    def log(text: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}Z {text}"
        print(line, flush=True)
        if path:
            with open(path, "a") as f:
                f.write(line + "\n")
    return log


def _mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: PyTorch sees no CUDA device here")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


@torch.no_grad()
def run_cache(args) -> int:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise UsageError("cache runs as one process (its ranks would write the same shards); "
                         "start it without torchrun (--device cuda uses the GPU)")
    b = Bundle(args.bundle)
    b.require("video_vae", "audio_vae", "image_encoder")
    window, mcfg, mel_frames = geometry(b, args.size, args.frames)
    sources = clips.find_clips(args.clips)
    if not sources:
        raise UsageError(f"{args.clips}: the folder holds no clips (MP4 files, or folders with "
                         f"frames/ and audio.wav as tools/worldgen writes them)")
    os.makedirs(args.out, exist_ok=True)
    index_path = os.path.join(args.out, "index.json")
    log = _log_to(os.path.join(args.out, "cache.log"))
    identity = b.encoder_identity()
    rel = [os.path.relpath(s, args.clips) for s in sources]
    index = {"format": CACHE_FORMAT, "version": 1, "bundle": os.path.abspath(b.path),
             "bundle_identity": identity, "clips_folder": os.path.abspath(args.clips),
             "window": {"width": window.width, "height": window.height, "fps": window.fps,
                        "frames": window.frames, "sample_rate": window.sample_rate},
             "mel": mcfg, "mel_frames": mel_frames,
             "scaling_factor": {"video": b.config["video_vae"].get("scaling_factor", 0.18215),
                                "audio": b.config["audio_vae"].get("scaling_factor", 1.0)},
             "shards": [], "done": 0, "sources": rel, "skipped": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            old = json.load(f)
        same = {k: old.get(k) for k in ("bundle_identity", "window", "mel_frames", "sources")}
        if same != {k: index[k] for k in same}:
            raise UsageError(f"{args.out} already holds a cache of other clips or another "
                             f"bundle; choose another --out (or delete it)")
        index = old
        if index.get("finished"):
            log(f"[cache] {args.out} is complete ({index['clips']} clips), nothing to do")
            return 0
        log(f"[cache] resuming at clip {index['done']}/{len(sources)}")
    device = _device(args.device)
    vvae = VideoVAE(b.config["video_vae"]).to(device).eval()
    vvae.load_state_dict(b.part("video.vae."))
    avae = AudioVAE(b.config["audio_vae"]).to(device).eval()
    avae.load_state_dict(b.part("audio.vae."))
    enc = ImageEncoder(b.config["image_encoder"]).to(device).eval()
    enc.load_state_dict(b.part("image_encoder."))
    vs, as_ = index["scaling_factor"]["video"], index["scaling_factor"]["audio"]
    log(f"[cache] {len(sources)} clips from {args.clips} -> {window.width}x{window.height}, "
        f"{window.frames} frames at {window.fps:g} fps, {window.seconds:.2f} s of "
        f"{window.sample_rate} Hz audio ({mel_frames} mel frames x {mcfg['n_mels']}), "
        f"device {device}")
    pending: dict[str, list] = {"video": [], "image_latent": [], "image_embeds": [], "audio": []}
    names: list[str] = []
    t0, start = time.time(), index["done"]

    def flush() -> None:
        if not names:
            return
        shard = f"shard-{len(index['shards']):05d}.safetensors"
        tensors = {k: torch.stack(v) for k, v in pending.items()}
        bundle_io.write_safetensors(os.path.join(args.out, shard), tensors,
                                    {"sources": json.dumps(names)})
        index["shards"].append({"file": shard, "clips": len(names), "sources": list(names)})
        for v in pending.values():
            v.clear()
        names.clear()
        tmp = index_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(index, f, indent=1)
        os.replace(tmp, index_path)

    for i in range(start, len(sources)):
        try:
            frames_u8, wave = clips.read_clip(sources[i], window)
        except clips.ClipError as err:
            if not args.skip_bad_clips:
                raise UsageError(f"{err} (or pass --skip-bad-clips)") from None
            log(f"[cache] skipped: {err}")
            index["skipped"].append({"source": rel[i], "reason": str(err)})
            index["done"] = i + 1
            continue
        x = data.frames_to_unit(frames_u8).to(device)
        lat = torch.cat([vvae.encode(x[j:j + args.encode_batch])
                         for j in range(0, x.shape[0], args.encode_batch)]).cpu()
        mel = log_mel(wave, mcfg)[:mel_frames].float()
        alat = avae.encode(mel[None, None].to(device))[0].cpu()
        # The preprocessing builds its kernels on the CPU: run it there.
        unit = (data.frames_to_unit(frames_u8[:1]) + 1.0) * 0.5
        emb = enc(clip_preprocess(unit, b.config["image_encoder"]["image_size"])
                  .to(device))[0].cpu()
        pending["video"].append(lat * vs)
        pending["image_latent"].append(lat[0].clone())   # SVD conditions on it unscaled
        pending["image_embeds"].append(emb)
        pending["audio"].append(alat * as_)
        names.append(rel[i])
        index["done"] = i + 1
        if len(names) >= args.shard_clips:
            flush()
        n = i + 1
        if n % max(1, min(100, len(sources) // 20)) == 0 or n == len(sources):
            per = (time.time() - t0) / (n - start)
            log(f"[cache] {n}/{len(sources)} clips, {per:.2f} s/clip, ETA "
                f"{_mmss(per * (len(sources) - n))}")
    flush()
    index["clips"] = sum(s["clips"] for s in index["shards"])
    if index["clips"] == 0:
        raise UsageError(f"{args.clips}: none of its {len(sources)} clips could be used")
    index["finished"] = True
    with open(index_path, "w") as f:
        json.dump(index, f, indent=1)
    log(f"[cache] done: {index['clips']} clips in {len(index['shards'])} shards, "
        f"{len(index['skipped'])} skipped, {time.time() - t0:.1f} s")
    return 0


class Cache:
    """The cached latents, memory-mapped shard by shard (nothing is read until a clip is)."""

    def __init__(self, folder: str):
        path = os.path.join(folder, "index.json")
        if not os.path.exists(path):
            raise UsageError(f"{folder}: no latent cache here (no index.json); run "
                             f"`train-full-scale cache` first")
        with open(path) as f:
            self.index = json.load(f)
        if self.index.get("format") != CACHE_FORMAT or not self.index.get("finished"):
            raise UsageError(f"{folder}: the latent cache is not complete; rerun "
                             f"`train-full-scale cache` with the same arguments")
        self.folder = folder
        self.where: list[tuple[int, int]] = []
        self.maps: list[dict] = []
        for s, shard in enumerate(self.index["shards"]):
            self.maps.append(_memmap_safetensors(os.path.join(folder, shard["file"])))
            self.where += [(s, j) for j in range(shard["clips"])]

    def __len__(self) -> int:
        return len(self.where)

    def check_bundle(self, b: Bundle) -> None:
        if self.index["bundle_identity"] != b.encoder_identity():
            raise UsageError(f"{b.path}: not the bundle this cache was made with "
                             f"({self.index['bundle']}): its VAEs or image encoder differ; "
                             f"train with that bundle or rerun `train-full-scale cache`")

    def batch(self, idx: list[int], device: torch.device) -> dict:
        out = {}
        for key in ("video", "image_latent", "image_embeds", "audio"):
            rows = [np.asarray(self.maps[self.where[i][0]][key][self.where[i][1]]) for i in idx]
            out[key] = torch.from_numpy(np.stack(rows)).float().to(device)
        return out


def _memmap_safetensors(path: str) -> dict:
    with open(path, "rb") as f:
        (size,) = np.frombuffer(f.read(8), dtype="<u8")
        header = json.loads(f.read(int(size)))
    header.pop("__metadata__", None)
    base = 8 + int(size)
    maps = {}
    for name, info in header.items():
        begin, _ = info["data_offsets"]
        maps[name] = np.memmap(path, dtype=NP_DTYPES[info["dtype"]], mode="r",
                               offset=base + begin, shape=tuple(info["shape"]))
    return maps


# ------------------------------------------------------------ distributed ----
class Dist:
    """torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK) or a single process."""

    def __init__(self, device_name: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = _device(device_name, self.local)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1:
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend)
            self.backend = backend
        else:
            self.backend = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wrap(self, module: torch.nn.Module, find_unused: bool) -> torch.nn.Module:
        if self.world == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel
        ids = [self.local] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused)

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.world > 1:
            torch.distributed.destroy_process_group()


class ShardedOrder:
    """Epoch-wise random permutations of the clips, one global batch per step, rank r taking
    its contiguous slice, like DistributedSampler; a pure function of the step, so a resumed run
    sees exactly the batches an uninterrupted one would."""

    def __init__(self, n: int, seed: int, world: int, rank: int):
        self.n, self.seed, self.world, self.rank = n, seed, world, rank
        self.perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self.perms:
            if len(self.perms) > 4:
                self.perms.clear()
            g = torch.Generator().manual_seed(zlib.crc32(f"order:{self.seed}:{epoch}".encode()))
            self.perms[epoch] = torch.randperm(self.n, generator=g)
        return self.perms[epoch]

    def indices(self, step: int, batch: int) -> list[int]:
        first = (step * self.world + self.rank) * batch
        return [int(self._perm(p // self.n)[p % self.n]) for p in range(first, first + batch)]


# -------------------------------------------------------------- training ----
def enable_checkpointing(modules: list[torch.nn.Module]) -> None:
    """Gradient checkpointing: each listed block recomputes its activations in the backward pass
    instead of keeping them (torch.utils.checkpoint, non-reentrant, so frozen inputs work).
    The UNets' up blocks pop their skips from a list argument; every run (the forward and the
    recomputation) gets its own copy of such a list, and the caller's list is left as one
    plain call would leave it."""
    for m in modules:
        forward = m.forward

        def wrapped(*a, _forward=forward, **k):
            if not torch.is_grad_enabled():
                return _forward(*a, **k)
            lists = {i: list(x) for i, x in enumerate(a) if isinstance(x, list)}
            after: dict[int, list] = {}

            def run(*_):
                call = [list(lists[i]) if i in lists else x for i, x in enumerate(a)]
                out = _forward(*call, **k)
                if not after:
                    after.update({i: call[i] for i in lists})
                return out

            out = torch_checkpoint.checkpoint(run, *[x for x in a if torch.is_tensor(x)],
                                              use_reentrant=False)
            for i, rest in after.items():
                a[i][:] = rest
            return out
        m.forward = wrapped


def _unet_blocks(unet) -> list:
    return list(unet.down_blocks) + [unet.mid_block] + list(unet.up_blocks)


def _autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Trainer:
    """The loop both training stages share: AdamW, warm-up then cosine over the steps, gradient
    clipping, DDP, safetensors checkpoints every --save-every steps, a log with the ETA."""

    def __init__(self, args, stage: str, dist: Dist):
        self.args, self.stage, self.dist = args, stage, dist
        self.out = args.out
        self.ckpt = os.path.join(self.out, "checkpoint.safetensors")
        # Only rank 0 writes (and prints) the log.
        self.log = _log_to(os.path.join(self.out, f"{stage}.log")) if dist.main \
            else (lambda text: None)

    def run(self, module, named: list, step_fn) -> dict:
        a = self.args
        names = [n for n, _ in named]
        params = [p for _, p in named]
        opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), weight_decay=0.01)
        step, elapsed, history = 0, 0.0, []
        if os.path.exists(self.ckpt):
            step, elapsed, history = self._load(names, params, opt)
            self.log(f"[{self.stage}] resuming at step {step}/{a.steps}")
        recent: list[float] = []
        while step < a.steps:
            t0 = time.time()
            lr = objectives.scheduled_lr(step, step / a.steps, a.lr, a.warmup)
            for group in opt.param_groups:
                group["lr"] = lr
            gen = torch.Generator().manual_seed(
                zlib.crc32(f"{self.stage}:{a.seed}:{step}:{self.dist.rank}".encode()))
            loss, parts = step_fn(step, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            dt = time.time() - t0
            elapsed += dt
            recent = (recent + [dt])[-20:]
            history.append([step, float(loss.detach())] + [float(v) for v in parts.values()])
            history = history[-200:]
            if step % a.log_every == 0 or step <= 2 or step == a.steps:
                tail = history[-20:]
                per = sum(recent) / len(recent)
                text = " ".join(f"{k} {sum(h[2 + i] for h in tail) / len(tail):.4f}"
                                for i, k in enumerate(parts))
                self.log(f"[{self.stage}] step {step}/{a.steps} loss "
                         f"{sum(h[1] for h in tail) / len(tail):.4f} ({text}) lr {lr:.2e} "
                         f"{per:.2f} s/step, ETA {_mmss(per * (a.steps - step))}")
            if step % a.save_every == 0 or step == a.steps or step == a.interrupt_at:
                self._save(names, params, opt, step, elapsed, history)
            if step == a.interrupt_at:
                self.log(f"[{self.stage}] interrupted at step {step} as asked (--interrupt-at)")
                raise SystemExit(3)
        digest = hashlib.sha256()
        for p in params:
            digest.update(p.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        # Every rank prints its weights' digest: the ranks of a DDP run must agree.
        print(f"[{self.stage}] rank {self.dist.rank} of {self.dist.world}: trained weights "
              f"sha256 {digest.hexdigest()}", flush=True)
        tail = history[-max(1, min(50, len(history) // 5)):]
        return {"steps": step, "seconds": round(elapsed, 1),
                "final_loss": round(sum(h[1] for h in tail) / max(1, len(tail)), 5),
                "world_size": self.dist.world, "trained_tensors": len(names),
                "trained_parameters": sum(p.numel() for p in params),
                "weights_sha256": digest.hexdigest()}

    def _save(self, names, params, opt, step, elapsed, history) -> None:
        self.dist.barrier()
        if self.dist.main:
            tensors = {}
            for i, (n, p) in enumerate(zip(names, params)):
                tensors[f"param.{n}"] = p.detach().cpu()
                state = opt.state.get(p, {})
                for key in ("step", "exp_avg", "exp_avg_sq"):
                    if key in state:
                        v = state[key]
                        v = v if torch.is_tensor(v) else torch.tensor(float(v))
                        # safetensors has no 0-d tensors: the step count is stored as (1,).
                        tensors[f"opt.{i}.{key}"] = v.detach().cpu().float().reshape(1) \
                            if key == "step" else v.detach().cpu()
            meta = {"stage": self.stage, "step": step, "elapsed": elapsed, "history": history,
                    "names": names, "steps": self.args.steps, "lr": self.args.lr,
                    "seed": self.args.seed}
            tmp = self.ckpt + ".tmp"
            bundle_io.write_safetensors(tmp, tensors, {CHECKPOINT_KEY: json.dumps(meta)})
            os.replace(tmp, self.ckpt)
        self.dist.barrier()

    def _load(self, names, params, opt):
        tensors, meta = bundle_io.read_safetensors(self.ckpt)
        info = json.loads(meta[CHECKPOINT_KEY])
        if info["names"] != names or info["stage"] != self.stage:
            raise UsageError(f"{self.ckpt}: a checkpoint of other parameters (another stage or "
                             f"--train/--unfreeze choice); use another --out")
        dev = params[0].device
        with torch.no_grad():
            for i, (n, p) in enumerate(zip(names, params)):
                p.copy_(tensors[f"param.{n}"].to(dev))
                if f"opt.{i}.exp_avg" in tensors:
                    opt.state[p] = {"step": tensors[f"opt.{i}.step"].reshape(()).clone(),
                                    "exp_avg": tensors[f"opt.{i}.exp_avg"].to(dev).clone(),
                                    "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(dev).clone()}
        return info["step"], info["elapsed"], info["history"]


def _start(args, stage: str) -> tuple[Dist, Bundle, Cache] | None:
    dist = Dist(args.device)
    done = os.path.join(args.out, "done.json")
    ckpt = os.path.join(args.out, "checkpoint.safetensors")
    if os.path.exists(ckpt) and not args.resume:
        raise UsageError(f"{args.out} already holds a {stage} run; pass --resume to continue it "
                         f"or choose another --out")
    b = Bundle(args.bundle)
    cache = Cache(args.cache)
    cache.check_bundle(b)
    if os.path.exists(done) and args.resume:
        if dist.main:
            print(f"[{stage}] {args.out} is finished already ({done}), nothing to do")
        dist.close()
        return None
    if dist.main:
        os.makedirs(args.out, exist_ok=True)
    dist.barrier()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return dist, b, cache


def _finish(args, dist: Dist, b: Bundle, stage: str, summary: dict, trained: dict,
            extra_file: tuple[str, dict, dict] | None) -> None:
    """Rank 0 writes the trained tensors, the full bundle with them and done.json."""
    if dist.main:
        cfg = json.loads(json.dumps(b.config))
        for key in ("format", "version"):
            cfg.pop(key, None)
        prov = dict(cfg.get("provenance", {}))
        prov.setdefault("train_full_scale", []).append(
            {"stage": stage, "argv": " ".join(sys.argv), **summary})
        cfg["provenance"] = prov
        if stage == "audio-v":
            cfg["audio_unet"]["image_proj_init"] = (
                f"fine-tuned by train-full-scale audio-v ({summary['steps']} steps)")
        dtype = EXPORT_DTYPES[args.dtype]
        tensors = dict(b.tensors)
        tensors.update(trained)
        tensors = {k: v.detach().cpu().to(dtype) if v.is_floating_point() else v
                   for k, v in tensors.items()}
        for k, v in tensors.items():
            if v.is_floating_point() and not torch.isfinite(v).all():
                raise UsageError(f"export: tensor {k} is not finite in {args.dtype}; "
                                 f"export with --dtype f32 or bf16")
        out = os.path.join(args.out, "bundle.safetensors")
        bundle_io.write_bundle(out, cfg, tensors)
        summary["bundle"] = out
        if extra_file:
            name, tensors_x, config_x = extra_file
            path = os.path.join(args.out, name)
            bundle_io.write_bundle(path, config_x, {k: v.detach().cpu().float()
                                                    for k, v in tensors_x.items()})
            summary[name] = path
        with open(os.path.join(args.out, "done.json"), "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        _log_to(os.path.join(args.out, f"{stage}.log"))(
            f"[{stage}] done: {json.dumps(summary, sort_keys=True)}")
    dist.barrier()
    dist.close()


def _timestep(b: Bundle) -> objectives.UnifiedTimestep:
    return objectives.UnifiedTimestep(b.schedule())


AUDIO_V_TRAIN = {
    # image_proj maps the picture into the timestep embedding; time_emb_proj of every resnet
    # is where that embedding enters the network.
    "image-proj": lambda n: n.startswith("image_proj."),
    "conditioning": lambda n: n.startswith("image_proj.") or ".time_emb_proj." in n,
    "all": lambda n: True,
}


def run_audio_v(args) -> int:
    started = _start(args, "audio-v")
    if started is None:
        return 0
    dist, b, cache = started
    unet = AudioUNet(b.config["audio_unet"]).to(dist.device)
    unet.load_state_dict(b.part("audio.unet."))
    if getattr(unet, "image_proj", None) is None:
        raise UsageError(f"{b.path}: its audio UNet has no image_proj (image_embed_dim); "
                         f"there is no image conditioning to fine-tune")
    models.patch_audio_null(unet)
    pick = AUDIO_V_TRAIN[args.train]
    models.set_trainable(unet, False)
    named = [(n, p) for n, p in unet.named_parameters() if pick(n)]
    for _, p in named:
        p.requires_grad_(True)
    if args.grad_checkpoint:
        enable_checkpointing(_unet_blocks(unet))
    net = dist.wrap(unet, find_unused=args.train == "all")
    timestep = _timestep(b)
    order = ShardedOrder(len(cache), args.seed, dist.world, dist.rank)
    trainer = Trainer(args, "audio-v", dist)
    trainer.log(f"[audio-v] {len(cache)} cached clips, training {args.train} "
                f"({sum(p.numel() for _, p in named):,} parameters), batch {args.batch} x "
                f"{dist.world} rank(s), {args.precision}, device {dist.device}"
                f"{', gradient checkpointing' if args.grad_checkpoint else ''}")

    def step_fn(step, gen):
        bt = cache.batch(order.indices(step, args.batch), dist.device)
        n = args.batch
        keep = objectives.condition_keep(n, args.p_drop, gen)
        t = timestep.draw(n, gen)
        _, index, alpha_bar = timestep.point(t)
        a0 = bt["audio"]
        noise = torch.randn(a0.shape, generator=gen).to(dist.device)
        xt = objectives.audio_noisy(a0, noise, alpha_bar)
        unet.keep_mask = keep.to(dist.device)
        with _autocast(dist.device, args.precision):
            eps = net(xt, index.float().to(dist.device), image_embeds=bt["image_embeds"])
        la = objectives.audio_loss(a0, objectives.audio_x0(xt, eps.float(), alpha_bar),
                                   alpha_bar).mean()
        return la, {"audio": float(la)}

    summary = trainer.run(unet, named, step_fn)
    summary["trained"] = f"audio UNet: {args.train}"
    full = {f"audio.unet.{n}": p for n, p in unet.state_dict().items()}
    _finish(args, dist, b, "audio-v", summary, full,
            ("audio-v.safetensors", full, {"audio_unet": b.config["audio_unet"],
                                           "provenance": {"made_by": "train-full-scale audio-v",
                                                          "steps": summary["steps"]}}))
    return 0


def run_joint(args) -> int:
    started = _start(args, "joint")
    if started is None:
        return 0
    dist, b, cache = started
    cfg = {k: v for k, v in b.config.items()
           if k not in ("video_vae", "audio_vae", "vocoder", "image_encoder")}
    model = JointDiT(cfg).to(dist.device)
    weights = {k: v.float() for k, v in b.tensors.items()
               if k.startswith(("video.unet.", "audio.unet.", "joint."))}
    if args.audio_v:
        tuned, _ = bundle_io.read_safetensors(args.audio_v)
        if not any(k.startswith("audio.unet.") for k in tuned):
            raise UsageError(f"{args.audio_v}: holds no audio.unet.* tensors (give the "
                             f"audio-v.safetensors that `train-full-scale audio-v` wrote)")
        weights.update({k: v.float() for k, v in tuned.items() if k.startswith("audio.unet.")})
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise UsageError(f"{b.path}: its tensors do not fit its config (missing "
                         f"{missing[:3]}, unexpected {unexpected[:3]})")
    for block in model.joint.blocks:
        if block.gates_are_zero():     # a fresh block (jointdit convert without --joint)
            block.attend_to_same_moment()
    aunet = model.unet("audio")
    if getattr(aunet, "image_proj", None) is None:
        raise UsageError(f"{b.path}: its audio UNet has no image_proj (image_embed_dim)")
    models.patch_audio_null(aunet)
    trainable = ("joint.",) + {"none": (), "video": ("video.unet.",),
                               "audio": ("audio.unet.",),
                               "all": ("video.unet.", "audio.unet.")}[args.unfreeze]
    models.set_trainable(model, False)
    named = [(n, p) for n, p in model.named_parameters() if n.startswith(trainable)]
    for _, p in named:
        p.requires_grad_(True)
    if args.grad_checkpoint:
        enable_checkpointing(_unet_blocks(model.unet("video")) + _unet_blocks(aunet)
                             + list(model.joint.blocks))
    net = dist.wrap(model, find_unused=args.unfreeze != "none")
    timestep = _timestep(b)
    fps_id, motion = b.video_conditions()
    order = ShardedOrder(len(cache), args.seed, dist.world, dist.rank)
    trainer = Trainer(args, "joint", dist)
    trainer.log(f"[joint] {len(cache)} cached clips, training Joint Blocks"
                f"{'' if args.unfreeze == 'none' else ' + ' + args.unfreeze + ' expert(s)'} "
                f"({sum(p.numel() for _, p in named):,} parameters), batch {args.batch} x "
                f"{dist.world} rank(s), {args.precision}, device {dist.device}"
                f"{', gradient checkpointing' if args.grad_checkpoint else ''}")

    def step_fn(step, gen):
        dev = dist.device
        bt = cache.batch(order.indices(step, args.batch), dev)
        n = args.batch
        keep = objectives.condition_keep(n, args.p_drop, gen)
        t_uni = timestep.draw(n, gen)                  # ONE unified timestep per sample
        sigma, index, alpha_bar = timestep.point(t_uni)
        x0, a0 = bt["video"], bt["audio"]
        x, x_in, c_noise = objectives.video_noisy(
            x0, torch.randn(x0.shape, generator=gen).to(dev), sigma)
        strength = torch.rand(n, generator=gen) * NOISE_AUG_MAX
        z0 = bt["image_latent"] + strength.view(-1, 1, 1, 1).to(dev) * torch.randn(
            bt["image_latent"].shape, generator=gen).to(dev)
        z0, ctx, emb, k = objectives.null_conditions(keep, z0, bt["image_embeds"][:, None],
                                                     bt["image_embeds"])
        ids = torch.stack([torch.full((n,), fps_id), torch.full((n,), motion), strength],
                          dim=1).to(dev)
        sample = torch.cat([x_in, z0[:, None].expand(-1, x0.shape[1], -1, -1, -1)], dim=2)
        xt = objectives.audio_noisy(a0, torch.randn(a0.shape, generator=gen).to(dev), alpha_bar)
        aunet.keep_mask = k
        with _autocast(dev, args.precision):
            v_out, eps = net(sample, c_noise.float(), ctx, ids, xt, index.float().to(dev), emb,
                             "full")
        lv = objectives.video_loss(x0, objectives.video_x0(x, v_out.float(), sigma), sigma).mean()
        la = objectives.audio_loss(a0, objectives.audio_x0(xt, eps.float(), alpha_bar),
                                   alpha_bar).mean()
        return args.video_weight * lv + args.audio_weight * la, {"video": float(lv),
                                                                 "audio": float(la)}

    summary = trainer.run(model, named, step_fn)
    summary["trained"] = "Joint Blocks" + ("" if args.unfreeze == "none"
                                           else f" + experts: {args.unfreeze}")
    state = model.state_dict()
    trained = {n: state[n] for n in state if n.startswith(trainable)}
    if args.audio_v:
        trained.update({n: state[n] for n in state if n.startswith("audio.unet.")})
    joint_only = {n: v for n, v in state.items() if n.startswith("joint.")}
    _finish(args, dist, b, "joint", summary, trained,
            ("joint.safetensors", joint_only,
             {"joint": b.config["joint"], "provenance": {"made_by": "train-full-scale joint",
                                                         "steps": summary["steps"]}}))
    return 0


# ------------------------------------------------------------------- CLI ----
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train-full-scale",
        description="Train JointDiT on a folder of real clips, from a bundle (tools/train/"
                    "README.md, \"Training at full scale\").")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cache", help="encode the clips once into latent shards")
    c.add_argument("--bundle", required=True, help="the bundle whose VAEs and image encoder "
                                                  "encode the clips")
    c.add_argument("--clips", required=True, help="folder of MP4 files and/or clip folders "
                                                 "(frames/*.png + audio.wav + truth.json)")
    c.add_argument("--out", required=True, help="cache folder (index.json + shards)")
    c.add_argument("--size", help="picture WxH (default: the bundle's)")
    c.add_argument("--frames", type=int, help="frames per clip (default: the bundle's)")
    c.add_argument("--shard-clips", type=int, default=256, help="clips per shard (256)")
    c.add_argument("--encode-batch", type=int, default=8, help="frames per VAE call (8)")
    c.add_argument("--skip-bad-clips", action="store_true",
                   help="log and skip unusable clips instead of stopping")
    c.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    for name, helptext in (("audio-v", "fine-tune the audio UNet's image conditioning"),
                           ("joint", "train the Joint Blocks (unified timestep)")):
        t = sub.add_parser(name, help=helptext)
        t.add_argument("--bundle", required=True)
        t.add_argument("--cache", required=True, help="the folder `cache` wrote")
        t.add_argument("--out", required=True, help="run folder: checkpoint, log, exports")
        t.add_argument("--steps", type=int, default=1000)
        t.add_argument("--batch", type=int, default=4, help="clips per rank per step (4)")
        t.add_argument("--lr", type=float, default=1e-4 if name == "joint" else 1e-5)
        t.add_argument("--warmup", type=int, default=100)
        t.add_argument("--p-drop", type=float, default=0.1,
                       help="condition dropout: all conditions of a sample nulled together")
        t.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                       help="bf16: torch.autocast(bfloat16) around the forward pass "
                            "(CUDA only)")
        t.add_argument("--grad-checkpoint", action="store_true",
                       help="recompute UNet and Joint Block activations in the backward pass")
        t.add_argument("--save-every", type=int, default=500)
        t.add_argument("--log-every", type=int, default=10)
        t.add_argument("--seed", type=int, default=0)
        t.add_argument("--resume", action="store_true")
        t.add_argument("--dtype", choices=sorted(EXPORT_DTYPES), default="f16",
                       help="tensor type of the exported bundle (f16)")
        t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
        t.add_argument("--threads", type=int, default=0)
        t.add_argument("--interrupt-at", type=int, default=0, help=argparse.SUPPRESS)
        if name == "audio-v":
            t.add_argument("--train", choices=sorted(AUDIO_V_TRAIN), default="conditioning",
                           help="which audio UNet parameters train: image-proj, conditioning "
                                "(image_proj + every resnet's time_emb_proj, default) or all")
        else:
            t.add_argument("--audio-v", help="audio-v.safetensors from the audio-v stage")
            t.add_argument("--unfreeze", choices=["none", "video", "audio", "all"],
                           default="none", help="experts that train with the Joint Blocks")
            t.add_argument("--video-weight", type=float, default=1.0, help="lambda_1")
            t.add_argument("--audio-weight", type=float, default=1.0, help="lambda_2")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "cache":
            return run_cache(args)
        if args.steps < 1 or args.batch < 1:
            raise UsageError("--steps and --batch must be at least 1")
        if args.precision == "bf16":
            if args.device == "cpu" or not torch.cuda.is_available():
                # Measured with torch 1.13: CPU autocast runs the convolutions in bfloat16 but
                # not GroupNorm, whose F32 weights then meet bfloat16 inputs and fail.
                raise UsageError("--precision bf16 needs a CUDA GPU (PyTorch's CPU autocast "
                                 "does not cover the UNets' GroupNorm); use fp32 on the CPU")
            if not torch.cuda.is_bf16_supported():
                raise UsageError("--precision bf16: this GPU has no bfloat16 support; use fp32")
        return (run_audio_v if args.command == "audio-v" else run_joint)(args)
    except (UsageError, clips.ClipError) as err:
        print(f"train-full-scale {args.command}: {err}", file=sys.stderr)
        return 2
