"""The image encoder's input as SVD's pipeline prepares it (diffusers'
``_resize_with_antialiasing`` then CLIP normalisation), in plain torch."""
import torch
from torch.nn import functional as F

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _gaussian(taps: int, sigma: float, dtype: torch.dtype) -> torch.Tensor:
    x = torch.arange(taps, dtype=dtype) - taps // 2
    if taps % 2 == 0:
        x = x + 0.5
    g = torch.exp(-x.pow(2) / (2 * sigma ** 2))
    return g / g.sum()


def _blur_axis(x: torch.Tensor, kernel: torch.Tensor, axis: str) -> torch.Tensor:
    c = x.shape[1]
    k = kernel.numel()
    front, rear = (k - 1) // 2, (k - 1) - (k - 1) // 2
    if axis == "x":
        x = F.pad(x, (front, rear, 0, 0), mode="reflect")
        weight = kernel.view(1, 1, 1, k).expand(c, 1, 1, k)
    else:
        x = F.pad(x, (0, 0, front, rear), mode="reflect")
        weight = kernel.view(1, 1, k, 1).expand(c, 1, k, 1)
    return F.conv2d(x, weight, groups=c)


def resize_with_antialiasing(x: torch.Tensor, size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, size, size): Gaussian blur (sigma from the shrink factor, odd
    kernel of max(4 sigma, 3) taps, reflect padding, x then y), then bicubic, aligned corners."""
    h, w = x.shape[-2:]
    sigmas = (max((h / size - 1.0) / 2.0, 0.001), max((w / size - 1.0) / 2.0, 0.001))
    ks = [int(max(2.0 * 2 * s, 3)) for s in sigmas]
    ks = [k + 1 if k % 2 == 0 else k for k in ks]
    x = _blur_axis(x, _gaussian(ks[1], sigmas[1], x.dtype), "x")
    x = _blur_axis(x, _gaussian(ks[0], sigmas[0], x.dtype), "y")
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=True)


def clip_preprocess(rgb: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> resized and CLIP-normalised (B, 3, size, size)."""
    x = resize_with_antialiasing(rgb, size)
    mean = torch.tensor(CLIP_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std
