"""Export a checkpoint to ONNX, so that it runs in onnxruntime without torch.

`export_onnx(CHECKPOINT, OUT_DIR)` writes OUT_DIR/NAME.onnx, whose `metadata_props` hold the
checkpoint's JSON metadata under the key "digitrec" (exactly the dict `checkpoints.read_metadata`
returns) plus the export check under "digitrec.export", and OUT_DIR/NAME.safetensors, the same
checkpoint with its weights only. The graph maps a float32 (N, 1, 28, 28) normalised batch ("input",
N dynamic) to (N, 10) logits ("logits"), like the torch model. Before writing, the ONNX model is run
in onnxruntime on MNIST test images and must agree with torch.
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
    """Serialised ONNX model of `model`, with `metadata` under the key "digitrec"."""
    import torch

    try:
        import onnxscript  # noqa: F401  # the exporter needs it; fail early with a clear message
    except ImportError:
        raise DigitrecError(None, "exporting needs the onnx and onnxscript packages",
                            "pip install 'digitrec[dev]'") from None
    example = torch.zeros(2, 1, 28, 28)
    # The exporter chats on stdout and warns and logs about its own internals (torchvision ops it
    # skips); keep the CLI output clean.
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model.eval(), (example,), dynamo=True, opset_version=OPSET,
                                        input_names=["input"], output_names=["logits"],
                                        dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    finally:
        exporter_log.setLevel(level)
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    return proto.SerializeToString()


def export_onnx(checkpoint: str | Path, out_dir: str | Path, name: str = "model") -> ExportResult:
    """Write OUT_DIR/NAME.onnx and OUT_DIR/NAME.safetensors (weights only) from a checkpoint."""
    import onnx
    import onnxruntime as ort
    import torch

    from .data import load_split

    model, metadata = checkpoints.load_model(checkpoint)
    blob = to_onnx_bytes(model, metadata)
    batch = normalization_of(metadata).from_uint8(load_split("test")[0][:CHECK_IMAGES])
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": batch})[0]
    diff = float(np.abs(got - expected).max())
    same = bool((got.argmax(1) == expected.argmax(1)).all())
    if diff > TOLERANCE or not same:
        raise DigitrecError(str(checkpoint), f"the ONNX export disagrees with torch (max |logit difference| "
                            f"{diff:.2e})", "this architecture does not export faithfully: report it", kind="failed")
    proto = onnx.load_from_string(blob)
    entry = proto.metadata_props.add()
    entry.key = METADATA_KEY + ".export"
    entry.value = json.dumps({"opset": OPSET, "check_images": CHECK_IMAGES, "max_abs_logit_diff": diff,
                              "onnxruntime": ort.__version__, "onnx": onnx.__version__})
    out = writable_dir(Path(out_dir), "OUT_DIR")
    onnx_path, weights_path = out / f"{name}.onnx", out / f"{name}{checkpoints.SUFFIX}"
    atomic_write(onnx_path, proto.SerializeToString())
    if Path(checkpoint).resolve() != weights_path.resolve():
        checkpoints.save(weights_path, metadata, model.state_dict())
    for path in (onnx_path, weights_path):
        os.chmod(path, 0o644)  # atomic_write's temporary files are private; these are package data
    return ExportResult(onnx_path, weights_path, diff, same)
