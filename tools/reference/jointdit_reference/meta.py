"""Build modules without memory: every tensor factory call lands on the ``meta`` device."""
import torch
from torch.overrides import TorchFunctionMode

_FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.tensor, torch.full, torch.rand,
              torch.randn, torch.arange}


class on_meta(TorchFunctionMode):
    """``with on_meta(): model = VideoUNet(cfg)`` gives a model whose parameters have names and
    shapes but no storage, so the 1.5 B-parameter SVD-XT UNet builds in milliseconds."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in _FACTORIES:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def named_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in module.named_parameters()}
