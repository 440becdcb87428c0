"""uint8 MNIST batches on the device -> model inputs: one path for training and evaluation; and the
training batches' share of generated not-a-digit images."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .data import Normalization

NOT_A_DIGIT = 10  # the label of the 11th class


def to_model_input(images_u8: torch.Tensor, normalization: Normalization, memory_format: torch.memory_format,
                   augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) in 0..255 -> float32 (N, 1, 28, 28): scaled to 0..1, augmented (a function
    of the 0..1 batch, background 0), normalised as the model expects, in its memory layout."""
    x = images_u8.float() * (1 / 255)
    if augment is not None:
        x = augment(x)
    return normalization(x).contiguous(memory_format=memory_format)


def with_negatives(batch_u8: torch.Tensor, target: torch.Tensor, negatives: torch.Tensor | None, count: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch with `count` images drawn from the pool of not-a-digit images appended, labelled
    NOT_A_DIGIT (the 11th class). uint8 (N, 1, 28, 28) in and out."""
    if negatives is None or count == 0:
        return batch_u8, target
    pick = torch.randint(0, len(negatives), (count,), generator=generator, device=negatives.device)
    extra = torch.full((count,), NOT_A_DIGIT, dtype=target.dtype, device=target.device)
    return torch.cat([batch_u8, negatives[pick]]), torch.cat([target, extra])
