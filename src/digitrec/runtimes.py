"""The two ways a model runs: an ONNX export in onnxruntime (no torch: 1.6 s less start-up), or a
`.safetensors` checkpoint in torch. Either becomes a Runner: float32 (N, 1, 28, 28) normalised
input -> float32 (N, classes) logits, plus the model's validated metadata, plus a Probe that also
returns the activations of the layers the insight views show (`probes.py` chooses them).

Model files may come from anywhere: an ONNX model must be a regular file of at most MAX_MODEL_BYTES,
carry valid digitrec metadata, declare that it takes (batch, 1, 28, 28) float32 and gives (batch, 10
or 11) float32 as its first output, and do so, with finite outputs, on a test batch when it loads: a
bad file fails at start, in one line, not on every request. Further outputs are layer activations,
(batch, channels, height, width) or (batch, units) float32, written by `digitrec export`;
predictions ask onnxruntime for the logits alone, so they cost nothing there.
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
# Normalised input (N, 1, 28, 28) -> (logits (N, classes), one activation array (N, ...) per shown layer)
Probe = Callable[[np.ndarray], tuple[np.ndarray, list[np.ndarray]]]
ONNX_HINT = "pass a file written by `digitrec export`"
LAYERS_KEY = METADATA_KEY + ".layers"  # ONNX metadata_props key: JSON list of {"name", "description"}
MAX_DESCRIPTION = 200  # characters of a layer's description kept from a model file


@dataclass(frozen=True)
class LayerInfo:
    """One layer whose activations the insight views show: a ReLU's output, named after the
    convolution ("conv2") or fully connected layer ("fc1") it follows."""

    name: str
    description: str  # what computes it, e.g. "3x3 conv, 32 filters, batch norm, 2x2 max-pool, ReLU"
    shape: tuple[int, ...]  # per image: (channels, height, width) or (units,)


@dataclass(frozen=True)
class Loaded:
    run: Runner
    metadata: dict[str, Any]
    workers: int  # how many runs may go side by side (each on one core), for big batches
    probe: Probe | None = None  # None: the model file has no activation outputs (an older export)
    layers: tuple[LayerInfo, ...] = ()  # what the probe's activations are, in order


def _onnx_error(path: str, problem: str) -> DigitrecError:
    return DigitrecError(path, problem, ONNX_HINT, kind="bad-model")


def _check_io(session: Any, path: str) -> tuple[str, int]:
    """(input name, classes) of a session whose input and first output are what a digit model takes and gives."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or not outputs:
        raise _onnx_error(path, f"has {len(inputs)} inputs and {len(outputs)} outputs, expected 1 and at least 1")
    shape_in, shape_out = list(inputs[0].shape), list(outputs[0].shape)
    if inputs[0].type != "tensor(float)" or len(shape_in) != 4 or shape_in[1:] != [1, 28, 28]:
        raise _onnx_error(path, f"takes {inputs[0].type} {shape_in}, expected float (batch, 1, 28, 28)")
    if outputs[0].type != "tensor(float)" or len(shape_out) != 2 or shape_out[1] not in (10, 11):
        raise _onnx_error(path, f"gives {outputs[0].type} {shape_out}, expected float (batch, 10 or 11)")
    return inputs[0].name, int(shape_out[1])


def _activation_outputs(session: Any, path: str, described: Any) -> tuple[LayerInfo, ...]:
    """The outputs after the logits, each checked to be a float activation of fixed size per image.
    `described`: the file's {"name", "description"} list (descriptions are optional)."""
    notes = {d["name"]: d["description"][:MAX_DESCRIPTION] for d in described
             if isinstance(d, dict) and isinstance(d.get("name"), str) and isinstance(d.get("description"), str)} \
        if isinstance(described, list) else {}
    layers = []
    for output in session.get_outputs()[1:]:
        dims = list(output.shape)[1:]
        if output.type != "tensor(float)" or len(dims) not in (1, 3) or \
                not all(isinstance(d, int) and 0 < d <= 4096 for d in dims):
            raise _onnx_error(path, f"output {output.name!r} gives {output.type} {list(output.shape)}, expected float "
                              "activations (batch, channels, height, width) or (batch, units)")
        layers.append(LayerInfo(output.name, notes.get(output.name, ""), tuple(dims)))
    return tuple(layers)


def _load_session(path: str) -> Any:
    import onnxruntime as ort

    from .checkpoints import MAX_MODEL_BYTES, check_model_file

    check_model_file(Path(path))
    # From bytes, not the path: onnxruntime would follow a model's references to "external data"
    # files anywhere (/dev/zero, a FIFO); ours hold everything in the one file.
    blob = read_bounded(Path(path), MAX_MODEL_BYTES, "model file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    try:
        return ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own unexported exception types
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise _onnx_error(path, f"not a loadable ONNX model ({first})") from None


def _json_prop(session: Any, key: str, path: str) -> Any:
    raw = session.get_modelmeta().custom_metadata_map.get(key)
    if raw is None:
        return None
    if len(raw) > MAX_METADATA_BYTES:
        raise _onnx_error(path, f"its {key} metadata is over {MAX_METADATA_BYTES // 2**20} MB")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # ValueError: not JSON, or an integer of over 4300 digits
        raise _onnx_error(path, f"its {key} metadata is not valid JSON") from None


def onnx_runner(path: str, threads: int) -> Loaded:
    """Each run uses one core, and callers run `workers` of them at once: these ops are too small to
    split well across cores. Measured on 2 shared cores, digitnet-m on the MNIST test set: 19k
    images/s as 2 one-core runs at a time, 13k as one run on both cores."""
    session = _load_session(path)
    input_name, classes = _check_io(session, path)
    raw = _json_prop(session, METADATA_KEY, path)
    if raw is None:
        raise _onnx_error(path, "an ONNX model without digitrec metadata")
    metadata = validate(raw, path)
    if classes_of(metadata) != classes:
        raise _onnx_error(path, f"gives {classes} outputs, but its metadata describes another model")
    layers = _activation_outputs(session, path, _json_prop(session, LAYERS_KEY, path))
    logits_only = [session.get_outputs()[0].name]

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(logits_only, {input_name: batch})[0]

    def probe(batch: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        logits, *activations = session.run(None, {input_name: batch})
        return logits, activations

    _probe(run, metadata, path)
    return Loaded(run, metadata, threads or available_cpus(), probe if layers else None, layers)


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
    from .probes import forward_with_activations, shown_layers

    if threads:
        torch.set_num_threads(threads)
    model, metadata = load_model(path)
    layers = shown_layers(model)

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).float().numpy()

    def probe(batch: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        with torch.inference_mode():
            logits, activations = forward_with_activations(model, torch.from_numpy(batch))
        return logits.float().numpy(), [a.float().numpy() for a in activations]

    return Loaded(run, metadata, 1, probe if layers else None, layers)
