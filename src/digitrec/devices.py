"""Which hardware to run on: the CPU cores this process may use, and the torch device.

Counting cores needs no torch (the recogniser and the server count them too); torch is imported
only to resolve a device.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import DigitrecError

if TYPE_CHECKING:
    import torch


def available_cpus() -> int:
    """Cores this process may run on: its affinity mask where the OS has one (a container or
    `taskset` may allow fewer than the machine has), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_device(name: str) -> torch.device:
    """`auto` (cuda, then mps, then cpu) or an explicit device that must work here."""
    import torch

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
        raise DigitrecError(f"--device {name}", f"not usable here ({str(err).splitlines()[0]})",
                            "use --device auto or cpu") from None
    return device
