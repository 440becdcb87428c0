"""Accuracy per condition on a second, independent set of handwritten digits and whole numbers.

    python benchmarks/second_set.py [--seed 7] [--out DIR]

The set (benchmarks/second, numpy and Pillow only) is a second generator, written without looking at
benchmarks/synth: its own stroke skeletons, the handwriting fonts, its own paper, desks and photo geometry.
So it measures the recogniser on conditions its authors did not tune for: 30 single digits for each of 10
conditions (ruled and squared paper, boxes, form cells, photos, pencil, coloured pens and papers, tight crops,
a sliver of a neighbour) and 20 numbers of 2-6 digits for each of 6 (plain, ruled, photos, web canvas, digits
1-3 px apart, varied sizes on a wavy baseline). Seeds 5 and 6 were looked at while fixing preprocessing;
report on others. A single digit counts as right when `predict_many` gives its digit, a number when `read_many`
gives all its digits in order; errors (no digit found) count as wrong.
`--out DIR` also writes the images (DIR/singles/<condition>/<i>_<label>.png|jpg, DIR/numbers/...) and
DIR/contact_sheet.png: a row per condition, labels in red where the answer was wrong.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

import second  # this folder is on sys.path when run as a script
from digitrec import Recognizer
from digitrec.errors import DigitrecError
from digitrec.reader import Reading
from digitrec.recognizer import Prediction

Outcome = tuple[bool, str]  # (right, what was read in a few words)


def digit_outcome(sample: second.Sample, p: Prediction | DigitrecError) -> Outcome:
    if isinstance(p, DigitrecError):
        return False, f"error: {p.problem}"
    return p.digit == sample.label, p.summary()


def number_outcome(sample: second.Sample, r: Reading | DigitrecError) -> Outcome:
    if isinstance(r, DigitrecError):
        return False, f"error: {r.problem}"
    if r.number is None:
        return False, f"nothing ({r.reason})"
    return r.number == sample.label, f"{r.number} ({r.confidence:.0%})"


def table(title: str, samples: list[second.Sample], outcomes: list[Outcome]) -> None:
    """Samples and right answers per condition (in the set's order), and all together."""
    rows: dict[str, list[int]] = {}
    for s, (right, _) in zip(samples, outcomes, strict=True):
        row = rows.setdefault(s.condition, [0, 0])
        row[0] += 1
        row[1] += right
    rows["ALL"] = [sum(n for n, _ in rows.values()), sum(r for _, r in rows.values())]
    print(f"\n{title}")
    print(f"  {'condition':<18}{'n':>4}{'right':>7}{'acc':>8}")
    for condition, (n, right) in rows.items():
        print(f"  {condition:<18}{n:>4}{right:>7}{right / n:>8.1%}")


def contact_sheet(samples: list[second.Sample], outcomes: list[Outcome], thumb: int = 96) -> Image.Image:
    """A row per condition (its name at the left) of thumbnails captioned with the label, red when misread."""
    rows: dict[str, list[tuple[second.Sample, bool]]] = {}
    for s, (right, _) in zip(samples, outcomes, strict=True):
        rows.setdefault(s.name.rsplit("/", 1)[0], []).append((s, right))  # "singles/ruled"
    label_w, caption_h, pad = 170, 16, 4
    cell_w, cell_h = thumb + pad, thumb + caption_h + pad
    sheet = Image.new("RGB", (label_w + max(map(len, rows.values())) * cell_w, len(rows) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), 12)
    for r, (condition, row) in enumerate(rows.items()):
        y = r * cell_h
        draw.text((pad, y + thumb // 2), condition, fill="black", font=font)
        for c, (s, right) in enumerate(row):
            x = label_w + c * cell_w
            image = Image.open(io.BytesIO(s.data)).convert("RGB")
            image.thumbnail((thumb, thumb))
            sheet.paste(image, (x + (thumb - image.width) // 2, y + (thumb - image.height) // 2))
            draw.text((x, y + thumb + 1), str(s.label), fill="black" if right else "red", font=font)
    return sheet


def write(samples: list[second.Sample], outcomes: list[Outcome], out: Path) -> None:
    for s in samples:
        path = out / s.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s.data)
    contact_sheet(samples, outcomes).save(out / "contact_sheet.png")
    print(f"\nwrote {len(samples)} images and contact_sheet.png to {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="the set's seed (default: 7; 5 and 6 were looked at)")
    parser.add_argument("--out", type=Path, default=None, help="also write the images and a contact sheet here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    digits, written = second.singles(args.seed), second.numbers(args.seed)  # before the model's threads start
    made = time.perf_counter() - start
    recognizer = Recognizer.load(None)
    start = time.perf_counter()
    predictions = recognizer.predict_many([s.data for s in digits], names=[s.name for s in digits])
    readings = recognizer.read_many([s.data for s in written], names=[s.name for s in written])
    recognised = time.perf_counter() - start
    outcomes = ([digit_outcome(s, p) for s, p in zip(digits, predictions, strict=True)]
                + [number_outcome(s, r) for s, r in zip(written, readings, strict=True)])
    samples = digits + written
    table(f"SINGLE DIGITS, seed {args.seed} (predict_many: right when .digit is the label)", digits,
          outcomes[:len(digits)])
    table(f"NUMBERS, seed {args.seed} (read_many: right when .number is the label)", written, outcomes[len(digits):])
    right = sum(ok for ok, _ in outcomes)
    print(f"\nall {len(samples)} images: {right} right ({right / len(samples):.1%})")
    failures = [(s, answer) for s, (ok, answer) in zip(samples, outcomes, strict=True) if not ok]
    print(f"\nFAILURES ({len(failures)}): name, label, what was read")
    for s, answer in failures:
        print(f"  {s.name:<40} {s.label!s:>7}  {answer}")
    print(f"\n{len(samples)} images made in {made:.0f} s ({second.PROCESSES} processes), "
          f"recognised in {recognised:.0f} s")
    if args.out:
        write(samples, outcomes, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
