"""Every CPU speed trick of training, behind one door: faster layers, the precision, the layout.

`accelerate(model, spec, device)` prepares a stock model from `models.py` for training: it moves it
to the device in the layout it trains fastest in, and on CPUs swaps two layer classes for subclasses
that compute exactly what their parents compute (same parameters, same state-dict keys, same values
and gradients, as tests check against torch). Checkpoints, evaluation and ONNX export therefore see
plain torch layers. `choose_bf16` decides the precision. Why each trick exists, measured on 2-core
machines with torch 2.13:

- max_pool2d on contiguous (NCHW) tensors: its forward took 1.4 ms for a (100, 6, 28, 28) batch on
  an AMD EPYC, where three elementwise maxima of each window's four strided views take a tenth of
  that. FastMaxPool2d computes the 2x2 forward that way, with the same indices, and hands them to
  max_pool2d's own backward: forward plus backward in 0.66 ms instead of 1.55 ms.
- bf16 convolutions whose output channels are not a multiple of 16: oneDNN blocks channels by 16,
  and the backward of convnet-bn's first conv (1 -> 6, 5x5, batch 100) took 5.7 ms in bf16 against
  0.43 ms in fp32. FastConv2d runs such convolutions in fp32 under CPU autocast.
- bf16 autocast itself: digitnet trained 1.5x faster in bf16 on an AMD EPYC with AVX-512 BF16, and
  1.2x slower on an Intel Xeon with AVX-512 BF16 but no AMX, so `auto` times both here.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from .architectures import ModelSpec
from .models import torch_memory_format

BF16_CHANNEL_BLOCK = 16  # oneDNN's bf16 convolutions are fast only for multiples of this


class FastConv2d(nn.Conv2d):
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


class FastMaxPool2d(nn.MaxPool2d):
    """nn.MaxPool2d; 2x2 pooling of contiguous CPU tensors in training takes the fast path above.
    (Channels-last tensors have a fast kernel of their own; evaluation takes torch's.)"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.training and x.device.type == "cpu" and x.dim() == 4 and x.is_contiguous()
                and self._is_plain_2x2() and torch.is_grad_enabled()):
            return _MaxPool2x2.apply(x)
        return super().forward(x)

    def _is_plain_2x2(self) -> bool:
        return (_pair(self.kernel_size) == _pair(self.stride) == (2, 2) and _pair(self.padding) == (0, 0)
                and _pair(self.dilation) == (1, 1) and not self.ceil_mode and not self.return_indices)


_FAST = {nn.Conv2d: FastConv2d, nn.MaxPool2d: FastMaxPool2d}


def accelerate(model: nn.Module, spec: ModelSpec, device: torch.device) -> nn.Module:
    """`model` on `device` in `spec`'s memory format, with the fast CPU layers swapped in place."""
    if device.type == "cpu":
        for module in model.modules():
            fast = _FAST.get(type(module))
            if fast is not None:
                module.__class__ = fast  # a subclass adding no state: parameters and keys unchanged
    return model.to(device, memory_format=torch_memory_format(spec))


def cpu_has_bf16() -> bool:
    """AVX-512 BF16 or AMX: the instructions oneDNN's fast bf16 kernels need."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_bf16(precision: str, device: torch.device, model: nn.Module, spec: ModelSpec, batch_size: int,
                log: Callable[[str], None] = print) -> bool:
    """Whether to train under bf16 autocast. `auto`: on CUDA with bf16; on CPUs with the bf16
    instructions, only when a few timed training steps of this model say it is faster here."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not cpu_has_bf16():
        return False
    fp32_seconds, bf16_seconds = time_training_steps(model, spec, batch_size)
    # fp32 unless bf16 is clearly faster: near a tie, timing noise must not flip the choice
    # between two runs of the same command.
    bf16 = bf16_seconds < 0.9 * fp32_seconds
    log(f"precision auto: a training step takes {fp32_seconds * 1e3:.1f} ms in fp32, "
        f"{bf16_seconds * 1e3:.1f} ms in bf16 here; using {'bf16' if bf16 else 'fp32'}")
    return bf16


def time_training_steps(model: nn.Module, spec: ModelSpec, batch_size: int, rounds: int = 3) -> tuple[float, float]:
    """Seconds of one forward + backward pass of a copy of `model` on a CPU batch, in fp32 and under
    bf16 autocast (the fastest of `rounds`, alternating)."""
    probe = copy.deepcopy(model).train()
    generator = torch.Generator().manual_seed(0)  # leaves the global RNG, and so the run, untouched
    batch = torch.randn(batch_size, 1, 28, 28, generator=generator).contiguous(memory_format=torch_memory_format(spec))
    target = torch.randint(0, 10, (batch_size,), generator=generator)
    best = {False: math.inf, True: math.inf}
    warmup_rounds = 2  # build the kernels and warm the allocator
    for round_ in range(warmup_rounds + rounds):
        for bf16 in (False, True):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(probe(batch).float(), target)
            loss.backward()
            probe.zero_grad(set_to_none=True)
            if round_ >= warmup_rounds:
                best[bf16] = min(best[bf16], time.perf_counter() - start)
    return best[False], best[True]
