"""Which layers of a torch model the insight views show, and how their activations are read.

A shown layer is the output of each ReLU: the feature maps of a convolutional stage, or the hidden
units of a fully connected layer. It is named after the weighted layer it follows ("conv2", "fc1")
and described by every layer since the previous ReLU ("3x3 conv, 32 filters, batch norm, 2x2
max-pool, ReLU"). Every registered architecture is an nn.Sequential, so the activations come from
walking it, layer by layer: no hooks, so concurrent calls cannot mix their activations.
`WithActivations` is the same walk as a module, for the ONNX export (export.py).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.utils import _pair

from .runtimes import LayerInfo


def forward_with_activations(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(logits, each ReLU's output) of a Sequential model; the logits are model(x)'s. Any other
    model gives its logits and no activations."""
    if not isinstance(model, nn.Sequential):
        return model(x), []
    activations = []
    for layer in model:
        x = layer(x)
        if isinstance(layer, nn.ReLU):
            activations.append(x)
    return x, activations


class WithActivations(nn.Module):
    """`model`, returning (logits, *activations): the graph `digitrec export` writes."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits, activations = forward_with_activations(self.model, x)
        return (logits, *activations)


def _size(value: int | tuple[int, ...]) -> str:
    return "x".join(map(str, _pair(value)))


def _describe(layer: nn.Module) -> str | None:
    if isinstance(layer, nn.Conv2d):
        return f"{_size(layer.kernel_size)} conv, {layer.out_channels} filters"
    if isinstance(layer, nn.Linear):
        return f"fully connected, {layer.out_features} units"
    if isinstance(layer, nn.BatchNorm2d):
        return "batch norm"
    if isinstance(layer, nn.MaxPool2d):
        return f"{_size(layer.kernel_size)} max-pool"
    if isinstance(layer, nn.ReLU):
        return "ReLU"
    return None  # Flatten: nothing a learner needs to see


def shown_layers(model: nn.Module) -> tuple[LayerInfo, ...]:
    """The layers whose activations forward_with_activations returns; () for a model that is not an
    nn.Sequential."""
    if not isinstance(model, nn.Sequential):
        return ()
    device = next(model.parameters()).device
    with torch.inference_mode():
        _, activations = forward_with_activations(model, torch.zeros(1, 1, 28, 28, device=device))
    layers, parts, convs, dense, last = [], [], 0, 0, ""
    for layer in model:
        if isinstance(layer, nn.Conv2d):
            convs, last = convs + 1, f"conv{convs + 1}"
        elif isinstance(layer, nn.Linear):
            dense, last = dense + 1, f"fc{dense + 1}"
        text = _describe(layer)
        parts += [text] if text else []
        if isinstance(layer, nn.ReLU):
            shape = tuple(activations[len(layers)].shape[1:])
            layers.append(LayerInfo(last, ", ".join(parts), shape))
            parts = []
    return tuple(layers)
