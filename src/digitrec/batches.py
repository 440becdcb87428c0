"""uint8 MNIST batches on the device -> model inputs: one path for training and evaluation."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .data import Normalization


def to_model_input(images_u8: torch.Tensor, normalization: Normalization, memory_format: torch.memory_format,
                   augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) in 0..255 -> float32 (N, 1, 28, 28): scaled to 0..1, augmented (a function
    of the 0..1 batch, background 0), normalised as the model expects, in its memory layout."""
    x = images_u8.float() * (1 / 255)
    if augment is not None:
        x = augment(x)
    return normalization(x).contiguous(memory_format=memory_format)
