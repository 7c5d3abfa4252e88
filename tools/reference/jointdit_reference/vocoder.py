"""HiFi-GAN vocoder with the structure and names of transformers' SpeechT5HifiGan (AudioLDM2's).

Names: conv_pre, upsampler.{i} (ConvTranspose1d), resblocks.{i*K+k}.convs1.{j} / convs2.{j},
conv_post, and the buffers mean/scale (kept for the checkpoint layout; with
``normalize_before`` false, as published, they are not applied).
"""
import torch
from torch import nn
from torch.nn import functional as F

AUDIOLDM2_VOCODER_CONFIG: dict = {
    "model_in_dim": 64,
    "sampling_rate": 16000,
    "upsample_initial_channel": 1024,
    "upsample_rates": [5, 4, 2, 2, 2],
    "upsample_kernel_sizes": [16, 16, 8, 4, 4],
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "leaky_relu_slope": 0.1,
    "normalize_before": False,
}


class ResidualBlock(nn.Module):
    """Per dilation d: x += conv2(lrelu(conv1_d(lrelu(x)))), 'same' padding."""

    def __init__(self, channels: int, kernel: int, dilations: list[int], slope: float):
        super().__init__()
        self.slope = slope
        self.convs1 = nn.ModuleList([
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=(kernel * d - d) // 2)
            for d in dilations])
        self.convs2 = nn.ModuleList([
            nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2) for _ in dilations])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2):
            x = x + conv2(F.leaky_relu(conv1(F.leaky_relu(x, self.slope)), self.slope))
        return x


class Vocoder(nn.Module):
    """log-mel (B, T, model_in_dim) -> waveform (B, T * prod(upsample_rates)) in [-1, 1]."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        ch = config["upsample_initial_channel"]
        slope = config["leaky_relu_slope"]
        self.slope = slope
        self.num_kernels = len(config["resblock_kernel_sizes"])
        self.conv_pre = nn.Conv1d(config["model_in_dim"], ch, 7, padding=3)
        self.upsampler = nn.ModuleList([
            nn.ConvTranspose1d(ch // 2 ** i, ch // 2 ** (i + 1), k, stride=r, padding=(k - r) // 2)
            for i, (r, k) in enumerate(zip(config["upsample_rates"],
                                           config["upsample_kernel_sizes"]))])
        self.resblocks = nn.ModuleList([
            ResidualBlock(ch // 2 ** (i + 1), k, d, slope)
            for i in range(len(self.upsampler))
            for k, d in zip(config["resblock_kernel_sizes"], config["resblock_dilation_sizes"])])
        self.conv_post = nn.Conv1d(ch // 2 ** len(self.upsampler), 1, 7, padding=3)
        self.register_buffer("mean", torch.zeros(config["model_in_dim"]))
        self.register_buffer("scale", torch.ones(config["model_in_dim"]))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if self.config.get("normalize_before", False):
            mel = (mel - self.mean) / self.scale
        h = self.conv_pre(mel.transpose(1, 2))
        for i, up in enumerate(self.upsampler):
            h = up(F.leaky_relu(h, self.slope))
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            h = sum(block(h) for block in blocks) / self.num_kernels
        # The last activation uses LeakyReLU's default slope, not the configured one.
        h = torch.tanh(self.conv_post(F.leaky_relu(h)))
        return h.squeeze(1)
