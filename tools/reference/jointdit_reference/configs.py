"""Architecture configs of the compact default model (DESIGN.md section 6) and the parity model.

The default model: 64x64 px -> video latent 8x8 (8 channels), 32 frames at 12.5 fps; 2.56 s of
16 kHz audio = 256 mel frames (hop 160) x 64 bins -> audio latent 8 x 64 x 16 (VAE factor 4), one
latent column = 40 ms; a HiFi-GAN vocoder of 128 channels and a 2-layer CLIP-shaped image
encoder (64 px, patch 8, embedding 64 = the video context and the audio image embedding).
Both UNets keep four down blocks, so the Joint Blocks sit where they sit at full scale (after
down blocks 1, 2, 3 and the mid block).
"""
import copy

JOINT_SPLIT = ["down_blocks.1", "down_blocks.2", "down_blocks.3", "mid_block"]

DEFAULT_CONFIG: dict = {
    "video_unet": {
        "in_channels": 16,   # noisy latent + the picture's latent, 8 channels each
        "out_channels": 8,
        "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
        "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
        "block_out_channels": [32, 32, 64, 64],
        "layers_per_block": 1,
        "num_attention_heads": [1, 1, 2, 2],
        "cross_attention_dim": 64,
        "transformer_layers_per_block": 1,
        "addition_time_embed_dim": 32,
        "projection_class_embeddings_input_dim": 96,
        # 8 groups (4+ channels each), not SVD's fixed 32: with 32 channels per level, 32 groups
        # would normalise each channel alone and erase the per-channel offset a resnet adds from
        # the timestep embedding, so the outer levels would not know the noise level.
        "norm_num_groups": 8,
    },
    "audio_unet": {
        "in_channels": 8,
        "out_channels": 8,
        "down_block_types": ["DownBlock2D"] + ["CrossAttnDownBlock2D"] * 3,
        "up_block_types": ["CrossAttnUpBlock2D"] * 3 + ["UpBlock2D"],
        "block_out_channels": [32, 64, 64, 96],
        "layers_per_block": 1,
        "num_attention_heads": [1, 2, 2, 3],
        "cross_attention_dim": [None, 768, 1024],
        "transformer_layers_per_block": 1,
        # 8 groups (4+ channels each): a ResnetBlock adds the timestep/image embedding per
        # channel just before norm2, and a GroupNorm of one channel per group (32 groups of 32)
        # erases that offset, so the 32-channel level would never see the noise level or the
        # picture.  (The video UNet has the same problem under SVD's fixed 32 groups; see its
        # norm_num_groups above.)
        "norm_num_groups": 8,
        "norm_eps": 1e-5,
        "text_transformers": False,
        "image_embed_dim": 64,
    },
    "video_vae": {
        "in_channels": 3,
        "out_channels": 3,
        # 32 channels at every level: with the pooled-colour start of tools/train (vae_init.py)
        # this width reached 23.5 dB on held-out frames in the time a 64-channel full-resolution
        # level reached 23.0 (2.7x the steps per second), and decodes faster in the engine.
        "block_out_channels": [32, 32, 32, 32],
        "layers_per_block": 1,
        # 8 channels, not SVD's 4: an 8x8 latent of 4 channels (48x compression) could not hold
        # the world's textures and thin sticks; 8 halve the compression for a negligible cost
        # in the UNet (only conv_in and conv_out see the latent channels).
        "latent_channels": 8,
        "norm_num_groups": 8,
        # SVD's temporal decoder fixes 32 groups; 8 keep relative levels and colours here.
        "decoder_norm_num_groups": 8,
        "scaling_factor": 0.18215,
    },
    "audio_vae": {
        "in_channels": 1,
        "out_channels": 1,
        "block_out_channels": [32, 32, 32],
        "layers_per_block": 1,
        "latent_channels": 8,
        "norm_num_groups": 8,   # 4 channels per group keep loudness (32 would erase means)
        "scaling_factor": 0.4110932946205139,
    },
    "vocoder": {
        "model_in_dim": 64,
        "sampling_rate": 16000,
        "upsample_initial_channel": 128,
        "upsample_rates": [5, 4, 2, 2, 2],
        "upsample_kernel_sizes": [16, 16, 8, 4, 4],
        "resblock_kernel_sizes": [3, 7, 11],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "leaky_relu_slope": 0.1,
        "normalize_before": False,
    },
    "image_encoder": {
        "hidden_size": 64,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 64,
        "patch_size": 8,
        "num_channels": 3,
        "projection_dim": 64,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
    },
    "joint": {
        "split": {"video": JOINT_SPLIT, "audio": JOINT_SPLIT},
        "d_qk": 64,
        "d_v": 64,
        "heads": 2,
        "rope_base": 10000.0,
        "rope_clock_hz": 25.0,
        "video_fps": 12.5,
        "audio_latent_seconds": 0.04,
    },
    "shapes": {
        "frames": 32,
        "video_latent": [8, 8, 8],
        "audio_latent": [8, 64, 16],
        "image_size": [64, 64],
        "mel_frames": 256,
        "mel_bins": 64,
        "sample_rate": 16000,
    },
}


def default_config() -> dict:
    return copy.deepcopy(DEFAULT_CONFIG)


def parity_config() -> dict:
    """The default model's structure at the smallest width (32 channels everywhere, one head
    of 32 in the UNets), two-level VAEs (factor 2) and a short clip, so the committed parity
    bundle stays small."""
    cfg = default_config()
    cfg["video_unet"].update(in_channels=8, out_channels=4, block_out_channels=[32] * 4,
                             num_attention_heads=[1] * 4, cross_attention_dim=32,
                             addition_time_embed_dim=16, projection_class_embeddings_input_dim=48)
    cfg["audio_unet"].update(block_out_channels=[32] * 4, num_attention_heads=[1] * 4,
                             image_embed_dim=32, norm_num_groups=32)
    cfg["vocoder"]["upsample_initial_channel"] = 64
    cfg["image_encoder"].update(hidden_size=32, intermediate_size=64, image_size=16,
                                projection_dim=32)
    # Encoder 32 groups, temporal decoder 8, video UNet 8 (from the default): the parity
    # goldens then check that the group counts reach every GroupNorm.
    cfg["video_vae"].update(block_out_channels=[32, 32], latent_channels=4, norm_num_groups=32,
                            decoder_norm_num_groups=8)
    cfg["audio_vae"].update(block_out_channels=[32, 32], norm_num_groups=32)
    cfg["joint"].update(d_qk=32, d_v=16, heads=1)
    cfg["shapes"] = {"frames": 5, "video_latent": [4, 8, 8], "audio_latent": [8, 20, 16]}
    return cfg
