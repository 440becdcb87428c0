"""The architectures in stock torch layers, readable as the tutorials they reproduce.

Every model maps a (N, 1, 28, 28) normalised batch to (N, classes) logits: 10 digits, and with
classes=11 an 11th logit for "not a digit". A model is rebuilt from its registry name and keyword
arguments alone (`build(name, **kwargs)`), as checkpoints store them; the registry itself is data in
`architectures.py`. Speed tricks live in `speedups.py`, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .architectures import REGISTRY, ModelSpec, check_kwargs, get_spec

__all__ = ["REGISTRY", "ModelSpec", "build", "check_kwargs", "get_spec", "model_table", "parameter_count",
           "torch_memory_format"]

DIGITS = 10
CLASSES = (10, 11)  # the digits, or the digits and "not a digit"


def _mlp(*sizes: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))  # logits: no ReLU after the last layer
    return nn.Sequential(*layers)


def mlp(classes: int = DIGITS) -> nn.Module:
    return _mlp(784, 256, 64, classes)


def mlp_deep(classes: int = DIGITS) -> nn.Module:
    return _mlp(784, 512, 256, 256, 128, 64, classes)


def lenet(classes: int = DIGITS) -> nn.Module:
    # The classic pytorch/examples-era LeNet: 28 -> conv5 -> 24 -> pool -> 12 -> conv5 -> 8 -> pool -> 4.
    return nn.Sequential(
        nn.Conv2d(1, 10, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(10, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(320, 50), nn.ReLU(), nn.Linear(50, classes),
    )


def cnn(classes: int = DIGITS) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, classes),
    )


def convnet_bn(classes: int = DIGITS) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, classes),
    )


def _conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


def digitnet(width: int = 32, blocks: int = 1, head: int = 0, classes: int = DIGITS) -> nn.Module:
    """Our own: three stages of 3x3 conv-BN-ReLU (widths w, 2w, 4w), each ending in a 2x2 max-pool
    (28 -> 14 -> 7 -> 3), then one linear layer. BatchNorm lets it train at a high learning rate,
    and pooling early keeps the FLOPs small. `blocks` stacks more convs per stage; `head` > 0 adds
    one more conv-BN-ReLU with that many channels on the final 3x3 map: capacity at little inference
    cost (it runs on 9 positions), which is how the shipped model stays fast in onnxruntime."""
    layers: list[nn.Module] = []
    c_in = 1
    for stage in range(3):
        c_out = width * 2**stage
        for _ in range(blocks):
            layers += _conv_bn(c_in, c_out)
            c_in = c_out
        # Pool, then ReLU: the same numbers and gradients as ReLU then pool (max commutes with the
        # monotone ReLU), with the ReLU on a quarter of the pixels: 10% off the default training step.
        layers.insert(len(layers) - 1, nn.MaxPool2d(2))
    if head:
        layers += _conv_bn(c_in, head)
        c_in = head
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * 3 * 3, classes))


FACTORIES: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp, "mlp_deep": mlp_deep, "lenet": lenet, "cnn": cnn, "convnet_bn": convnet_bn, "digitnet": digitnet,
}


def torch_memory_format(spec: ModelSpec) -> torch.memory_format:
    return torch.channels_last if spec.memory_format == "channels_last" else torch.contiguous_format


def build(name: str, **kwargs: Any) -> nn.Module:
    """A freshly initialised model of a registered architecture."""
    return FACTORIES[get_spec(name).factory](**check_kwargs(name, kwargs))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_table() -> list[tuple[str, int, str]]:
    """(name, parameter count, description) for every registered model."""
    with torch.device("meta"):  # counts parameters without allocating or initialising them
        return [(s.name, parameter_count(build(s.name)), s.description) for s in REGISTRY.values()]
