"""`digitrec read IMAGE...`: read the whole number in each image, left to right.

One line per input (`amount.jpg: 2024  (2 99%, 0 99%, 2 98%, 4 99%)`), or with `as_json` one JSON
object per line: path, number, confidence, and each digit's answer, confidence and box in input
pixels. Errors follow `predict`'s rules: one line per failed input, exit code 1 if any failed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..inputs import chunks
from ..reader import Reading
from .recognize import SHOW_MAX, report, start


def format_reading(path: str, reading: Reading) -> str:
    parts = ", ".join(f"{d.digit if d.digit is not None else '?'} {d.confidence:.0%}" for d in reading.digits)
    if reading.number is None:
        return f"{path}: not a number: {reading.reason}  ({parts})"
    return f"{path}: {reading.number}  ({parts})"


def run_read(patterns: list[str], model: str | None = None, as_json: bool = False, show: str | None = None,
             preview: str | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Read every input, print the results, and return 0, or 1 if any input failed."""
    out, err = out or sys.stdout, err or sys.stderr
    previews, recognizer = start(show, preview, model)
    failed = 0
    shown: list[tuple[str, Reading]] = []
    for names, items in chunks(patterns):
        for path, result in zip(names, recognizer.read_many(items, names=names), strict=True):
            failed += not report(path, result, as_json, out, err, format_reading)
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
