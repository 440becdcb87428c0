"""Choosing the device and the numeric precision to train and evaluate on."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .errors import DigitrecError
from .layers import memory_format_of


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as err:
        raise DigitrecError(f"device {name!r} is not usable here ({str(err).splitlines()[0]}); "
                            "use --device auto or cpu") from None
    return device


def cpu_has_bf16() -> bool:
    """AVX-512 BF16 or AMX: the instructions oneDNN's fast bf16 kernels need."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_bf16(precision: str, device: torch.device, model: nn.Module, batch_size: int,
                log: Callable[[str], None] = print) -> bool:
    """Whether to train under bf16 autocast. `auto`: on CUDA with bf16; on CPUs with the bf16
    instructions, only when a few timed training steps of this model say it is faster here."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not cpu_has_bf16():
        return False
    fp32_seconds, bf16_seconds = time_training_steps(model, batch_size)
    # fp32 unless bf16 is clearly faster: near a tie, timing noise must not flip the choice
    # between two runs of the same command.
    bf16 = bf16_seconds < 0.9 * fp32_seconds
    log(f"precision auto: a training step takes {fp32_seconds * 1e3:.1f} ms in fp32, "
        f"{bf16_seconds * 1e3:.1f} ms in bf16 here; using {'bf16' if bf16 else 'fp32'}")
    return bf16


def time_training_steps(model: nn.Module, batch_size: int, rounds: int = 3) -> tuple[float, float]:
    """Seconds of one forward + backward pass of a copy of `model` on a CPU batch, in fp32 and under
    bf16 autocast (the fastest of `rounds`, alternating). The same instructions do not mean the same
    gain: bf16 trained digitnet 1.5x faster than fp32 on an AMD EPYC with AVX-512 BF16, and 1.2x
    slower on an Intel Xeon with AVX-512 BF16 but no AMX, so the choice is measured, not assumed."""
    probe = copy.deepcopy(model).train()
    generator = torch.Generator().manual_seed(0)  # leaves the global RNG, and so the run, untouched
    batch = torch.randn(batch_size, 1, 28, 28, generator=generator).contiguous(memory_format=memory_format_of(model))
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
