"""Model bundles: one safetensors file, the JSON config in ``__metadata__["jointdit.config"]``.

The writer and reader are written here (8-byte little-endian header length, JSON header padded
with spaces to a multiple of 8, raw little-endian data in header order), so the reference needs
nothing beyond torch.
"""
import json
import math
import pathlib
import struct

import torch
from torch import nn

FORMAT = "jointdit-bundle"
VERSION = 1
CONFIG_KEY = "jointdit.config"

_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}
_BY_NAME = {v: k for k, v in _DTYPES.items()}


def write_safetensors(path: str | pathlib.Path, tensors: dict[str, torch.Tensor],
                      metadata: dict[str, str] | None = None) -> None:
    header: dict = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _DTYPES:
            raise ValueError(f"safetensors: tensor {name!r} has unsupported dtype {t.dtype}")
        data = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path: str | pathlib.Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    raw = pathlib.Path(path).read_bytes()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(raw)} bytes, no header)")
    (size,) = struct.unpack("<Q", raw[:8])
    if 8 + size > len(raw):
        raise ValueError(f"{path}: not a safetensors file (a {size}-byte header in a "
                         f"{len(raw)}-byte file)")
    try:
        header = json.loads(raw[8:8 + size])
    except ValueError as e:
        raise ValueError(f"{path}: not a safetensors file (its header is not JSON: {e})") from e
    metadata = header.pop("__metadata__", {})
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _BY_NAME[info["dtype"]]
        buf = bytearray(raw[base + begin:base + end])
        flat = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    return tensors, metadata


def write_bundle(path: str | pathlib.Path, config: dict, tensors: dict[str, torch.Tensor],
                 extra_metadata: dict[str, str] | None = None) -> None:
    meta = {CONFIG_KEY: json.dumps({"format": FORMAT, "version": VERSION, **config},
                                   sort_keys=True)}
    meta.update(extra_metadata or {})
    write_safetensors(path, tensors, meta)


def read_bundle(path: str | pathlib.Path) -> tuple[dict, dict[str, torch.Tensor]]:
    tensors, metadata = read_safetensors(path)
    config = json.loads(metadata[CONFIG_KEY])
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} version {VERSION} file")
    return config, tensors


@torch.no_grad()
def randomize(module: nn.Module, generator: torch.Generator) -> None:
    """Every parameter random, in named order, so the result depends only on the seed and the
    architecture: matrices/kernels U(-1, 1)/sqrt(fan_in); norm scales 1 + U(-0.25, 0.25);
    other vectors (biases, shifts) U(-0.25, 0.25); blend factors U(-2, 2).  Nothing is zero,
    the AdaLN-Zero modulation included, so the guidance modes really differ."""
    for name, p in module.named_parameters():
        u = torch.rand(p.shape, generator=generator, dtype=torch.float64) * 2 - 1
        if p.dim() >= 2:
            value = u / math.sqrt(p[0].numel())
        elif name.endswith("mix_factor"):
            value = 2 * u
        elif name.endswith("weight"):
            value = 1 + 0.25 * u
        else:
            value = 0.25 * u
        p.copy_(value.to(p.dtype))
