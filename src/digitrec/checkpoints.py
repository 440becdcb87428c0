"""Self-describing checkpoints: one safetensors file holding the weights and, in its header, JSON
metadata (architecture and its kwargs, normalisation, training config, metrics, versions, date).

Loading never unpickles anything. Saving is atomic (temporary file, fsync, rename), so a process
killed at any moment leaves the previous checkpoint intact. Reading the metadata needs no torch.
"""

from __future__ import annotations

import datetime
import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import MNIST_MEAN, MNIST_STD
from .errors import DigitrecError
from .fileio import atomic_write

if TYPE_CHECKING:
    import torch

FORMAT = "digitrec-checkpoint/1"
SUFFIX = ".safetensors"
MODEL_PREFIX = "model."
OPTIMIZER_PREFIX = "optimizer."


def shipped_checkpoint() -> Path:
    """The pretrained model that ships inside the package (its ONNX export lies beside it)."""
    from importlib import resources

    return Path(str(resources.files("digitrec") / "assets" / "model" / "model.safetensors"))


def versions() -> dict[str, str]:
    import platform

    import torch

    from . import __version__

    return {"digitrec": __version__, "torch": torch.__version__, "python": platform.python_version()}


def build_metadata(model_name: str, model_kwargs: dict[str, Any], config: dict[str, Any],
                   metrics: dict[str, Any], epoch: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "model": {"name": model_name, "kwargs": model_kwargs},
        "input": {"size": [28, 28], "polarity": "white digit on black",
                  "normalization": {"mean": MNIST_MEAN, "std": MNIST_STD}},
        "config": config,
        "metrics": metrics,
        "epoch": epoch,
        "versions": versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def save(path: str | Path, metadata: dict[str, Any], model_state: dict[str, torch.Tensor],
         optimizer_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Save weights (and optionally flattened optimizer state, for resuming) atomically."""
    from safetensors.torch import save as save_bytes

    tensors = {MODEL_PREFIX + k: v.detach().cpu().contiguous() for k, v in model_state.items()}
    for k, v in (optimizer_state or {}).items():
        tensors[OPTIMIZER_PREFIX + k] = v.detach().cpu().contiguous()
    path = Path(path)
    atomic_write(path, save_bytes(tensors, metadata={"digitrec": json.dumps(metadata)}))
    return path


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, read from the safetensors header alone (no torch)."""
    path = Path(path)
    hint = "pass a .safetensors file written by `digitrec train`"
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise DigitrecError(f"{path}: too short to be a digitrec checkpoint; {hint}")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > 100_000_000 or header_len > path.stat().st_size:
                raise DigitrecError(f"{path}: not a safetensors file; {hint}")
            header = json.loads(f.read(header_len))
    except FileNotFoundError:
        raise DigitrecError(f"{path}: no such file; {hint}") from None
    except IsADirectoryError:
        raise DigitrecError(f"{path}: is a folder; {hint}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DigitrecError(f"{path}: not a safetensors file; {hint}") from None
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    try:
        metadata = json.loads(meta["digitrec"])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise DigitrecError(f"{path}: a safetensors file without digitrec metadata; {hint}") from None
    if metadata.get("format") != FORMAT:
        raise DigitrecError(f"{path}: checkpoint format {metadata.get('format')!r}, expected {FORMAT!r}")
    return metadata


def load(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(metadata, model state, optimizer state) of a checkpoint, as CPU tensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    metadata = read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise DigitrecError(f"{path}: unreadable safetensors data ({err})") from None
    model = {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    optim = {k[len(OPTIMIZER_PREFIX):]: v for k, v in tensors.items() if k.startswith(OPTIMIZER_PREFIX)}
    return metadata, model, optim


def load_model(path: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint describes, with its weights, in eval mode."""
    from . import models

    metadata, state, _ = load(path)
    model = models.build(metadata["model"]["name"], **metadata["model"]["kwargs"])
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise DigitrecError(f"{path}: weights do not fit model {metadata['model']['name']!r} ({first})") from None
    return model.to(device).eval(), metadata
