"""What a model file says about itself, and the schema every such claim is checked against.

A checkpoint's (or ONNX export's) JSON metadata names the architecture and its arguments, the input
normalisation, the calibration, the training config and its metrics. It is enough to rebuild the
model, its preprocessing and its calibrated probabilities. Model files may come from anywhere, so
every field is validated before anything is built from it: types, known keys, names, and ranges.
No torch here: the recogniser reads metadata without it.
"""

from __future__ import annotations

import datetime
import math
import platform
import sys
from typing import Any

from .data import MNIST_NORMALIZATION, Normalization
from .errors import DigitrecError

FORMAT = "digitrec-checkpoint/1"
METADATA_KEY = "digitrec"  # safetensors __metadata__ key and ONNX metadata_props key of the JSON
TEMPERATURE_RANGE = (0.05, 20.0)
MAX_NOVELTY = 20.0  # calibration: P(not a digit) raises an image's temperature at most (1 + this) times
MAX_DEPTH = 16  # ours nest 4 levels


def build_metadata(model_name: str, model_kwargs: dict[str, Any], normalization: Normalization,
                   config: dict[str, Any], metrics: dict[str, Any], epoch: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "model": {"name": model_name, "kwargs": model_kwargs},
        "input": {"size": [28, 28], "polarity": "white digit on black", "normalization": normalization.to_dict()},
        "config": config,
        "metrics": metrics,
        "epoch": epoch,
        "versions": versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def versions() -> dict[str, str]:
    from . import __version__

    found = {"digitrec": __version__, "python": platform.python_version()}
    if "torch" in sys.modules:
        found["torch"] = sys.modules["torch"].__version__
    return found


def _fail(source: str, problem: str) -> DigitrecError:
    return DigitrecError(source, f"invalid model metadata: {problem}",
                         "pass a model file written by `digitrec train` or `digitrec export`", kind="bad-model")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate(metadata: Any, source: str) -> dict[str, Any]:
    """`metadata` if every field a model is built from is well-formed; else a one-line error."""
    from .architectures import check_kwargs

    if not isinstance(metadata, dict):
        raise _fail(source, "not a JSON object")
    problem = _not_plain(metadata, MAX_DEPTH)
    if problem:
        raise _fail(source, problem)
    if metadata.get("format") != FORMAT:
        raise _fail(source, f"format {metadata.get('format')!r}, expected {FORMAT!r}")
    model = metadata.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str) or "kwargs" not in model:
        raise _fail(source, "no model name and arguments")
    try:
        check_kwargs(model["name"], model["kwargs"])
    except DigitrecError as err:
        raise _fail(source, str(err)) from None
    normalization = (metadata.get("input") or {}).get("normalization") if isinstance(metadata.get("input"),
                                                                                     dict) else None
    if not (isinstance(normalization, dict) and _number(normalization.get("mean"))
            and _number(normalization.get("std")) and 1e-3 <= normalization["std"] <= 1e3
            and abs(normalization["mean"]) <= 1e3):
        raise _fail(source, "the input normalisation needs a finite mean and a std from 0.001 to 1000")
    calibration = metadata.get("calibration")
    if calibration is not None:
        low, high = TEMPERATURE_RANGE
        if not (isinstance(calibration, dict) and _number(calibration.get("temperature"))
                and low <= calibration["temperature"] <= high):
            raise _fail(source, f"the calibration needs a temperature from {low} to {high}")
        novelty = calibration.get("novelty", 0.0)
        if not (_number(novelty) and 0 <= novelty <= MAX_NOVELTY):
            raise _fail(source, f"the calibration's novelty must be a number from 0 to {MAX_NOVELTY:g}")
    judgement = metadata.get("judgement")
    if judgement is not None and not (isinstance(judgement, dict) and _number(judgement.get("threshold"))
                                      and 0 <= judgement["threshold"] <= 1):
        raise _fail(source, "the judgement needs a threshold from 0 to 1")
    if judgement is not None and not isinstance(judgement.get("steadied", False), bool):
        raise _fail(source, "the judgement's 'steadied' must be true or false")
    for key in ("config", "metrics"):
        if not isinstance(metadata.get(key, {}), dict):
            raise _fail(source, f"{key!r} is not a JSON object")
    epoch = metadata.get("epoch", 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise _fail(source, "'epoch' is not a whole number")
    return metadata


def _not_plain(value: Any, depth: int) -> str:
    """What makes `value` more than plain JSON data we can show and send back ("" when nothing):
    NaN or infinity (Python's json reads them, and no JSON answer may hold them), nesting deeper
    than MAX_DEPTH."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"holds the number {value}"
    if isinstance(value, (dict, list)):
        if depth == 0:
            return f"nested more than {MAX_DEPTH} levels deep"
        for item in value.values() if isinstance(value, dict) else value:
            problem = _not_plain(item, depth - 1)
            if problem:
                return problem
    return ""


def normalization_of(metadata: dict[str, Any]) -> Normalization:
    values = (metadata.get("input") or {}).get("normalization")
    return Normalization(float(values["mean"]), float(values["std"])) if values else MNIST_NORMALIZATION


def classes_of(metadata: dict[str, Any]) -> int:
    """10, or 11 for a model with a "not a digit" output."""
    return int(metadata["model"]["kwargs"].get("classes", 10))
