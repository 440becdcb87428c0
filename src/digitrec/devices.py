"""Choosing the device and the numeric precision to train and evaluate on."""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import DigitrecError


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
    """AVX-512 BF16 or AMX: oneDNN then runs bf16 convolutions faster than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(precision: str, device: torch.device, cpu_gain: bool = True) -> bool:
    """Whether to train under bf16 autocast. `auto`: on CUDA with bf16, and on CPUs with AVX-512 BF16
    or AMX when the model trains faster that way there (`cpu_gain`, measured per model)."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_gain and cpu_has_bf16()
