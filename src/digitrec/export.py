"""Export a checkpoint to ONNX, so that it runs in onnxruntime without torch.

`export_onnx(CHECKPOINT, OUT_DIR)` writes OUT_DIR/NAME.onnx, whose `metadata_props` hold the
checkpoint's JSON metadata under the key "digitrec" (exactly the dict `checkpoints.read_metadata`
returns) plus the export check under "digitrec.export", and OUT_DIR/NAME.safetensors, the same
checkpoint with its weights only. The graph maps a float32 (N, 1, 28, 28) normalised batch ("input",
N dynamic) to (N, 10) logits ("logits", the first output), like the torch model, and also outputs
the activations of the layers the insight views show (`probes.py`: one output per ReLU, named like
"conv1", described under "digitrec.layers"), so that `explain` runs on an export without torch.
Before writing, the ONNX model is run in onnxruntime on MNIST test images and must agree with torch,
in its logits and in every activation.
Needs torch, onnx and onnxscript (`pip install 'digitrec[dev]'`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import checkpoints
from .errors import DigitrecError
from .fileio import atomic_write, writable_dir
from .metadata import METADATA_KEY, normalization_of
from .runtimes import LAYERS_KEY

if TYPE_CHECKING:
    import torch

OPSET = 18  # onnxruntime >= 1.14 runs it
TOLERANCE = 1e-3  # largest allowed |logit difference| between torch and onnxruntime
CHECK_IMAGES = 1000  # MNIST test images run through both runtimes


@dataclass(frozen=True)
class ExportResult:
    onnx_path: Path
    checkpoint_path: Path
    max_abs_diff: float  # largest |logit difference| between torch and onnxruntime on the check images
    same_predictions: bool  # whether both runtimes chose the same digit for every check image


def to_onnx_bytes(model: torch.nn.Module, metadata: dict[str, Any]) -> bytes:
    """Serialised ONNX model of `model` (logits first, then each shown layer's activations), with
    `metadata` under the key "digitrec" and the shown layers under "digitrec.layers"."""
    import torch

    from .probes import WithActivations, shown_layers

    try:
        import onnxscript  # noqa: F401  # the exporter needs it; fail early with a clear message
    except ImportError:
        raise DigitrecError(None, "exporting needs the onnx and onnxscript packages",
                            "pip install 'digitrec[dev]'") from None
    example = torch.zeros(2, 1, 28, 28)
    layers = shown_layers(model)
    # The exporter chats on stdout and warns and logs about its own internals (torchvision ops it
    # skips); keep the CLI output clean.
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(WithActivations(model).eval() if layers else model.eval(), (example,),
                                        dynamo=True, opset_version=OPSET, input_names=["input"],
                                        output_names=["logits", *(layer.name for layer in layers)],
                                        dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    finally:
        exporter_log.setLevel(level)
    proto = program.model_proto
    for key, value in ((METADATA_KEY, metadata),
                       (LAYERS_KEY, [{"name": layer.name, "description": layer.description} for layer in layers])):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    return proto.SerializeToString()


def _differences(session: Any, model: torch.nn.Module, batch: np.ndarray) -> tuple[float, float, bool]:
    """How far onnxruntime is from torch on `batch`: (largest |logit difference|, largest |activation
    difference| relative to that activation's largest magnitude (at least 1), whether both chose the
    same digit for every image)."""
    import torch

    from .probes import forward_with_activations

    with torch.inference_mode():
        logits, activations = forward_with_activations(model, torch.from_numpy(batch))
    got = session.run(None, {"input": batch})
    if len(got) != 1 + len(activations):
        return float("inf"), float("inf"), False
    expected = logits.numpy()
    logit_diff = float(np.abs(got[0] - expected).max())
    activation_diff = max((float(np.abs(g - a.numpy()).max()) / max(1.0, float(np.abs(a.numpy()).max()))
                           for g, a in zip(got[1:], activations, strict=True)), default=0.0)
    return logit_diff, activation_diff, bool((got[0].argmax(1) == expected.argmax(1)).all())


def export_onnx(checkpoint: str | Path, out_dir: str | Path, name: str = "model") -> ExportResult:
    """Write OUT_DIR/NAME.onnx and OUT_DIR/NAME.safetensors (weights only) from a checkpoint."""
    import onnx
    import onnxruntime as ort

    from .data import load_split

    model, metadata = checkpoints.load_model(checkpoint)
    blob = to_onnx_bytes(model, metadata)
    batch = normalization_of(metadata).from_uint8(load_split("test")[0][:CHECK_IMAGES])
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    diff, activation_diff, same = _differences(session, model, batch)
    if diff > TOLERANCE or activation_diff > TOLERANCE or not same:
        raise DigitrecError(str(checkpoint), f"the ONNX export disagrees with torch (max |logit difference| "
                            f"{diff:.2e}, relative activation difference {activation_diff:.2e})",
                            "this architecture does not export faithfully: report it", kind="failed")
    proto = onnx.load_from_string(blob)
    entry = proto.metadata_props.add()
    entry.key = METADATA_KEY + ".export"
    entry.value = json.dumps({"opset": OPSET, "check_images": CHECK_IMAGES, "max_abs_logit_diff": diff,
                              "max_rel_activation_diff": activation_diff,
                              "onnxruntime": ort.__version__, "onnx": onnx.__version__})
    out = writable_dir(Path(out_dir), "OUT_DIR")
    onnx_path, weights_path = out / f"{name}.onnx", out / f"{name}{checkpoints.SUFFIX}"
    atomic_write(onnx_path, proto.SerializeToString())
    if Path(checkpoint).resolve() != weights_path.resolve():
        checkpoints.save(weights_path, metadata, model.state_dict())
    for path in (onnx_path, weights_path):
        os.chmod(path, 0o644)  # atomic_write's temporary files are private; these are package data
    return ExportResult(onnx_path, weights_path, diff, same)
