"""`digitrec predict PATH...`: recognise the digit in image files, folders and globs.

One line per input: the digit, its confidence and the top 3, or with `as_json` one JSON object per
line. An input that fails (unreadable, blank) is reported and every other input is still processed;
the return value (the exit code) is 1 if any input failed. Imports no torch for the shipped model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..errors import DigitrecError
from ..fileio import writable_dir
from ..inputs import chunks
from ..recognizer import Prediction, Recognizer

SHOW_MAX = 60  # inputs drawn by --show; a figure with more is unreadable
THUMBNAIL = 256  # px: the longest side of an input drawn by --show (plots.thumbnail's size)


def format_line(path: str, prediction: Prediction) -> str:
    if not prediction.is_digit:
        hint = "  try `digitrec read`" if prediction.verdict == "several-digits" else ""
        return f"{path}: {prediction.summary()}{hint}"
    top = ", ".join(f"{d} {p:.1%}" for d, p in prediction.top(3))
    return f"{path}: {prediction.digit} ({prediction.confidence:.1%})  top 3: {top}"


class Previews:
    """Saves each input's 28x28 as FOLDER/<input name>.png (-2, -3... when names repeat)."""

    def __init__(self, folder: str | None):
        self.folder = writable_dir(Path(folder), "--preview") if folder else None
        self.used: set[str] = set()

    def save(self, path: str, x28: np.ndarray, suffix: str = "") -> None:
        if self.folder is None:
            return
        from ..fileio import atomic_write
        from ..images import encode_png

        stem, n = (Path(path).stem or "image") + suffix, 1
        name = f"{stem}.png"
        while name in self.used:
            n += 1
            name = f"{stem}-{n}.png"
        self.used.add(name)
        atomic_write(self.folder / name, encode_png(x28))


def start(show: str | None, preview: str | None, model: str | None) -> tuple[Previews, Recognizer]:
    """The outputs checked (a one-line error now, rather than after recognising every input, if
    --show or --preview cannot be written) and the model loaded."""
    if show:
        if Path(show).is_dir():
            raise DigitrecError(f"--show {show}", "is a folder", "pass a file name, such as show.png",
                                kind="unwritable")
        writable_dir(Path(show).resolve().parent, "--show")
    return Previews(preview), Recognizer.load(model)


def report(path: str, result: Any, as_json: bool, out: TextIO, err: TextIO,
           text: Callable[[str, Any], str] | None = None) -> bool:
    """Print one input's result (a Prediction, a Reading, or its DigitrecError): as JSON, or as the
    line `text` gives (default: a prediction's). Whether it succeeded."""
    if isinstance(result, DigitrecError):
        if as_json:
            print(json.dumps({"path": path, "error": result.detail()}), file=out)
        else:
            print(f"{path}: error: {result.detail()}", file=err)
        return False
    print(json.dumps({"path": path, **result.to_dict()}) if as_json else (text or format_line)(path, result),
          file=out)
    return True


def run_predict(patterns: list[str], model: str | None = None, as_json: bool = False, show: str | None = None,
                preview: str | None = None, preprocess: bool = True, out: TextIO | None = None,
                err: TextIO | None = None) -> int:
    """Recognise every input, print the results, and return 0, or 1 if any input failed."""
    out, err = out or sys.stdout, err or sys.stderr
    previews, recognizer = start(show, preview, model)
    failed = 0
    shown: list[tuple[str, Prediction]] = []
    for names, items in chunks(patterns):
        for path, result in zip(names, recognizer.predict_many(items, preprocess=preprocess, names=names),
                                strict=True):
            failed += not report(path, result, as_json, out, err)
            if isinstance(result, Prediction):
                previews.save(path, result.preprocessed)
                if show and len(shown) < SHOW_MAX:
                    shown.append((path, result))
    if show:
        save_show_figure(shown, show, preprocess)
        print(f"wrote {show}" + (f" (the first {SHOW_MAX} inputs)" if len(shown) == SHOW_MAX else ""), file=err)
    return 1 if failed else 0


def save_show_figure(shown: list[tuple[str, Prediction]], show: str, preprocess: bool) -> None:
    from ..plots import save_inputs_figure

    panels: list[tuple[str, Any, np.ndarray, str, bool]] = [
        (Path(path).name, _small(path), p.preprocessed, p.summary(),
         p.is_digit and p.confidence >= 0.5)
        for path, p in shown]
    title = "input | what the model saw" + ("" if preprocess else " (no preprocessing)")
    save_inputs_figure(panels, show, title)


def _small(path: str) -> Any:
    """The input, shrunk at once to the figure's size: never more than one full-size input in memory."""
    from ..images import load_image

    image = load_image(path, name=path)
    image.thumbnail((THUMBNAIL, THUMBNAIL))
    return image
