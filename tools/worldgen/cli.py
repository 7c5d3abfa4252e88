"""Command line of the world generator (see README.md)."""

import argparse
import json
import os
import sys

from .clip import make_clip
from .scenes import SCENES
from .world import Config

EXAMPLES = """examples:
  tools/worldgen.py --scene bounce --seed 1 --out /tmp/clip
  tools/worldgen.py --scene random --seed 100 --count 1000 --jobs 2 --out data/world
"""


def parser():
    p = argparse.ArgumentParser(
        prog="worldgen", description="Writes clips of the synthetic audio-visual world: frames, "
        "audio and ground-truth event times.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scene", required=True, choices=sorted(SCENES) + ["random"],
                   help="what happens in the clip; random picks one per seed")
    p.add_argument("--seed", type=int, default=0, help="seed of the (first) clip (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--fps", type=float, default=12.5, help="frames per second (default 12.5)")
    p.add_argument("--seconds", type=float, default=2.56, help="clip length (default 2.56)")
    p.add_argument("--size", default="64x64", help="frame size WxH in pixels (default 64x64)")
    p.add_argument("--count", type=int, default=None,
                   help="write a dataset of COUNT clips OUT/00000… for seeds SEED…SEED+COUNT-1")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for --count (default 1)")
    return p


def parse_size(text):
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise ValueError(f"--size must look like 64x64 (width x height), got {text!r}")
    return int(parts[0]), int(parts[1])


def _one(job):
    scene, seed, cfg, out_dir = job
    truth = make_clip(scene, seed, cfg, out_dir)
    return {"dir": os.path.basename(out_dir), "seed": seed, "scene": truth["scene"],
            "events": len(truth["events"])}


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    try:
        width, height = parse_size(args.size)
    except ValueError as err:
        p.error(str(err))
    cfg = Config(fps=args.fps, seconds=args.seconds, width=width, height=height)
    problems = cfg.validate()
    if args.seed < 0 or args.seed >= 2 ** 63:
        problems.append(f"--seed must be between 0 and 2^63-1, got {args.seed}")
    if args.count is not None and args.count < 1:
        problems.append(f"--count must be at least 1, got {args.count}")
    if args.jobs < 1:
        problems.append(f"--jobs must be at least 1, got {args.jobs}")
    if problems:
        p.error("; ".join(problems))
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        p.error(f"--out {args.out} exists and is not a folder")

    try:
        if args.count is None:
            truth = make_clip(args.scene, args.seed, cfg, args.out)
            n = len(truth['events'])
            print(f"{args.out}: {truth['scene']}, {n} event{'' if n == 1 else 's'}")
            return 0
        jobs = [(args.scene, args.seed + i, cfg, os.path.join(args.out, f"{i:05d}"))
                for i in range(args.count)]
        os.makedirs(args.out, exist_ok=True)
        if args.jobs > 1:
            import multiprocessing
            with multiprocessing.Pool(args.jobs) as pool:
                index = pool.map(_one, jobs, chunksize=max(1, len(jobs) // (8 * args.jobs)))
        else:
            index = [_one(job) for job in jobs]
        with open(os.path.join(args.out, "index.json"), "w") as f:
            json.dump({"scene": args.scene, "first_seed": args.seed, "count": args.count,
                       "fps": cfg.fps, "seconds": cfg.seconds, "width": width, "height": height,
                       "sample_rate": cfg.sample_rate, "clips": index}, f, indent=1)
            f.write("\n")
        print(f"{args.out}: {args.count} clips")
        return 0
    except OSError as err:
        print(f"worldgen: cannot write {args.out}: {err}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError) as err:
        print(f"worldgen: {err}", file=sys.stderr)
        return 1
