"""JointBlock.attend_to_same_moment (tools/reference/jointdit_reference/joint.py): a fresh Joint
Block so started learns to carry an event's time from video to audio; one with time-blind Q/K
(the default Linear init) stays where it started."""
import pathlib
import sys
import unittest

import torch

HERE = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from jointdit_train import paths  # noqa: E402,F401  (puts tools/reference on sys.path)
from jointdit_reference import rope  # noqa: E402
from jointdit_reference.joint import (JointBlock, SAME_MOMENT_LOGIT,  # noqa: E402
                                      SAME_MOMENT_PAIRS, same_moment_amplitude)

FRAMES, SIDE, COLUMNS, BINS, CH, TEMB = 16, 2, 32, 4, 32, 32
D_QK, HEADS, FPS, CLOCK, COLUMN_SECONDS = 64, 2, 12.5, 25.0, 0.04


def time_bias_offsets(joint_config: dict, tensors: dict) -> dict:
    """For a bundle's Joint Block Q/K biases: name -> max |time bias - a| over the dims that
    attend_to_same_moment sets (0 for a block just started at the present)."""
    heads = joint_config["heads"]
    head = joint_config["d_qk"] // heads
    a = same_moment_amplitude(head)
    return {name: float((t.float().view(heads, head)[:, 0:2 * SAME_MOMENT_PAIRS:2] - a)
                        .abs().max())
            for name, t in tensors.items()
            if name.startswith("joint.") and name.endswith(("_to_q.bias", "_to_k.bias"))}


def train_event_copy(same_moment: bool, steps: int, seed: int = 0) -> list[float]:
    """Video tokens (B, FRAMES x SIDE^2, CH) of noise with a strong direction u on one random
    frame; the audio tokens' target update is direction v on that frame's two columns.  Returns
    the loss relative to the target's energy at every step."""
    torch.manual_seed(seed)
    block = JointBlock(CH, CH, TEMB, TEMB, D_QK, D_QK, HEADS)
    block.zero_modulation()
    if same_moment:
        block.attend_to_same_moment()
    head = D_QK // HEADS
    vtheta = rope.angles(rope.video_positions(FRAMES, SIDE, SIDE, FPS, CLOCK),
                         rope.axis_runs(head, 2), 1e4)
    atheta = rope.angles(rope.audio_positions(COLUMNS, BINS, COLUMN_SECONDS, CLOCK),
                         rope.axis_runs(head, 1), 1e4)
    u, v = torch.randn(CH), torch.randn(CH)
    u, v = u / u.norm(), v / v.norm()
    emb = torch.randn(1, TEMB)
    opt = torch.optim.Adam(block.parameters(), lr=1e-3)
    b, per_frame = 8, COLUMNS // FRAMES
    losses = []
    for _ in range(steps):
        video = torch.randn(b, FRAMES, SIDE * SIDE, CH)
        audio = torch.randn(b, COLUMNS, BINS, CH)
        target = torch.zeros_like(audio)
        for i, k in enumerate(torch.randint(1, FRAMES - 1, (b,)).tolist()):
            video[i, k] += 3 * u
            target[i, per_frame * k:per_frame * (k + 1)] += v
        _, out = block(video.flatten(1, 2), audio.flatten(1, 2), emb.expand(b, -1),
                       emb.expand(b, -1), vtheta, atheta, "full")
        loss = ((out - audio.flatten(1, 2) - target.flatten(1, 2)) ** 2).mean() \
            / (target ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses


class SameMomentInit(unittest.TestCase):
    def test_scores_follow_the_time_difference(self):
        """With the projections' weights zeroed, the joint attention's score between a video
        query of frame k and an audio key of column j is a^2/sqrt(d) sum_j cos(w_j dt) (float64
        formula), SAME_MOMENT_LOGIT at dt = 0, and falls off with |dt|."""
        block = JointBlock(CH, CH, TEMB, TEMB, D_QK, D_QK, HEADS).double()
        block.attend_to_same_moment()
        head = D_QK // HEADS
        with torch.no_grad():
            for m in ("video", "audio"):
                for p in ("q", "k"):
                    getattr(block.attn, f"{m}_to_{p}").weight.zero_()
            tv = rope.video_positions(FRAMES, 1, 1, FPS, CLOCK)
            ta = rope.audio_positions(COLUMNS, 1, COLUMN_SECONDS, CLOCK)
            q = block.attn.video_to_q(torch.randn(1, FRAMES, CH, dtype=torch.float64))
            k = block.attn.audio_to_k(torch.randn(1, COLUMNS, CH, dtype=torch.float64))
            q = rope.apply(q.reshape(1, FRAMES, HEADS, head),
                           rope.angles(tv, rope.axis_runs(head, 2), 1e4))
            k = rope.apply(k.reshape(1, COLUMNS, HEADS, head),
                           rope.angles(ta, rope.axis_runs(head, 1), 1e4))
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k)[0, 0] / head ** 0.5
        dt = tv[0][:, None] - ta[0][None, :]                     # clock units
        w = 1e4 ** (-2.0 * torch.arange(SAME_MOMENT_PAIRS, dtype=torch.float64) / (head // 2))
        a2 = SAME_MOMENT_LOGIT * head ** 0.5 / SAME_MOMENT_PAIRS       # a^2, from the docstring
        expected = a2 / head ** 0.5 * torch.cos(dt[..., None] * w).sum(-1)
        self.assertLess(float((scores - expected).abs().max()), 1e-12)
        # Frame k is centred between its two columns: those are its best keys.
        best = scores.argmax(dim=1)
        for frame in range(FRAMES):
            self.assertIn(int(best[frame]), (2 * frame, 2 * frame + 1))
        self.assertGreater(float(scores.max()), 0.9 * SAME_MOMENT_LOGIT)

    def test_a_fresh_block_learns_the_event_time_only_when_started_at_the_present(self):
        steps = 80
        started = train_event_copy(True, steps)
        blind = train_event_copy(False, steps)
        # Predicting the mean update (the target's 2 of COLUMNS columns, spread evenly) leaves
        # 1 - 2/COLUMNS = 1 - 1/FRAMES of the loss; only a block that finds the event's time
        # goes well below it.
        mean_only = 1.0 - 1.0 / FRAMES
        self.assertLess(sum(started[-10:]) / 10, 0.5 * mean_only, started[-10:])
        self.assertGreater(sum(blind[-10:]) / 10, 0.9 * mean_only, blind[-10:])

    def test_too_many_pairs_is_refused(self):
        block = JointBlock(CH, CH, TEMB, TEMB, D_QK, D_QK, HEADS)
        with self.assertRaises(ValueError):
            block.attend_to_same_moment(pairs=D_QK // HEADS // 4 + 1)


if __name__ == "__main__":
    unittest.main()
