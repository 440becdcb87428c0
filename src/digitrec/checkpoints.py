"""Self-describing checkpoints: one safetensors file holding the weights and, in its header, the JSON
metadata of `metadata.py`.

Loading never unpickles anything, reads only regular files of at most MAX_MODEL_BYTES, validates the
metadata, and compares the weights' names, shapes and dtypes in the header with the architecture
(built on torch's meta device, which allocates nothing, and of at most MAX_PARAMETERS) before a byte
of weights is read; the model is then run once on a blank input, so weights that overflow to NaN
fail at load. Saving is atomic (temporary file, fsync, rename), so a process killed at any moment
leaves the previous checkpoint intact. Reading the metadata needs no torch.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DigitrecError
from .fileio import atomic_write, check_regular_file
from .metadata import METADATA_KEY, validate

if TYPE_CHECKING:
    import torch

SUFFIX = ".safetensors"
MODEL_PREFIX = "model."
OPTIMIZER_PREFIX = "optimizer."
# Ours hold a few KB of tensor index and metadata; safetensors itself allows 100 MB, whose JSON
# would take a gigabyte as Python objects.
MAX_HEADER_BYTES = 4 * 2**20
# The largest registered model (mlp-deep) has 0.6 M parameters; the argument ranges of architectures.py
# allow 112 M (426 MB). A checkpoint holds the weights and up to two optimizer moments per weight.
MAX_PARAMETERS = 20_000_000
MAX_MODEL_BYTES = 16 * MAX_PARAMETERS
HINT = "pass a .safetensors file written by `digitrec train`"
# The file's dtype names of the dtypes our models' state dicts hold.
_DTYPES = {"float32": "F32", "int64": "I64"}


def shipped_checkpoint() -> Path:
    """The pretrained model that ships inside the package (its ONNX export lies beside it)."""
    from importlib import resources

    return Path(str(resources.files("digitrec") / "assets" / "model" / "model.safetensors"))


def save(path: str | Path, metadata: dict[str, Any], model_state: dict[str, torch.Tensor],
         optimizer_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Save weights (and optionally flattened optimizer state, for resuming) atomically."""
    from safetensors.torch import save as save_bytes

    tensors = {MODEL_PREFIX + k: v.detach().cpu().contiguous() for k, v in model_state.items()}
    for k, v in (optimizer_state or {}).items():
        tensors[OPTIMIZER_PREFIX + k] = v.detach().cpu().contiguous()
    path = Path(path)
    atomic_write(path, save_bytes(tensors, metadata={METADATA_KEY: json.dumps(metadata)}))
    return path


def read_header(path: str | Path) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """(validated metadata, {tensor name: (dtype, shape)}) from the safetensors header alone (no torch)."""
    path = Path(path)
    size = check_model_file(path)
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise DigitrecError(str(path), "too short to be a digitrec checkpoint", HINT, kind="bad-model")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > MAX_HEADER_BYTES or header_len > size:
                raise DigitrecError(str(path), "not a safetensors file", HINT, kind="bad-model")
            header = json.loads(f.read(header_len))
    except OSError as err:
        raise DigitrecError(str(path), f"cannot be read ({err.strerror})", "check the file",
                            kind="unreadable") from None
    except (ValueError, RecursionError):  # ValueError: not JSON, not UTF-8, an integer of over 4300 digits
        raise DigitrecError(str(path), "not a safetensors file", HINT, kind="bad-model") from None
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    try:
        metadata = json.loads(meta[METADATA_KEY])
    except (KeyError, TypeError, ValueError, RecursionError):
        raise DigitrecError(str(path), "a safetensors file without digitrec metadata", HINT, kind="bad-model") from None
    shapes = {name: (entry.get("dtype"), entry.get("shape")) for name, entry in header.items()
              if name != "__metadata__" and isinstance(entry, dict)}
    return validate(metadata, str(path)), shapes


def check_model_file(path: Path) -> int:
    """The size of a model file, or a one-line error unless it is a regular file of at most MAX_MODEL_BYTES."""
    size = check_regular_file(path, "model file").st_size
    if size > MAX_MODEL_BYTES:
        raise DigitrecError(str(path), f"is {size / 2**20:.0f} MB, more than any digitrec model "
                            f"({MAX_MODEL_BYTES // 2**20} MB at most)", HINT, kind="bad-model")
    return size


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The validated JSON metadata of a checkpoint (no torch)."""
    return read_header(path)[0]


def load(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(metadata, model state, optimizer state) of a checkpoint, as CPU tensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    metadata, _ = read_header(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise DigitrecError(str(path), f"unreadable safetensors data ({str(err).splitlines()[0]})", HINT,
                            kind="bad-model") from None
    model = {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    optim = {k[len(OPTIMIZER_PREFIX):]: v for k, v in tensors.items() if k.startswith(OPTIMIZER_PREFIX)}
    return metadata, model, optim


def _check_shapes(path: Path, name: str, kwargs: dict[str, Any], shapes: dict[str, Any]) -> None:
    """The architecture's state dict (built on the meta device: no memory) against the file's tensors:
    the same names, shapes and dtypes, and no more than MAX_PARAMETERS."""
    import torch

    from . import models

    with torch.device("meta"):
        state = models.build(name, **kwargs).state_dict()
    count = sum(v.numel() for v in state.values())
    if count > MAX_PARAMETERS:
        raise DigitrecError(str(path), f"describes a model of {count:,d} parameters, more than any digitrec "
                            f"model ({MAX_PARAMETERS:,d} at most)", HINT, kind="bad-model")
    expected = {MODEL_PREFIX + k: (_DTYPES.get(str(v.dtype).removeprefix("torch.")), list(v.shape))
                for k, v in state.items()}
    got = {k: v for k, v in shapes.items() if k.startswith(MODEL_PREFIX)}
    if expected != got:
        differing = sorted(set(expected) ^ set(got)) or [k for k in expected if expected[k] != got[k]]
        raise DigitrecError(str(path), f"weights do not fit model {name!r} (first difference: "
                            f"{differing[0][len(MODEL_PREFIX):]})", HINT, kind="bad-model")


def load_model(path: str | Path, device: Any = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint describes, with its weights, in eval mode, in stock torch layers."""
    import torch

    from . import models

    path = Path(path)
    metadata, shapes = read_header(path)
    name, kwargs = metadata["model"]["name"], metadata["model"]["kwargs"]
    _check_shapes(path, name, kwargs, shapes)
    _, state, _ = load(path)
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise DigitrecError(str(path), "its weights contain NaN or infinity", "retrain or re-export the model",
                            kind="bad-model")
    model = models.build(name, **kwargs)
    model.load_state_dict(state)
    model = model.to(device).eval()
    _probe(model, path, metadata)
    return model, metadata


def update_metadata(path: str | Path, changes: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a checkpoint with some metadata fields replaced (a new calibration, say), atomically,
    its weights and optimizer state untouched. Returns the new metadata, validated."""
    metadata, model, optimizer = load(path)
    metadata = validate({**metadata, **changes}, str(path))
    save(path, metadata, model, optimizer or None)
    return metadata


def _probe(model: torch.nn.Module, path: Path, metadata: dict[str, Any]) -> None:
    """Run the model on two blank inputs: finite weights can still overflow to NaN or infinity."""
    import numpy as np
    import torch

    from .metadata import classes_of, normalization_of

    x = torch.from_numpy(normalization_of(metadata).from_uint8(np.zeros((2, 28, 28), np.uint8)))
    with torch.inference_mode():
        out = model(x.to(next(model.parameters()).device))
    if out.shape != (2, classes_of(metadata)) or not torch.isfinite(out).all():
        raise DigitrecError(str(path), "gives NaN or infinite outputs on a blank image", "retrain the model",
                            kind="bad-model")
