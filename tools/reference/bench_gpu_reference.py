#!/usr/bin/env python3
"""The PyTorch side of `jointdit bench gpu`: the reference JointDiT at full scale with random
weights, eager mode, BF16, attention through scaled_dot_product_attention (no N x N scores),
channels-last convolutions, on the same card and with the same sizes and table columns.

  python3 tools/reference/bench_gpu_reference.py [--size a|b] [--seconds 3] [--compile]

Rows: one guided step (joint-star: the positive call with full joint attention, the negative
with the joint attention skipped and no image for audio; two calls, since a reference forward
takes one attention mode) and 25 such steps estimated as 25 x the step (the sampler's own
arithmetic is negligible next to the calls). TFLOP/s use the FLOPs the engine counted for the
same row (pass them with --flops-a / --flops-b from `jointdit bench gpu`), else '-'.
--size tiny --device cpu is a smoke test that runs anywhere.
"""
import argparse
import copy
import pathlib
import sys
import time

import torch
from torch.nn import functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import attention as attention_module  # noqa: E402
from jointdit_reference import configs, joint  # noqa: E402

SIZES = {
    "a": dict(label="(a) 25x576x1024, 4.16 s", frames=25, h=72, w=128, audio_t=104),
    "b": dict(label="(b) 12x256x256, 1.92 s", frames=12, h=32, w=32, audio_t=48),
    "tiny": dict(label="tiny (smoke test)", frames=3, h=16, w=16, audio_t=12),
}


def full_scale_config(size: dict, tiny: bool) -> dict:
    """The architecture `jointdit bench gpu` builds (app/jointdit-bench-gpu.c)."""
    cfg = copy.deepcopy(configs.default_config())
    for part in ("video_vae", "audio_vae", "vocoder", "image_encoder"):
        cfg.pop(part, None)
    cfg["video_unet"].update(block_out_channels=[320, 640, 1280, 1280], layers_per_block=2,
                             num_attention_heads=[5, 10, 20, 20], cross_attention_dim=1024,
                             addition_time_embed_dim=256,
                             projection_class_embeddings_input_dim=768)
    cfg["audio_unet"].update(block_out_channels=[128, 256, 384, 640], layers_per_block=2,
                             num_attention_heads=[8, 8, 8, 8], image_embed_dim=1024)
    cfg["joint"].update(d_qk=64, d_v=64, heads=16, video_fps=6.0)
    if tiny:
        cfg["video_unet"].update(block_out_channels=[32, 64, 64, 64],
                                 num_attention_heads=[1, 2, 2, 2])
        cfg["audio_unet"].update(block_out_channels=[32, 32, 64, 64],
                                 num_attention_heads=[2, 2, 2, 2])
        cfg["joint"].update(d_qk=16, d_v=16, heads=2)
    cfg["shapes"] = {"frames": size["frames"], "video_latent": [4, size["h"], size["w"]],
                     "audio_latent": [8, size["audio_t"], 16]}
    return cfg


def attend_sdpa(q, k, v, heads, mask=None):
    """attention.attend through PyTorch's fused attention (flash / memory-efficient)."""
    b, nq, _ = q.shape
    nk = k.shape[1]
    q = q.reshape(b, nq, heads, -1).transpose(1, 2)
    k = k.reshape(b, nk, heads, -1).transpose(1, 2)
    v = v.reshape(b, nk, heads, -1).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).reshape(b, nq, -1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["a", "b", "tiny"], nargs="+", default=["a", "b"])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--flops-a", type=float, default=None, help="TFLOP per step (engine)")
    parser.add_argument("--flops-b", type=float, default=None, help="TFLOP per step (engine)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench_gpu_reference: PyTorch sees no CUDA GPU; nothing to time")
        return 3
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if hasattr(F, "scaled_dot_product_attention"):
        attention_module.attend = attend_sdpa
        joint.attend = attend_sdpa
        sdpa = "SDPA"
    else:
        sdpa = "no SDPA in this PyTorch (N x N scores)"

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"PyTorch {torch.__version__} eager, {name}, {str(dtype).replace('torch.', '')}, "
          f"{sdpa}, channels-last")
    print(f"{'size':<26} {'what':<26} {'ms':>10} {'TFLOP':>9} {'TFLOP/s':>9} {'peak GiB':>9}")
    for key in args.size:
        size = SIZES[key]
        cfg = full_scale_config(size, key == "tiny")
        torch.manual_seed(0)
        model = joint.JointDiT(cfg).eval().to(device=device, dtype=dtype)
        for module in model.modules():  # channels-last where it applies: the 2-D convolutions
            if isinstance(module, torch.nn.Conv2d):
                module.to(memory_format=torch.channels_last)
        f, h, w, t = size["frames"], size["h"], size["w"], size["audio_t"]

        def inputs(has_image: bool):
            return dict(
                video_sample=torch.randn(1, f, 8, h, w, device=device, dtype=dtype),
                video_timestep=torch.full((1,), 0.5, device=device, dtype=dtype),
                video_context=torch.randn(1, 1, 1024, device=device, dtype=dtype),
                added_time_ids=torch.tensor([[5.0, 127.0, 0.02]], device=device, dtype=dtype),
                audio_sample=torch.randn(1, 8, t, 16, device=device, dtype=dtype),
                audio_timestep=torch.full((1,), 500, device=device, dtype=dtype),
                image_embeds=(torch.randn(1, 1024, device=device, dtype=dtype)
                              if has_image else None))

        positive, negative = inputs(True), inputs(False)

        def step(m):
            m(**positive, attention="full")
            m(**negative, attention="skip")

        variants = [("eager", model)]
        if args.compile and hasattr(torch, "compile"):
            variants.append(("torch.compile", torch.compile(model)))
        flops = {"a": args.flops_a, "b": args.flops_b}.get(key)
        for label, m in variants:
            with torch.no_grad():
                start = time.perf_counter()
                step(m)  # warm-up (and compilation)
                sync()
                warm = time.perf_counter() - start
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                best, begun = float("inf"), time.perf_counter()
                calls = 0
                while calls < 2 or (calls < 50 and time.perf_counter() - begun < args.seconds):
                    t0 = time.perf_counter()
                    step(m)
                    sync()
                    best = min(best, time.perf_counter() - t0)
                    calls += 1
            peak = (torch.cuda.max_memory_allocated(device) / 2**30
                    if device.type == "cuda" else float("nan"))
            rate = f"{flops / best:9.1f}" if flops else f"{'-':>9}"
            tf = f"{flops:9.2f}" if flops else f"{'-':>9}"
            what = f"guided step ({label})"
            print(f"{size['label']:<26} {what:<26} {best * 1e3:10.1f} {tf} {rate} {peak:9.2f}")
            what = f"25 steps est. ({label})"
            rate25 = f"{flops / best:9.1f}" if flops else f"{'-':>9}"
            tf25 = f"{25 * flops:9.2f}" if flops else f"{'-':>9}"
            print(f"{size['label']:<26} {what:<26} {25 * best * 1e3:10.1f} {tf25} {rate25} "
                  f"{peak:9.2f}")
            if label == "torch.compile":
                print(f"{'':<26} (compile + first step: {warm:.1f} s)")
            sys.stdout.flush()
        del model, variants
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
