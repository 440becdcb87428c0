"""Drop-in replacements for nn.Conv2d and nn.MaxPool2d that train faster on CPUs.

Both compute exactly what their torch parents compute and keep their parameters and state-dict keys,
so checkpoints, evaluation and ONNX export see plain conv and pooling layers. They only route around
two slow CPU kernels, measured on a 2-core AMD EPYC (AVX-512 BF16) with torch 2.13:

- max_pool2d on contiguous (NCHW) tensors: its forward took 1.4 ms for a (100, 6, 28, 28) batch,
  where three elementwise maxima of each window's four strided views take a tenth of that.
  MaxPool2d computes the 2x2 forward that way, with the same indices, and hands them to
  max_pool2d's own backward: forward plus backward in 0.66 ms instead of 1.55 ms.
- bf16 convolutions whose output channels are not a multiple of 16: oneDNN blocks channels by 16,
  and the backward of convnet-bn's first conv (1 -> 6, 5x5, batch 100) took 5.7 ms in bf16 against
  0.43 ms in fp32. Conv2d runs such convolutions in fp32 under CPU autocast.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.modules.utils import _pair

BF16_CHANNEL_BLOCK = 16  # oneDNN's bf16 convolutions are fast only for multiples of this


class Conv2d(nn.Conv2d):
    """nn.Conv2d, run in fp32 under CPU bf16 autocast unless its output channels are a multiple of 16."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.out_channels % BF16_CHANNEL_BLOCK and x.device.type == "cpu"
                and torch.is_autocast_enabled("cpu")):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)


class _MaxPool2x2(torch.autograd.Function):
    """2x2 max pooling with stride 2 of an NCHW tensor, floor mode, as max_pool2d computes it."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        h, w = height // 2 * 2, width // 2 * 2  # floor mode: an odd last row or column is dropped
        a, b = x[..., 0:h:2, 0:w:2], x[..., 0:h:2, 1:w:2]  # each (N, C, h/2, w/2): window corners
        c, d = x[..., 1:h:2, 0:w:2], x[..., 1:h:2, 1:w:2]
        top, bottom = torch.maximum(a, b), torch.maximum(c, d)
        # Where each window's maximum sits, in max_pool2d's flat H*W indices; ties go to the first
        # of the window in row-major order, as max_pool2d does, so the gradients are identical.
        down = bottom > top
        right = (down & (d > c)) | (~down & (b > a))
        corner = (torch.arange(0, h, 2, device=x.device)[:, None] * width
                  + torch.arange(0, w, 2, device=x.device))
        indices = torch.add(right.long(), down.long(), alpha=width).add_(corner)
        ctx.save_for_backward(x, indices)
        return torch.maximum(top, bottom)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        x, indices = ctx.saved_tensors
        return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, [2, 2], [2, 2], [0, 0], [1, 1],
                                                               False, indices)


class MaxPool2d(nn.MaxPool2d):
    """nn.MaxPool2d; 2x2 pooling of contiguous CPU tensors in training takes the fast path above.
    (Channels-last tensors have a fast kernel of their own; evaluation and export take torch's.)"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.training and x.device.type == "cpu" and x.dim() == 4 and x.is_contiguous()
                and self._is_plain_2x2() and torch.is_grad_enabled()):
            return _MaxPool2x2.apply(x)
        return super().forward(x)

    def _is_plain_2x2(self) -> bool:
        return (_pair(self.kernel_size) == _pair(self.stride) == (2, 2) and _pair(self.padding) == (0, 0)
                and _pair(self.dilation) == (1, 1) and not self.ceil_mode and not self.return_indices)


def memory_format_of(model: nn.Module) -> torch.memory_format:
    """The layout a model's inputs should have: channels-last if its conv weights are (a weight with
    one input channel is both layouts at once, so any conv weight that is only channels-last tells)."""
    for p in model.parameters():
        if p.dim() == 4 and not p.is_contiguous() and p.is_contiguous(memory_format=torch.channels_last):
            return torch.channels_last
    return torch.contiguous_format
