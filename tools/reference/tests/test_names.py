"""The reference built with the published configs has exactly the tensors diffusers gives them."""
import pathlib
import re
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from jointdit_reference.audio_unet import AUDIOLDM2_CONFIG, AudioUNet  # noqa: E402
from jointdit_reference.image_encoder import CLIP_VIT_H14_CONFIG, ImageEncoder  # noqa: E402
from jointdit_reference.meta import named_shapes, on_meta  # noqa: E402
from jointdit_reference.vae import (AUDIOLDM2_VAE_CONFIG, SVD_VAE_CONFIG, AudioVAE,  # noqa: E402
                                    VideoVAE)
from jointdit_reference.video_unet import SVD_XT_CONFIG, VideoUNet  # noqa: E402
from jointdit_reference.vocoder import AUDIOLDM2_VOCODER_CONFIG, Vocoder  # noqa: E402



def _find_lists() -> pathlib.Path | None:
    here = pathlib.Path(__file__).resolve()
    for base in here.parents:
        for candidate in (base / "shared" / "reference", base / ".." / "shared" / "reference"):
            if (candidate / "svd-xt.unet.tensors.tsv").is_file():
                return candidate.resolve()
    return None


LISTS = _find_lists()


def read_tsv(name: str) -> dict[str, tuple[int, ...]]:
    table = {}
    for line in (LISTS / name).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        tensor, shape = line.split("\t")
        table[tensor] = tuple(int(d) for d in shape.strip("[]").split(",") if d.strip())
    return table


def count(shapes: dict[str, tuple[int, ...]]) -> int:
    total = 0
    for shape in shapes.values():
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


@unittest.skipIf(LISTS is None, "the published name lists (shared/reference/*.tsv) are not here")
class PublishedNames(unittest.TestCase):
    def check(self, model, tsv: str, params: int) -> None:
        got = named_shapes(model)
        want = read_tsv(tsv)
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        wrong = sorted(n for n in set(got) & set(want) if got[n] != want[n])
        report = []
        if missing:
            report.append(f"{len(missing)} missing, e.g. " + ", ".join(missing[:8]))
        if extra:
            report.append(f"{len(extra)} extra, e.g. " + ", ".join(extra[:8]))
        if wrong:
            report.append(f"{len(wrong)} with other shapes, e.g. " + ", ".join(
                f"{n} {got[n]} (published {want[n]})" for n in wrong[:8]))
        self.assertFalse(report, f"{tsv}: " + "; ".join(report))
        self.assertEqual(count(got), params)

    def test_svd_xt_unet(self):
        with on_meta():
            model = VideoUNet(SVD_XT_CONFIG)
        self.check(model, "svd-xt.unet.tensors.tsv", 1_524_623_082)

    def test_svd_vae(self):
        with on_meta():
            model = VideoVAE(SVD_VAE_CONFIG)
        self.check(model, "svd-xt.vae.tensors.tsv", 97_742_847)

    def test_audioldm2_unet_with_text(self):
        with on_meta():
            model = AudioUNet(AUDIOLDM2_CONFIG)
        self.check(model, "audioldm2.unet.tensors.tsv", 346_943_496)

    def test_audioldm2_vae(self):
        with on_meta():
            model = AudioVAE(AUDIOLDM2_VAE_CONFIG)
        self.check(model, "audioldm2.vae.tensors.tsv", 55_376_873)

    def test_audioldm2_unet_without_text_is_a_subset(self):
        """Dropping the text transformers keeps every other name, so the checkpoint maps by
        prefix; what is dropped is exactly attentions.{3g+1, 3g+2}, and image_proj is new."""
        config = dict(AUDIOLDM2_CONFIG, text_transformers=False, image_embed_dim=1024)
        with on_meta():
            got = named_shapes(AudioUNet(config))
        want = read_tsv("audioldm2.unet.tensors.tsv")
        new = {n for n in got if n not in want}
        self.assertEqual(new, {"image_proj.weight", "image_proj.bias"})
        self.assertEqual(got["image_proj.weight"], (512, 1024))
        for name in set(want) - set(got):
            index = int(name.split(".attentions.")[1].split(".")[0])
            self.assertIn(index % 3, (1, 2), name)
        for name in got:
            if name in want:
                self.assertEqual(got[name], want[name], name)


class UnlistedParts(unittest.TestCase):
    """No published lists exist for these (their library could not be run where the lists were
    made): the names follow the layout FACTS.md and shared/reference/README.md describe; the
    optional check_against_diffusers.py loads them into transformers' models with strict=True."""

    def assert_patterns(self, names: set[str], patterns: list[str]) -> None:
        unmatched = sorted(n for n in names if not any(re.fullmatch(p, n) for p in patterns))
        self.assertFalse(unmatched, f"names outside the published layout: {unmatched[:8]}")
        unused = [p for p in patterns if not any(re.fullmatch(p, n) for n in names)]
        self.assertFalse(unused, f"layout entries with no tensor: {unused}")

    def test_vocoder(self):
        with on_meta():
            model = Vocoder(AUDIOLDM2_VOCODER_CONFIG)
        names = set(model.state_dict())
        self.assert_patterns(names, [
            r"conv_pre\.(weight|bias)", r"upsampler\.[0-4]\.(weight|bias)",
            r"resblocks\.(1[0-4]|[0-9])\.convs[12]\.[0-2]\.(weight|bias)",
            r"conv_post\.(weight|bias)", "mean", "scale"])
        self.assertEqual(tuple(model.upsampler[0].weight.shape), (1024, 512, 16))  # (in, out, k)
        rates = AUDIOLDM2_VOCODER_CONFIG["upsample_rates"]
        self.assertEqual(rates[0] * rates[1] * rates[2] * rates[3] * rates[4], 160)  # the hop

    def test_clip_vit_h14(self):
        with on_meta():
            model = ImageEncoder(CLIP_VIT_H14_CONFIG)
        shapes = named_shapes(model)
        layer = r"vision_model\.encoder\.layers\.([0-9]|[12][0-9]|3[01])\."
        self.assert_patterns(set(shapes), [
            r"vision_model\.embeddings\.class_embedding",
            r"vision_model\.embeddings\.patch_embedding\.weight",
            r"vision_model\.embeddings\.position_embedding\.weight",
            r"vision_model\.pre_layrnorm\.(weight|bias)",
            layer + r"self_attn\.(q|k|v|out)_proj\.(weight|bias)",
            layer + r"(layer_norm1|layer_norm2)\.(weight|bias)",
            layer + r"mlp\.fc[12]\.(weight|bias)",
            r"vision_model\.post_layernorm\.(weight|bias)", r"visual_projection\.weight"])
        self.assertEqual(shapes["vision_model.embeddings.position_embedding.weight"], (257, 1280))
        self.assertEqual(shapes["visual_projection.weight"], (1024, 1280))
        # 257 positions x 1280, 32 layers of 19,677,440, patch conv, norms, projection.
        self.assertEqual(count(shapes), 632_076_800)


if __name__ == "__main__":
    unittest.main()
