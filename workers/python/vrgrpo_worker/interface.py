"""The seam between Flow-GRPO and a model: what a user implements to train their own video model with this worker.

The sampler and trainer (flow_grpo.py) only ever call these methods, so a diffusers pipeline, a custom DiT or the
reference model in model.py are interchangeable.
"""
from __future__ import annotations

import abc
from typing import List, Sequence, Tuple

import numpy as np
import torch


class VideoFlowModel(abc.ABC):
    """A flow-matching video model with switchable low-rank adapters.

    Conventions: a latent at noise level σ ∈ [0, 1] is x_σ = (1 − σ)·x_data + σ·ε, and the model predicts the
    velocity v = ε − x_data, so an Euler step is x ← x + v·(σ_next − σ). Every tensor is float32 on the CPU
    unless the implementation chooses otherwise (then it must be consistent between sampling and training).
    """

    #: Frames per second of decoded videos.
    fps: float = 8.0

    @property
    @abc.abstractmethod
    def latent_shape(self) -> Tuple[int, ...]:
        """Shape of ONE video's latent, without the batch dimension (e.g. (frames, channels, h, w))."""

    @abc.abstractmethod
    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        """Text conditioning, one row per prompt: a tensor of shape (len(prompts), ...). Never trained."""

    @abc.abstractmethod
    def velocity(self, latents: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor, adapters_on: bool) -> torch.Tensor:
        """Predicted velocity, same shape as `latents` (N, *latent_shape); `sigma` (N,), `cond` (N, ...).

        With `adapters_on=False` it is the frozen reference (base) model; gradients must flow to
        `trainable_parameters()` when adapters are on and autograd is enabled. It must be deterministic: the same
        inputs (same batch layout) give bit-identical outputs, or the on-policy ratio will not be exactly 1.
        """

    @abc.abstractmethod
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Decoded videos: uint8 array (N, frames, height, width, 3), C order, RGB."""

    @abc.abstractmethod
    def trainable_parameters(self) -> List[Tuple[str, torch.nn.Parameter]]:
        """The adapter parameters, as (name, parameter) pairs in a FIXED order (it defines the policy digest and the
        saved-state layout)."""
