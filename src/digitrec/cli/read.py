"""`digitrec read IMAGE...`: read the whole number in each image, left to right.

One line per input (`amount.jpg: 2024  (2 99%, 0 99%, 2 98%, 4 99%)`), or with `as_json` one JSON
object per line: path, number, confidence, and each digit's answer, confidence and box in input
pixels. Errors follow `predict`'s rules: one line per failed input, exit code 1 if any failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from ..errors import DigitrecError
from ..inputs import chunks
from ..reader import Reading
from ..recognizer import Recognizer
from .recognize import SHOW_MAX, Previews, check_figure_path


def format_reading(path: str, reading: Reading) -> str:
    parts = ", ".join(f"{d.digit if d.digit is not None else '?'} {d.confidence:.0%}" for d in reading.digits)
    if reading.number is None:
        return f"{path}: not a number: {reading.reason}  ({parts})"
    return f"{path}: {reading.number}  ({parts})"


def report_reading(path: str, result: Reading | DigitrecError, as_json: bool, out: TextIO, err: TextIO) -> bool:
    """Print one input's reading; whether it could be read."""
    if isinstance(result, DigitrecError):
        if as_json:
            print(json.dumps({"path": path, "error": result.detail()}), file=out)
        else:
            print(f"{path}: error: {result.detail()}", file=err)
        return False
    print(json.dumps({"path": path, **result.to_dict()}) if as_json else format_reading(path, result), file=out)
    return True


def run_read(patterns: list[str], model: str | None = None, as_json: bool = False, show: str | None = None,
             preview: str | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Read every input, print the results, and return 0, or 1 if any input failed."""
    out, err = out or sys.stdout, err or sys.stderr
    check_figure_path(show)
    previews = Previews(preview)
    recognizer = Recognizer.load(model)
    failed = 0
    shown: list[tuple[str, Reading]] = []
    for names, items in chunks(patterns):
        for path, result in zip(names, recognizer.read_many(items, names=names), strict=True):
            failed += not report_reading(path, result, as_json, out, err)
            if isinstance(result, Reading):
                for i, digit in enumerate(result.digits):
                    previews.save(path, digit.preprocessed, suffix=f"-{i + 1}")
                if show and len(shown) < SHOW_MAX:
                    shown.append((path, result))
    if show:
        from ..images import load_image
        from ..plots import save_readings_figure

        save_readings_figure([(Path(p).name, load_image(p, name=p), r) for p, r in shown], show)
        print(f"wrote {show}", file=err)
    return 1 if failed else 0
