"""tools/train/jointdit_train/vae_init.py: the untrained video VAE is an 8x (tiny: 2x) average-
pooling codec, frame by frame, on random pictures."""
import pathlib
import sys
import unittest

import torch
from torch.nn import functional as F

HERE = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from jointdit_train import models  # noqa: E402
from jointdit_train.run import _quiet_posterior  # noqa: E402
from jointdit_train.vae_init import pooled_colour_init  # noqa: E402
from jointdit_reference.vae import VideoVAE  # noqa: E402


def initialised(config_name: str, seed: int = 3) -> VideoVAE:
    vae = VideoVAE(models.model_config(config_name)["video_vae"])
    pooled_colour_init(vae, torch.Generator().manual_seed(seed))
    _quiet_posterior(vae)
    return vae.eval()


class PooledColourInit(unittest.TestCase):
    def check(self, config_name: str, size: int, frames: int) -> None:
        vae = initialised(config_name)
        factor = models.vae_factor(vae.config)
        gen = torch.Generator().manual_seed(11)
        # Random pictures: smooth colour fields plus pixel noise, in [-1, 1].
        base = F.interpolate(torch.rand(frames, 3, 4, 4, generator=gen) * 1.6 - 0.8,
                             size=(size, size), mode="bilinear", align_corners=False)
        x = (base + 0.2 * torch.rand(frames, 3, size, size, generator=gen) - 0.1).clamp(-1, 1)
        pooled = F.avg_pool2d(x, factor)
        with torch.no_grad():
            mean, logvar = vae.quant_conv(vae.encoder(x)).chunk(2, dim=1)
            rec = vae.decode(mean, frames)
        # The GroupNorm carrier makes the normalisations affine to within ~0.3 %.
        torch.testing.assert_close(mean[:, :3], pooled, rtol=0, atol=1e-2)
        self.assertLess(float(mean[:, 3:].abs().max()), 0.2)       # detail channels start small
        torch.testing.assert_close(logvar, torch.full_like(logvar, -8.0), rtol=0, atol=1e-6)
        expected = F.interpolate(pooled, scale_factor=factor, mode="nearest")
        torch.testing.assert_close(rec, expected, rtol=0, atol=2e-2)
        # Decoding the frames together equals decoding each alone: no mixing across frames (a
        # mixing layer would move values by ~0.1; 1e-4 is float32 rounding of the lifted pair,
        # which sits near K + B = 24, where floats are 2e-6 apart).
        with torch.no_grad():
            alone = torch.cat([vae.decode(mean[i:i + 1], 1) for i in range(frames)])
        torch.testing.assert_close(rec, alone, rtol=0, atol=1e-4)

    def test_default_config_is_an_8x_pooling_codec(self):
        self.check("default", 64, 3)

    def test_tiny_config_is_a_2x_pooling_codec(self):
        self.check("tiny", 16, 4)

    def test_random_weights_are_not(self):
        # The check above can fail: an untrained VAE without the init is far from pooling.
        vae = VideoVAE(models.model_config("tiny")["video_vae"]).eval()
        x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(5)) * 2 - 1
        with torch.no_grad():
            mean = vae.quant_conv(vae.encoder(x)).chunk(2, dim=1)[0]
        self.assertGreater(float((mean[:, :3] - F.avg_pool2d(x, 2)).abs().max()), 0.1)

    def test_unsupported_layout_is_refused(self):
        cfg = models.model_config("tiny")["video_vae"]
        cfg["norm_num_groups"] = 32       # one channel per group: no room for carrier and pair
        with self.assertRaisesRegex(ValueError, "groups of at least 3"):
            pooled_colour_init(VideoVAE(cfg))
        cfg = models.model_config("tiny")["video_vae"]
        cfg["latent_channels"] = 3
        with self.assertRaisesRegex(ValueError, "more than 3 latent channels"):
            pooled_colour_init(VideoVAE(cfg))


if __name__ == "__main__":
    unittest.main()
