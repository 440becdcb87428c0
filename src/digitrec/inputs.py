"""From command-line arguments to input files: files, folders (recursively, image suffixes only)
and glob patterns, in a stable order, each with its problem when it has one."""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import DigitrecError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm",
                  ".pbm", ".pnm"}
BATCH = 256  # files preprocessed and recognised together; bounds memory for huge folders


def expand(patterns: Sequence[str]) -> Iterator[tuple[str, DigitrecError | None]]:
    """(path, None) for every input file, or (pattern, error) for a folder or glob with no images.
    Folders give their image files (recursively, sorted); a path that does not exist is passed on so
    that reading it reports the error."""
    for pattern in patterns:
        path = Path(pattern)
        if not path.exists() and glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                yield pattern, DigitrecError(pattern, "no file matches this pattern", kind="not-found")
            for match in matches:
                yield from expand([match]) if Path(match).is_dir() else [(match, None)]
        elif path.is_dir():
            files = sorted(str(f) for f in path.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                yield pattern, DigitrecError(pattern, f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) "
                                             "in this folder", kind="not-found")
            yield from ((f, None) for f in files)
        else:
            yield pattern, None


def chunks(patterns: Sequence[str], size: int = BATCH) -> Iterator[tuple[list[str], list[str | DigitrecError]]]:
    """(names, inputs) in chunks of `size`: each input is the path to read, or its error already."""
    names: list[str] = []
    items: list[str | DigitrecError] = []
    for path, problem in expand(patterns):
        names.append(path)
        items.append(problem if problem is not None else path)
        if len(names) == size:
            yield names, items
            names, items = [], []
    if names:
        yield names, items
