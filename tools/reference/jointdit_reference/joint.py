"""Joint Blocks and the JointDiT assembly (DESIGN.md section 3, paper section 3.2).

Names (all under ``joint.``), for Joint Block k and modality m in {video, audio}:
  joint.blocks.{k}.{m}_modulation            Linear(temb_m, 6*C_m) -> (s1, b1, g1, s2, b2, g2)
  joint.blocks.{k}.attn.{m}_to_q / _to_k      Linear(C_m, d_qk)
  joint.blocks.{k}.attn.{m}_to_v              Linear(C_m, d_v)
  joint.blocks.{k}.attn.{m}_to_out            Linear(d_v, C_m)
  joint.blocks.{k}.{m}_ff.net.0.proj, .net.2  GEGLU feed-forward (C_m -> 4*C_m -> C_m)
The LayerNorms have no parameters (eps 1e-6).  The UNets live under ``video.unet.`` and
``audio.unet.``.
"""
import torch
from torch import nn
from torch.nn import functional as F

from . import rope
from .attention import FeedForward, attend
from .audio_unet import AudioUNet
from .image_encoder import ImageEncoder
from .vae import AudioVAE, VideoVAE
from .video_unet import VideoUNet
from .vocoder import Vocoder

ATTENTION_MODES = ("full", "block_diagonal", "skip")
MODALITIES = ("video", "audio")
# attend_to_same_moment: the score of a key of the query's own moment, from the fastest time-RoPE
# pairs (3 of a 32-dim head's 8).  At 4, in a toy task (copy an event's frame from 512 video to
# 512 audio tokens), a fresh block learnt it in 50 steps; with time-blind Q/K it never did.
SAME_MOMENT_LOGIT = 4.0
SAME_MOMENT_PAIRS = 3


def same_moment_amplitude(head_dim: int, logit: float = SAME_MOMENT_LOGIT,
                          pairs: int = SAME_MOMENT_PAIRS) -> float:
    """The bias a of attend_to_same_moment: pairs * a^2 / sqrt(head_dim) = logit."""
    return (logit * head_dim ** 0.5 / pairs) ** 0.5


class PerceiverJointAttention(nn.Module):
    """Separate Q, K (into d_qk) and V (into d_v) projections per modality, RoPE on Q and K, one
    softmax over the concatenation [video; audio], separate output projections."""

    def __init__(self, video_ch: int, audio_ch: int, d_qk: int, d_v: int, heads: int):
        super().__init__()
        if d_qk % heads or d_v % heads:
            raise ValueError(f"joint attention: d_qk {d_qk} and d_v {d_v} must divide by "
                             f"{heads} heads")
        self.heads = heads
        for m, ch in zip(MODALITIES, (video_ch, audio_ch)):
            self.add_module(f"{m}_to_q", nn.Linear(ch, d_qk))
            self.add_module(f"{m}_to_k", nn.Linear(ch, d_qk))
            self.add_module(f"{m}_to_v", nn.Linear(ch, d_v))
            self.add_module(f"{m}_to_out", nn.Linear(d_v, ch))

    def forward(self, video: torch.Tensor, audio: torch.Tensor, video_theta: torch.Tensor,
                audio_theta: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        """video (B, N_v, C_v), audio (B, N_a, C_a); theta: RoPE angles per token."""
        b, nv, na = video.shape[0], video.shape[1], audio.shape[1]
        qs, ks, vs = [], [], []
        for m, x, theta in (("video", video, video_theta), ("audio", audio, audio_theta)):
            q = getattr(self, f"{m}_to_q")(x)
            k = getattr(self, f"{m}_to_k")(x)
            q = q.reshape(b, x.shape[1], self.heads, q.shape[-1] // self.heads)
            k = k.reshape(b, x.shape[1], self.heads, k.shape[-1] // self.heads)
            qs.append(rope.apply(q, theta).flatten(2))
            ks.append(rope.apply(k, theta).flatten(2))
            vs.append(getattr(self, f"{m}_to_v")(x))
        mask = None
        if mode == "block_diagonal":
            modality = torch.cat([torch.zeros(nv, dtype=torch.bool),
                                  torch.ones(na, dtype=torch.bool)]).to(video.device)
            mask = modality[:, None] == modality[None, :]
        out = attend(torch.cat(qs, 1), torch.cat(ks, 1), torch.cat(vs, 1), self.heads, mask)
        return self.video_to_out(out[:, :nv]), self.audio_to_out(out[:, nv:])


class JointBlock(nn.Module):
    """h <- h + g1 * JointAttn(LN(h)(1 + s1) + b1);  h <- h + g2 * FF(LN(h)(1 + s2) + b2)."""

    def __init__(self, video_ch: int, audio_ch: int, video_temb: int, audio_temb: int,
                 d_qk: int, d_v: int, heads: int):
        super().__init__()
        self.video_modulation = nn.Linear(video_temb, 6 * video_ch)
        self.audio_modulation = nn.Linear(audio_temb, 6 * audio_ch)
        self.attn = PerceiverJointAttention(video_ch, audio_ch, d_qk, d_v, heads)
        self.video_ff = FeedForward(video_ch)
        self.audio_ff = FeedForward(audio_ch)

    def zero_modulation(self) -> None:
        """A fresh block: every gate 0, so JointDiT computes what the two UNets compute."""
        for m in MODALITIES:
            nn.init.zeros_(getattr(self, f"{m}_modulation").weight)
            nn.init.zeros_(getattr(self, f"{m}_modulation").bias)

    def gates_are_zero(self) -> bool:
        """True for a fresh block (zero_modulation): it changes nothing."""
        return all(float(getattr(self, f"{m}_modulation").weight.abs().max()) == 0.0
                   and float(getattr(self, f"{m}_modulation").bias.abs().max()) == 0.0
                   for m in MODALITIES)

    @torch.no_grad()
    def attend_to_same_moment(self, logit: float = SAME_MOMENT_LOGIT,
                              pairs: int = SAME_MOMENT_PAIRS) -> None:
        """Start the joint attention looking at the present: the Q and K biases of both
        modalities get the same constant a on the first dim of the ``pairs`` fastest time-RoPE
        pairs of every head (rope.py: time comes first, pair j = dims 2j, 2j+1), so every query
        scores every key by a^2 * sum_j cos(w_j * dt) / sqrt(d) — ``logit`` for a key of its own
        moment in either modality, less the further away in time — on top of what the (random)
        weights contribute.  The weights and everything else are left as they are.

        Why: with the AdaLN-Zero gates at 0 and Q/K that ignore time, the attention of a fresh
        block averages over the whole clip, the gate's gradient sees no event-locked signal and
        the Q/K get no gradient through the zero gate: in a toy task such a block never learns
        to carry an event's time from video to audio, while one started at the present learns it
        in 50 steps (tools/train/tests/test_same_moment_init.py)."""
        head_dim = self.attn.video_to_q.out_features // self.attn.heads
        if pairs > head_dim // 4:
            raise ValueError(f"attend_to_same_moment: {pairs} pairs, but a head of {head_dim} "
                             f"dims has {head_dim // 4} time pairs")
        a = same_moment_amplitude(head_dim, logit, pairs)
        for m in MODALITIES:
            for proj in ("q", "k"):
                bias = getattr(self.attn, f"{m}_to_{proj}").bias
                bias.zero_()
                for h in range(self.attn.heads):
                    bias[h * head_dim:h * head_dim + 2 * pairs:2] = a

    def forward(self, video: torch.Tensor, audio: torch.Tensor, video_emb: torch.Tensor,
                audio_emb: torch.Tensor, video_theta: torch.Tensor, audio_theta: torch.Tensor,
                mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        """video (B, N_v, C_v), audio (B, N_a, C_a); emb: (B, temb) per modality."""
        mods = {}
        for m, emb in (("video", video_emb), ("audio", audio_emb)):
            mods[m] = getattr(self, f"{m}_modulation")(F.silu(emb))[:, None, :].chunk(6, dim=-1)
        tokens = {"video": video, "audio": audio}

        def modulate(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
            return F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + scale) + shift

        if mode != "skip":
            normed = {m: modulate(tokens[m], mods[m][0], mods[m][1]) for m in MODALITIES}
            out_v, out_a = self.attn(normed["video"], normed["audio"], video_theta, audio_theta,
                                     mode)
            tokens["video"] = tokens["video"] + mods["video"][2] * out_v
            tokens["audio"] = tokens["audio"] + mods["audio"][2] * out_a
        for m in MODALITIES:
            s2, b2, g2 = mods[m][3:]
            ff = getattr(self, f"{m}_ff")
            tokens[m] = tokens[m] + g2 * ff(modulate(tokens[m], s2, b2))
        return tokens["video"], tokens["audio"]


class JointBlocks(nn.Module):
    def __init__(self, blocks: list[JointBlock]):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)


def _stage_channels(unet: nn.Module, stage: str) -> int:
    if stage == "mid_block":
        return unet.config["block_out_channels"][-1]
    if stage.startswith("down_blocks."):
        return unet.config["block_out_channels"][int(stage.split(".")[1])]
    raise ValueError(f"JointDiT: a Joint Block cannot follow stage {stage!r} "
                     "(use down_blocks.N or mid_block)")


class JointDiT(nn.Module):
    """The joint denoiser, plus the parts the config names (``video_vae``, ``audio_vae``,
    ``vocoder``, ``image_encoder`` under ``video.vae.``, ``audio.vae.``, ``audio.vocoder.``,
    ``image_encoder.``), so one state dict is one bundle's tensors.  ``config`` has
    ``video_unet``, ``audio_unet`` (the UNet configs) and
    ``joint``: ``split`` ({"video": [...], "audio": [...]}, the encoder stage after which each
    Joint Block sits; the stages before the first form the Input layer, the up path is the Output
    layer), ``d_qk``, ``d_v``, ``heads``, ``rope_base``, ``rope_clock_hz``, ``video_fps``,
    ``audio_latent_seconds`` (duration of one audio latent column at the UNet input)."""

    def __init__(self, config: dict, fresh: bool = False):
        super().__init__()
        self.config = config
        jc = config["joint"]
        self.video = nn.ModuleDict({"unet": VideoUNet(config["video_unet"])})
        self.audio = nn.ModuleDict({"unet": AudioUNet(config["audio_unet"])})
        if "video_vae" in config:
            self.video["vae"] = VideoVAE(config["video_vae"])
        if "audio_vae" in config:
            self.audio["vae"] = AudioVAE(config["audio_vae"])
        if "vocoder" in config:
            self.audio["vocoder"] = Vocoder(config["vocoder"])
        if "image_encoder" in config:
            self.image_encoder = ImageEncoder(config["image_encoder"])
        self.split = {m: list(jc["split"][m]) for m in MODALITIES}
        if len(self.split["video"]) != len(self.split["audio"]) or not self.split["video"]:
            raise ValueError("JointDiT: the split must name the same number (>= 1) of stages "
                             f"for video and audio, got {self.split}")
        for m in MODALITIES:
            unet = self.unet(m)
            order = unet.stage_names()
            idx = [order.index(s) if s in order else -1 for s in self.split[m]]
            if -1 in idx or idx != sorted(set(idx)) or idx[0] == 0:
                raise ValueError(f"JointDiT: {m} split {self.split[m]} must be increasing stages "
                                 f"among {order[1:]}")
        vt = self.unet("video").config["block_out_channels"][0] * 4
        at = self.unet("audio").config["block_out_channels"][0] * 4
        blocks = []
        for sv, sa in zip(self.split["video"], self.split["audio"]):
            block = JointBlock(_stage_channels(self.unet("video"), sv),
                               _stage_channels(self.unet("audio"), sa), vt, at,
                               jc["d_qk"], jc["d_v"], jc["heads"])
            if fresh:
                block.zero_modulation()
            blocks.append(block)
        self.joint = JointBlocks(blocks)
        self.head_dim = jc["d_qk"] // jc["heads"]
        rope.axis_runs(self.head_dim, 2)  # validates the head dim for both modalities

    def unet(self, modality: str) -> nn.Module:
        return getattr(self, modality)["unet"]

    def forward(self, video_sample: torch.Tensor, video_timestep: torch.Tensor,
                video_context: torch.Tensor, added_time_ids: torch.Tensor,
                audio_sample: torch.Tensor, audio_timestep: torch.Tensor,
                image_embeds: torch.Tensor | None, attention: str = "full",
                audio_contexts: tuple = (None, None)) -> tuple[torch.Tensor, torch.Tensor]:
        """video_sample (B, F, C, H, W) already scaled by c_in, video_timestep c_noise (B,);
        audio_sample (B, C, T, F_mel), audio_timestep DDPM index (B,); image_embeds None is the
        audio null condition.  ``attention``: full, block_diagonal (JointCFG) or skip (JointCFG*).
        Returns the raw UNet outputs (v-prediction, eps-prediction)."""
        if attention not in ATTENTION_MODES:
            raise ValueError(f"JointDiT: attention mode {attention!r} is not one of "
                             f"{ATTENTION_MODES}")
        jc = self.config["joint"]
        vunet, aunet = self.unet("video"), self.unet("audio")
        b, frames = video_sample.shape[:2]
        audio_columns = audio_sample.shape[2]
        vtemb = vunet.embed(video_timestep, added_time_ids, frames)
        atemb = aunet.embed(audio_timestep, audio_sample.shape[0], image_embeds)
        vctx = video_context.repeat_interleave(frames, dim=0)
        vh, ah = video_sample.flatten(0, 1), audio_sample
        vskips: list[torch.Tensor] = []
        askips: list[torch.Tensor] = []
        vstages, astages = iter(vunet.stage_names()), iter(aunet.stage_names())

        for k, (sv, sa) in enumerate(zip(self.split["video"], self.split["audio"])):
            for name in vstages:
                saved = len(vskips)
                vh = vunet.run_stage(name, vh, vskips, vtemb, vctx, frames)
                if name == sv:
                    break
            video_saved = len(vskips) > saved
            for name in astages:
                saved = len(askips)
                ah = aunet.run_stage(name, ah, askips, atemb, audio_contexts)
                if name == sa:
                    break
            audio_saved = len(askips) > saved

            _, cv, hv, wv = vh.shape
            _, ca, ta, fa = ah.shape
            vtok = vh.reshape(b, frames, cv, hv, wv).permute(0, 1, 3, 4, 2).reshape(b, -1, cv)
            atok = ah.permute(0, 2, 3, 1).reshape(b, -1, ca)
            runs_v = rope.axis_runs(self.head_dim, 2)
            runs_a = rope.axis_runs(self.head_dim, 1)
            vtheta = rope.angles(rope.video_positions(frames, hv, wv, jc["video_fps"],
                                                      jc["rope_clock_hz"]), runs_v, jc["rope_base"])
            column_seconds = jc["audio_latent_seconds"] * audio_columns / ta
            atheta = rope.angles(rope.audio_positions(ta, fa, column_seconds, jc["rope_clock_hz"]),
                                 runs_a, jc["rope_base"])
            vtok, atok = self.joint.blocks[k](vtok, atok, vtemb[::frames], atemb,
                                              vtheta.to(vh.device), atheta.to(ah.device), attention)
            vh = vtok.reshape(b, frames, hv, wv, cv).permute(0, 1, 4, 2, 3).reshape(b * frames, cv, hv, wv)
            ah = atok.reshape(b, ta, fa, ca).permute(0, 3, 1, 2)
            # The Joint Block's output replaces the last skip its Expert saved.
            if video_saved:
                vskips[-1] = vh
            if audio_saved:
                askips[-1] = ah

        for name in vstages:
            vh = vunet.run_stage(name, vh, vskips, vtemb, vctx, frames)
        for name in astages:
            ah = aunet.run_stage(name, ah, askips, atemb, audio_contexts)
        vout = vunet.decode(vh, vskips, vtemb, vctx, frames)
        aout = aunet.decode(ah, askips, atemb, audio_contexts)
        return vout.reshape(b, frames, *vout.shape[1:]), aout
