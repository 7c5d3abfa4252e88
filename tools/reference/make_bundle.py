#!/usr/bin/env python3
"""Write a JointDiT bundle with random (or fresh, zero-gated) weights.

  python3 tools/reference/make_bundle.py --config default --seed 1 -o default-random.safetensors
"""
import argparse
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import bundle, configs  # noqa: E402
from jointdit_reference.joint import JointDiT  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
CONFIGS = {"default": configs.default_config, "parity": configs.parity_config}


def build(config_name: str, seed: int, fresh: bool) -> tuple[dict, JointDiT]:
    config = CONFIGS[config_name]()
    model = JointDiT(config)
    bundle.randomize(model, torch.Generator().manual_seed(seed))
    if fresh:
        for block in model.joint.blocks:
            block.zero_modulation()
    return config, model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    parser.add_argument("--fresh", action="store_true",
                        help="zero the Joint Blocks' modulation (a freshly assembled JointDiT)")
    parser.add_argument("-o", "--output", required=True, type=pathlib.Path)
    args = parser.parse_args()
    config, model = build(args.config, args.seed, args.fresh)
    tensors = {n: t.to(DTYPES[args.dtype]) for n, t in model.state_dict().items()}
    provenance = {"made_by": f"tools/reference/make_bundle.py --config {args.config} "
                             f"--seed {args.seed}{' --fresh' if args.fresh else ''}",
                  "weights": "random" + (", Joint Block gates zero" if args.fresh else ""),
                  "training_steps": 0}
    bundle.write_bundle(args.output, {**config, "provenance": provenance}, tensors)
    count = sum(t.numel() for t in tensors.values())
    print(f"{args.output}: {len(tensors)} tensors, {count:,} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
