"""The reference model: a tiny flow-matching video model (no downloads) with LoRA-style adapters.

- Text: character 1–3-grams of the prompt hashed (BLAKE2, stable across runs) into 512 buckets, normalised, then a
  fixed random projection to a `cond_dim` embedding.
- Latent video: (frames, channels, h, w), default (24, 4, 8, 8). The velocity network is an MLP applied to each
  frame's flattened latent, fed with the video's mean frame (a cheap temporal context), the text embedding, a σ
  embedding and a frame-position embedding.
- Decoder: fixed (non-trainable) 1×1 channel mix to RGB, sigmoid, bilinear upsampling to size×size.
- Base weights come from a seeded generator; adapters (A random small, B zero) are the only trainable parameters, so
  at start adapters-on equals the base model exactly.
"""
from __future__ import annotations

import hashlib
import math
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .interface import VideoFlowModel

_HASH_BUCKETS = 512


class LoRALinear(torch.nn.Module):
    """y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ, with W, b frozen buffers and A (rank×in), B (out×rank) trainable; B starts at 0."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, rank: int, alpha: float, gen: torch.Generator) -> None:
        super().__init__()
        out_f, in_f = weight.shape
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.lora_a = torch.nn.Parameter(torch.randn(rank, in_f, generator=gen) / math.sqrt(in_f))
        self.lora_b = torch.nn.Parameter(torch.zeros(out_f, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor, adapters_on: bool) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        if adapters_on:
            y = y + self.scale * F.linear(F.linear(x, self.lora_a), self.lora_b)
        return y


class ReferenceVideoModel(VideoFlowModel):
    """The reference implementation of `VideoFlowModel` (see module docstring)."""

    def __init__(self, *, seed: int = 0, frames: int = 24, size: int = 64, channels: int = 4, latent_hw: int = 8,
                 hidden: int = 192, cond_dim: int = 32, rank: int = 4, alpha: float = 4.0, fps: float = 8.0) -> None:
        if size % latent_hw != 0 or size % 2 != 0:
            raise ValueError(f"size must be even and a multiple of {latent_hw}, got {size}")
        if not 1 <= frames <= 4096:
            raise ValueError(f"frames must be in [1, 4096], got {frames}")
        self.frames, self.size, self.channels, self.latent_hw, self.fps = frames, size, channels, latent_hw, float(fps)
        self.cond_dim = cond_dim
        gen = torch.Generator().manual_seed(int(seed) % (2**63))
        tok = channels * latent_hw * latent_hw
        self._t_dim, self._pos_dim = 16, 8
        in_dim = 2 * tok + cond_dim + self._t_dim + self._pos_dim

        def base(out_f: int, in_f: int, gain: float) -> Tuple[torch.Tensor, torch.Tensor]:
            w = torch.randn(out_f, in_f, generator=gen) * (gain / math.sqrt(in_f))
            return w, torch.randn(out_f, generator=gen) * 0.01

        self.layers = torch.nn.ModuleList([
            LoRALinear(*base(hidden, in_dim, 1.0), rank, alpha, gen),
            LoRALinear(*base(hidden, hidden, 1.0), rank, alpha, gen),
            LoRALinear(*base(tok, hidden, 0.5), rank, alpha, gen),
        ])
        self._text_proj = torch.randn(_HASH_BUCKETS, cond_dim, generator=gen) / math.sqrt(16.0)
        self._t_freq = torch.exp(torch.linspace(0.0, math.log(100.0), self._t_dim // 2))
        self._pos = torch.randn(frames, self._pos_dim, generator=gen) * 0.5
        self._rgb = torch.randn(3, channels, generator=gen) / math.sqrt(channels)
        self._rgb_bias = torch.randn(3, generator=gen) * 0.3

    # ---- VideoFlowModel ----

    @property
    def latent_shape(self) -> Tuple[int, ...]:
        return (self.frames, self.channels, self.latent_hw, self.latent_hw)

    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        counts = torch.zeros(len(prompts), _HASH_BUCKETS)
        for row, prompt in enumerate(prompts):
            text = f" {prompt.lower()} "
            for n in (1, 2, 3):
                for i in range(len(text) - n + 1):
                    h = hashlib.blake2b(text[i:i + n].encode("utf-8"), digest_size=4).digest()
                    counts[row, int.from_bytes(h, "little") % _HASH_BUCKETS] += 1.0
        counts = counts / counts.norm(dim=1, keepdim=True).clamp_min(1e-6)
        return torch.tanh(counts @ self._text_proj)

    def velocity(self, latents: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor, adapters_on: bool) -> torch.Tensor:
        n, f = latents.shape[0], latents.shape[1]
        tokens = latents.reshape(n, f, -1)
        context = tokens.mean(dim=1, keepdim=True).expand(n, f, tokens.shape[2])
        angles = sigma.reshape(n, 1) * self._t_freq.reshape(1, -1) * math.pi
        t_emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        h = torch.cat([
            tokens, context,
            cond.reshape(n, 1, -1).expand(n, f, self.cond_dim),
            t_emb.reshape(n, 1, -1).expand(n, f, self._t_dim),
            self._pos[:f].reshape(1, f, -1).expand(n, f, self._pos_dim),
        ], dim=2).reshape(n * f, -1)
        h = F.silu(self.layers[0](h, adapters_on))
        h = F.silu(self.layers[1](h, adapters_on))
        return self.layers[2](h, adapters_on).reshape(latents.shape)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            n, f, c, hh, ww = latents.shape
            x = latents.reshape(n * f, c, hh, ww)
            rgb = torch.einsum("oc,bchw->bohw", self._rgb, x) + self._rgb_bias.reshape(1, 3, 1, 1)
            rgb = torch.sigmoid(1.5 * rgb)
            rgb = F.interpolate(rgb, size=(self.size, self.size), mode="bilinear", align_corners=False)
            out = (rgb * 255.0).round().clamp(0, 255).to(torch.uint8)
            return np.ascontiguousarray(out.reshape(n, f, 3, self.size, self.size).permute(0, 1, 3, 4, 2).numpy())

    def trainable_parameters(self) -> List[Tuple[str, torch.nn.Parameter]]:
        out: List[Tuple[str, torch.nn.Parameter]] = []
        for i, layer in enumerate(self.layers):
            out.append((f"layers.{i}.lora_a", layer.lora_a))
            out.append((f"layers.{i}.lora_b", layer.lora_b))
        return out
