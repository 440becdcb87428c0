"""The two ways a model runs: an ONNX export in onnxruntime (no torch: 1.6 s less start-up), or a
`.safetensors` checkpoint in torch. Either becomes a Runner: float32 (N, 1, 28, 28) normalised
input -> float32 (N, classes) logits, plus the model's validated metadata.

Model files may come from anywhere: an ONNX model must be a regular file of at most MAX_MODEL_BYTES,
carry valid digitrec metadata, declare that it takes (batch, 1, 28, 28) float32 and gives (batch, 10
or 11) float32, and do so, with finite outputs, on a test batch when it loads: a bad file fails at
start, in one line, not on every request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .devices import available_cpus
from .errors import DigitrecError
from .fileio import read_bounded
from .metadata import METADATA_KEY, classes_of, normalization_of, validate

MAX_METADATA_BYTES = 1 * 2**20  # the JSON of ours is a few KB

Runner = Callable[[np.ndarray], np.ndarray]
ONNX_HINT = "pass a file written by `digitrec export`"


@dataclass(frozen=True)
class Loaded:
    run: Runner
    metadata: dict[str, Any]
    workers: int  # how many runs may go side by side (each on one core), for big batches


def _onnx_error(path: str, problem: str) -> DigitrecError:
    return DigitrecError(path, problem, ONNX_HINT, kind="bad-model")


def _check_io(session: Any, path: str) -> tuple[str, int]:
    """(input name, classes) of a session whose input and output are what a digit model takes and gives."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or not outputs:
        raise _onnx_error(path, f"has {len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1")
    shape_in, shape_out = list(inputs[0].shape), list(outputs[0].shape)
    if inputs[0].type != "tensor(float)" or len(shape_in) != 4 or shape_in[1:] != [1, 28, 28]:
        raise _onnx_error(path, f"takes {inputs[0].type} {shape_in}, expected float (batch, 1, 28, 28)")
    if outputs[0].type != "tensor(float)" or len(shape_out) != 2 or shape_out[1] not in (10, 11):
        raise _onnx_error(path, f"gives {outputs[0].type} {shape_out}, expected float (batch, 10 or 11)")
    return inputs[0].name, int(shape_out[1])


def onnx_runner(path: str, threads: int) -> Loaded:
    """Each run uses one core, and callers run `workers` of them at once: these ops are too small to
    split well across cores. Measured on 2 shared cores, digitnet-m on the MNIST test set: 19k
    images/s as 2 one-core runs at a time, 13k as one run on both cores."""
    import onnxruntime as ort

    from .checkpoints import MAX_MODEL_BYTES, check_model_file

    check_model_file(Path(path))
    # From bytes, not the path: onnxruntime would follow a model's references to "external data"
    # files anywhere (/dev/zero, a FIFO); ours hold everything in the one file.
    blob = read_bounded(Path(path), MAX_MODEL_BYTES, "model file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own unexported exception types
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise _onnx_error(path, f"not a loadable ONNX model ({first})") from None
    input_name, classes = _check_io(session, path)
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if raw is None:
        raise _onnx_error(path, "an ONNX model without digitrec metadata")
    if len(raw) > MAX_METADATA_BYTES:
        raise _onnx_error(path, f"its digitrec metadata is over {MAX_METADATA_BYTES // 2**20} MB")
    try:
        metadata = validate(json.loads(raw), path)
    except (ValueError, RecursionError):  # ValueError: not JSON, or an integer of over 4300 digits
        raise _onnx_error(path, "its digitrec metadata is not valid JSON") from None
    if classes_of(metadata) != classes:
        raise _onnx_error(path, f"gives {classes} outputs, but its metadata describes another model")

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: batch})[0]

    _probe(run, metadata, path)
    return Loaded(run, metadata, threads or available_cpus())


def _probe(run: Runner, metadata: dict[str, Any], path: str) -> None:
    """Run the model on a batch of three blank images: its graph must give (3, classes) finite float32
    logits, whatever its declared shapes say (a fixed batch of 1, a NaN weight)."""
    classes = classes_of(metadata)
    try:
        out = run(normalization_of(metadata).from_uint8(np.zeros((3, 28, 28), np.uint8)))
    except Exception as err:  # onnxruntime raises its own unexported exception types
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise _onnx_error(path, f"fails on a test batch ({first})") from None
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != (3, classes):
        shape = getattr(out, "shape", None)
        raise _onnx_error(path, f"gives {getattr(out, 'dtype', type(out).__name__)} {shape} for a batch of 3, "
                          f"expected float32 (3, {classes})")
    if not np.isfinite(out).all():
        raise _onnx_error(path, "gives NaN or infinite outputs on a blank image")


def torch_runner(path: str, threads: int) -> Loaded:
    """torch spreads each call over its own threads, so one run at a time."""
    import torch

    from .checkpoints import load_model

    if threads:
        torch.set_num_threads(threads)
    model, metadata = load_model(path)

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).float().numpy()

    return Loaded(run, metadata, 1)
