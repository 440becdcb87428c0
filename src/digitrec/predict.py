"""`digitrec predict PATH...`: recognise the digit in image files, folders and globs.

One line per input: the digit, its confidence and the top 3, or with `as_json` one JSON object per
line. An input that fails (unreadable, blank) is reported and every other input is still processed;
the return value (the exit code) is 1 if any input failed. Imports no torch for the shipped model.
"""

from __future__ import annotations

import glob
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from .errors import DigitrecError
from .recognizer import Prediction, Recognizer

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm",
                  ".pbm", ".pnm"}
BATCH = 256  # files preprocessed and recognised together; bounds memory for huge folders
SHOW_MAX = 60  # inputs drawn by --show; a figure with more is unreadable


def expand(patterns: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """(path, None) for every input file, or (pattern, error) for a folder or glob with no images.
    Folders give their image files (recursively, sorted); a path that does not exist is passed on so
    that reading it reports the error."""
    for pattern in patterns:
        path = Path(pattern)
        if not path.exists() and glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                yield pattern, "no file matches this pattern"
            for match in matches:
                yield from expand([match]) if Path(match).is_dir() else [(match, None)]
        elif path.is_dir():
            files = sorted(str(f) for f in path.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                yield pattern, f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder"
            yield from ((f, None) for f in files)
        else:
            yield pattern, None


def _chunks(items: Iterator[tuple[str, str | None]], size: int) -> Iterator[list[tuple[str, str | None]]]:
    chunk: list[tuple[str, str | None]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _message(name: str, err: DigitrecError | str) -> str:
    """The error without the input's name in front (the caller prints the name)."""
    text = str(err)
    return text[len(name) + 2:] if text.startswith(name + ": ") else text


def format_line(path: str, prediction: Prediction) -> str:
    top = ", ".join(f"{d} {p:.1%}" for d, p in prediction.top(3))
    return f"{path}: {prediction.digit} ({prediction.confidence:.1%})  top 3: {top}"


def run_predict(patterns: Sequence[str], model: str | None = None, as_json: bool = False,
                show: str | None = None, preview: str | None = None, preprocess: bool = True,
                out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Recognise every input, print the results, and return 0, or 1 if any input failed."""
    out, err = out or sys.stdout, err or sys.stderr
    recognizer = Recognizer.load(model)
    failed = 0
    shown: list[tuple[str, Prediction]] = []
    preview_names: set[str] = set()
    for chunk in _chunks(expand(patterns), BATCH):
        files = [path for path, problem in chunk if problem is None]
        results = iter(recognizer.predict_many(files, preprocess=preprocess, names=files))
        for path, problem in chunk:
            result = problem if problem is not None else next(results)
            if isinstance(result, Prediction):
                if as_json:
                    print(json.dumps({"path": path, **result.to_dict()}), file=out)
                else:
                    print(format_line(path, result), file=out)
                if preview:
                    _save_preview(Path(preview), path, result.preprocessed, preview_names)
                if show and len(shown) < SHOW_MAX:
                    shown.append((path, result))
            else:
                failed += 1
                if as_json:
                    print(json.dumps({"path": path, "error": _message(path, result)}), file=out)
                else:
                    print(f"{path}: error: {_message(path, result)}", file=err)
    if show:
        save_figure(shown, show, preprocess)
        print(f"wrote {show}" + (f" (the first {SHOW_MAX} inputs)" if len(shown) == SHOW_MAX else ""), file=err)
    return 1 if failed else 0


def _save_preview(folder: Path, path: str, x28: np.ndarray, used: set[str]) -> None:
    """Save the 28x28 the model saw as FOLDER/<input name>.png (-2, -3... when names repeat)."""
    from PIL import Image

    stem, n = Path(path).stem or "image", 1
    name = f"{stem}.png"
    while name in used:
        n += 1
        name = f"{stem}-{n}.png"
    used.add(name)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(x28).save(folder / name)


def thumbnail(image: Image.Image, size: int = 256) -> Image.Image:
    """An RGB copy at most `size` px, transparent parts on a grey checkerboard so strokes of any
    colour stay visible."""
    from PIL import Image

    rgba = image.convert("RGBA")
    rgba.thumbnail((size, size))
    cells = (np.indices((rgba.height, rgba.width)) // 8).sum(0) % 2  # 8 px squares
    board = Image.fromarray(np.where(cells, 150, 200).astype(np.uint8)).convert("RGBA")
    return Image.alpha_composite(board, rgba).convert("RGB")


def save_figure(shown: list[tuple[str, Prediction]], out: str, preprocess: bool = True) -> None:
    """Each input beside the 28x28 the model saw, titled with the prediction and its confidence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .images import load_image

    per_row = 4  # (input, 28x28) pairs per row
    rows = max(1, -(-len(shown) // per_row))
    fig, axes = plt.subplots(rows, 2 * per_row, figsize=(2 * per_row * 1.5, rows * 1.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (path, prediction) in enumerate(shown):
        original = thumbnail(load_image(path, name=path))
        left, right = axes[i // per_row, 2 * (i % per_row)], axes[i // per_row, 2 * (i % per_row) + 1]
        left.imshow(original)
        left.axis("on")  # a frame shows the canvas's extent
        left.set_xticks([])
        left.set_yticks([])
        left.set_title(Path(path).name[:18], fontsize=7)
        right.imshow(prediction.preprocessed, cmap="gray", vmin=0, vmax=255)
        right.set_title(f"{prediction.digit} ({prediction.confidence:.0%})", fontsize=9,
                        color="black" if prediction.confidence >= 0.5 else "red")
    if not shown:
        axes[0, 0].set_title("nothing recognised")
    fig.suptitle("input | what the model saw" + ("" if preprocess else " (no preprocessing)"), fontsize=10)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
