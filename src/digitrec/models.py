"""The registry of architectures. Every model maps a (N, 1, 28, 28) normalised batch to (N, 10) logits.

A model is rebuilt from its registry name alone: `build(name)`. Checkpoints store the name and the
keyword arguments, so a registered name must keep its meaning forever; a new variant gets a new name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .layers import Conv2d, MaxPool2d


def _mlp(*sizes: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))  # logits: no ReLU after the last layer
    return nn.Sequential(*layers)


def mlp() -> nn.Module:
    return _mlp(784, 256, 64, 10)


def mlp_deep() -> nn.Module:
    return _mlp(784, 512, 256, 256, 128, 64, 10)


def lenet() -> nn.Module:
    # The classic pytorch/examples-era LeNet: 28 -> conv5 -> 24 -> pool -> 12 -> conv5 -> 8 -> pool -> 4.
    return nn.Sequential(
        Conv2d(1, 10, 5), nn.ReLU(), MaxPool2d(2),
        Conv2d(10, 20, 5), nn.ReLU(), MaxPool2d(2),
        nn.Flatten(), nn.Linear(320, 50), nn.ReLU(), nn.Linear(50, 10),
    )


def cnn() -> nn.Module:
    return nn.Sequential(
        Conv2d(1, 16, 5, padding=2), nn.ReLU(), MaxPool2d(2),
        Conv2d(16, 32, 5, padding=2), nn.ReLU(), MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


def convnet_bn() -> nn.Module:
    return nn.Sequential(
        Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )


def _conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
    return [Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


def digitnet(width: int = 32, blocks: int = 1, head: int = 0) -> nn.Module:
    """Our own: three stages of 3x3 conv-BN-ReLU (widths w, 2w, 4w), each ending in a 2x2 max-pool
    (28 -> 14 -> 7 -> 3), then one linear layer. BatchNorm lets it train at a high learning rate,
    pooling early keeps the FLOPs small, and bias-free convs in channels-last layout map well onto
    oneDNN's fast CPU kernels. `blocks` stacks more convs per stage; `head` > 0 adds one more
    conv-BN-ReLU with that many channels on the final 3x3 map: capacity at little inference cost
    (it runs on 9 positions), which is how the shipped model stays fast in onnxruntime."""
    layers: list[nn.Module] = []
    c_in = 1
    for stage in range(3):
        c_out = width * 2**stage
        for _ in range(blocks):
            layers += _conv_bn(c_in, c_out)
            c_in = c_out
        # Pool, then ReLU: the same numbers and gradients as ReLU then pool (max commutes with the
        # monotone ReLU), with the ReLU on a quarter of the pixels: 10% off the default training step.
        layers.insert(len(layers) - 1, MaxPool2d(2))
    if head:
        layers += _conv_bn(c_in, head)
        c_in = head
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * 3 * 3, 10))


@dataclass(frozen=True)
class ModelSpec:
    name: str
    factory: Callable[..., nn.Module]
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # channels_last: train in channels-last layout, measured per model on two 2-core CPUs. For the
    # training step, under bf16 on an AMD EPYC: 1.3x faster for cnn and lenet, 1.5x for digitnet;
    # in fp32 on an Intel Xeon: 1.1x for cnn, 1.5x for digitnet, even for lenet. convnet-bn's 6-
    # and 16-channel maps are faster in NCHW (1.4x on the EPYC, 2x on the Xeon).
    channels_last: bool = False


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("mlp", mlp, description="784-256-64-10, the classic tutorial MLP"),
        ModelSpec("mlp-deep", mlp_deep, description="784-512-256-256-128-64-10"),
        ModelSpec("lenet", lenet, description="two 5x5 convs, fc 320-50-10 (pytorch/examples era)",
                  channels_last=True),
        ModelSpec("cnn", cnn, description="two 5x5 convs (16, 32) with padding, fc 1568-10", channels_last=True),
        ModelSpec("convnet-bn", convnet_bn, description="two 5x5 convs (6, 16) with BatchNorm, fc 784-10"),
        ModelSpec("digitnet", digitnet, {"width": 32}, "ours: 3 conv-BN stages 32-64-128, the default",
                  channels_last=True),
        ModelSpec("digitnet-s", digitnet, {"width": 16}, "ours, narrow (16-32-64): the speedrun",
                  channels_last=True),
        ModelSpec("digitnet-m", digitnet, {"width": 16, "head": 128},
                  "ours, narrow with a 3x3 conv head: the shipped model", channels_last=True),
    ]
}


def get_spec(name: str) -> ModelSpec:
    from .errors import DigitrecError

    if name not in REGISTRY:
        raise DigitrecError(f"unknown model {name!r}: choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


class RawPixels(nn.Module):
    """Undo MNIST normalisation: maps a normalised batch back to raw pixels in [0, 1]. A model trained
    on raw pixels (some tutorials skip normalisation) starts with this layer, so that every model
    takes the same normalised input and preprocessing, evaluation and export stay one path."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .config import MNIST_MEAN, MNIST_STD

        return x * MNIST_STD + MNIST_MEAN


def build(name: str, raw_pixels: bool = False, **kwargs: Any) -> nn.Module:
    """A freshly initialised model of a registered architecture; `raw_pixels` puts it behind RawPixels."""
    spec = get_spec(name)
    model = spec.factory(**{**spec.kwargs, **kwargs})
    return nn.Sequential(RawPixels(), model) if raw_pixels else model


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_table() -> list[tuple[str, int, str]]:
    """(name, parameter count, description) for every registered model."""
    with torch.device("meta"):  # counts parameters without allocating or initialising them
        return [(s.name, parameter_count(build(s.name)), s.description) for s in REGISTRY.values()]
