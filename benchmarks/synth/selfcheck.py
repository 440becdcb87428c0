"""Checks of the generators' promises, for whoever changes them: python benchmarks/synth/selfcheck.py [N]

Determinism in (category, index, seed), decodable files of the stated format, labels and boxes (one per
digit, left to right, inside the image), JSON-serialisable info, near-touching gaps of 1-3 px.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import synth  # noqa: E402 (benchmarks/ is on sys.path only now)


def problems(sample: synth.Sample, again: synth.Sample) -> list[str]:
    out = []
    if sample.data != again.data:
        out.append("not deterministic")
    json.dumps(sample.info)
    image = Image.open(io.BytesIO(sample.data))
    if image.format != sample.fmt:
        out.append(f"format {image.format}, says {sample.fmt}")
    w, h = ImageOps.exif_transpose(image).size
    if any(not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h) for x0, y0, x1, y1 in sample.boxes):
        out.append(f"box outside the {w}x{h} image: {sample.boxes}")
    if sample.kind in ("digit", "number"):
        if not sample.label or not sample.label.isdigit() or len(sample.boxes) != len(sample.label):
            out.append(f"label {sample.label!r} with {len(sample.boxes)} boxes")
        if [b[0] for b in sample.boxes] != sorted(b[0] for b in sample.boxes):
            out.append("boxes not left to right")
    elif sample.label is not None:
        out.append(f"{sample.kind} with label {sample.label!r}")
    if sample.category == "near-touching":
        gaps = [b[0] - a[2] for a, b in zip(sample.boxes, sample.boxes[1:], strict=False)]
        if any(not 1 <= g <= 3 for g in gaps):
            out.append(f"gaps {gaps}")
    return out


def main(per_category: int = 5) -> int:
    failed = 0
    for make, categories in ((synth.digits, synth.DIGIT_CATEGORIES), (synth.numbers, synth.NUMBER_CATEGORIES),
                             (synth.negatives, synth.NEGATIVE_CATEGORIES), (synth.blanks, synth.BLANK_CATEGORIES)):
        for category in categories:
            for a, b in zip(make(per_category, 7, [category]), make(per_category, 7, [category]), strict=True):
                for problem in problems(a, b):
                    failed += 1
                    print(f"{a.kind} {category}: {problem}")
    print("all good" if not failed else f"{failed} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(*(int(a) for a in sys.argv[1:2])))
