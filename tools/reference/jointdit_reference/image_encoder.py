"""CLIP vision tower with projection, with the structure and names of transformers'
CLIPVisionModelWithProjection (SVD uses ViT-H/14).

Names: vision_model.embeddings.{class_embedding, patch_embedding, position_embedding},
vision_model.pre_layrnorm, vision_model.encoder.layers.{i}.{self_attn.{q,k,v,out}_proj,
layer_norm1, mlp.fc1, mlp.fc2, layer_norm2}, vision_model.post_layernorm, visual_projection.
Input: pixels already resized to image_size and CLIP-normalised.
"""
import torch
from torch import nn
from torch.nn import functional as F

CLIP_VIT_H14_CONFIG: dict = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 16,
    "image_size": 224,
    "patch_size": 14,
    "num_channels": 3,
    "projection_dim": 1024,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
}

_ACTIVATIONS = {
    "gelu": F.gelu,
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
}


class Embeddings(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden, patch = config["hidden_size"], config["patch_size"]
        self.class_embedding = nn.Parameter(torch.randn(hidden))
        self.patch_embedding = nn.Conv2d(config["num_channels"], hidden, patch, stride=patch,
                                         bias=False)
        positions = (config["image_size"] // patch) ** 2 + 1
        self.position_embedding = nn.Embedding(positions, hidden)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(pixels.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight[None]


class SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(hidden, hidden)
        self.k_proj = nn.Linear(hidden, hidden)
        self.v_proj = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        d = c // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        w = torch.matmul(q * d ** -0.5, k.transpose(-1, -2)).softmax(dim=-1)
        return self.out_proj(torch.matmul(w, v).transpose(1, 2).reshape(b, n, c))


class MLP(nn.Module):
    def __init__(self, hidden: int, inner: int, act: str):
        super().__init__()
        self.act = _ACTIVATIONS[act]
        self.fc1 = nn.Linear(hidden, inner)
        self.fc2 = nn.Linear(inner, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.self_attn = SelfAttention(hidden, config["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(hidden, eps=eps)
        self.mlp = MLP(hidden, config["intermediate_size"], config["hidden_act"])
        self.layer_norm2 = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(config)
                                     for _ in range(config["num_hidden_layers"])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.embeddings = Embeddings(config)
        self.pre_layrnorm = nn.LayerNorm(hidden, eps=eps)
        self.encoder = Encoder(config)
        self.post_layernorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        tokens = self.encoder(self.pre_layrnorm(self.embeddings(pixels)))
        return self.post_layernorm(tokens[:, 0])


class ImageEncoder(nn.Module):
    """pixels (B, 3, S, S) -> image embedding (B, projection_dim), the class token after
    post_layernorm and visual_projection (no bias)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        self.vision_model = VisionTransformer(config)
        self.visual_projection = nn.Linear(config["hidden_size"], config["projection_dim"],
                                           bias=False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.visual_projection(self.vision_model(pixels))
