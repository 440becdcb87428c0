"""Reading a whole number: segment the ink into digits, recognise them all in one batch, and choose,
for a piece wide enough to hold touching digits, the reading that is clearly best.

The ink finding is the single-digit path's (`ink.find_ink`: paper lines, boxes, photos), at a finer
analysis resolution so that gaps of 1-3 px between digits survive; each digit is brought to MNIST form
exactly as `predict` brings a single one (`preprocess.ink_to_mnist`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import Any

import numpy as np

from . import lone
from .errors import DigitrecError
from .images import ImageSource, describe, load_image
from .ink import Ink
from .judgement import Verdict
from .preprocess import NO_DIGIT_HINT, Selection, digit_ink, ink_to_mnist, leans, select_digit
from .rulings import without_rulings
from .segment import Box, Piece, piece_ink, segment
from .views import clearest

READ_SIDE = 1024  # px: the analysis resolution of a number (a digit: ink.WORK_SIDE)
SPLIT_GAIN = 0.15  # a cut must raise the weakest digit's confidence by this much to be taken...
PAIR_WIDTHS = 1.6  # ...or by MERGE_GAIN when the piece is this many of the number's digit widths wide
SPLIT_FLOOR = 0.8  # and each digit of a cut must be read at least this surely (halves of one digit rarely are)
MERGE_GAIN = 0.05  # two strokes are read as one digit when it is this much surer than the weaker of the two
ALIKE = 0.6  # of the tallest digit's height: a piece this tall beside it is digit-sized (not a sliver or a speck)
# A digit-sized part of a number, beside digits read as such, is read as its closest digit unless the model
# gives "not a digit" this probability or more; alone, an image is refused from the model's own threshold.
# Numbers of tuning seeds 0 and 2, with the model the shipped one was fine-tuned from: 373 to 379 and 366 to
# 368 of 400 read right, none read worse (0.5: 378 and 367; 0.8: 379 and 369).
IN_NUMBER = 0.6


@dataclass(frozen=True)
class DigitRead:
    """One digit of a number: the answer, its calibrated confidence, and its box in input pixels."""

    digit: int | None
    confidence: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)
    verdict: str
    preprocessed: np.ndarray = field(repr=False, compare=False)
    doubted: bool = False  # refused on its own, read as its closest digit among the number's digits (IN_NUMBER)

    def to_dict(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": self.confidence, "box": list(self.box)}


@dataclass(frozen=True)
class Reading:
    """The number in an image, left to right, or why it could not be read."""

    number: str | None  # the digits as a string, leading zeros kept; None when part is not a digit
    confidence: float  # the product of the digits' confidences
    digits: tuple[DigitRead, ...]
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"number": self.number, "confidence": self.confidence,
                               "digits": [d.to_dict() for d in self.digits]}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class _Plan:
    """What to recognise for one image: each piece's unsplit crop, and its split alternatives."""

    ink: Ink
    pieces: list[Piece]
    crops: list[list[list[np.ndarray]]]  # per piece, per option (unsplit first), per part: 28x28
    spans: list[list[list[tuple[int, int]]]]  # the same, column ranges in the ink map
    labels: np.ndarray  # the ink map's component labels, which the pieces' `labels` name
    choice: Callable[[], Selection]  # `select_digit` of the ink map, made on first need
    views: bool = False  # one piece whose options are views of one digit (`views`), read as `predict` reads them
    verdict: Verdict | None = None  # preprocessing's judgement of that one piece's ink, where it refuses it


def plan(source: ImageSource, name: str) -> _Plan:
    """Find and segment the ink of one image; a DigitrecError when there is none."""
    image = load_image(source, name=name)
    ink = digit_ink(image, name, READ_SIDE, pieces=True)  # a paler digit among dark ones is a whole digit
    ink = replace(ink, map=without_rulings(ink.map))
    labels, pieces = segment(ink.map)
    choice = cache(partial(select_digit, ink.map))  # the one digit `predict` would see: asked for twice at most
    if len(pieces) > 1:
        pieces = lone.beside(ink.map, labels, pieces, choice)
    elif pieces and (pieces[0].alternatives or pieces[0].parts):
        pieces = [lone.within(choice, pieces[0])]
    crops, spans = [], []
    kept = []
    for piece in pieces:
        # A piece leaning further than MNIST's digits is also read upright, as one digit: a slanted 8 is
        # wide for its slant, and its halves read as a 6 and a 9 more surely than the model reads it. (A
        # lone digit is read as `predict` reads it.)
        upright = (len(pieces) > 1 or bool(piece.alternatives)) and leans(piece_ink(ink.map, labels, piece))
        options = [(piece.reading, False), *([(piece.reading, True)] if upright else []),
                   *((option, False) for option in piece.alternatives)]
        piece_crops, piece_spans = [], []
        for option, straightened in options:
            try:
                # The segmenter has chosen each digit's ink: no blob selection again.
                piece_crops.append([ink_to_mnist(piece_ink(ink.map, labels, piece, cols), 0, name, select=False,
                                                 upright=straightened) for cols in option])
                piece_spans.append(option)
            except DigitrecError:  # a part too small to be a digit: not an option
                continue
        if piece_crops:
            kept.append(piece)
            crops.append(piece_crops)
            spans.append(piece_spans)
    if not kept:
        raise DigitrecError(name, "no digit found (only specks of ink)", NO_DIGIT_HINT, kind="no-digit")
    if len(kept) == 1 and len(crops[0]) == 1 and len(crops[0][0]) == 1:  # one digit, no split offered
        shown, verdict = lone.as_predicted(image, ink, name, crops[0][0][0])
        crops[0] = [[x28] for x28 in shown]
        spans[0] = spans[0] * len(crops[0])
        return _Plan(ink, kept, crops, spans, labels, choice, views=True, verdict=verdict)
    return _Plan(ink, kept, crops, spans, labels, choice)


def _box(ink: Ink, box: Box, columns: tuple[int, int]) -> tuple[int, ...]:
    """A digit's box in input pixels (x0, y0, x1, y1), exclusive ends: the rows of `box`, `columns` of
    the ink map."""
    s = ink.scale
    return tuple(round(v * s) for v in (columns[0], box.y0, columns[1] + 1, box.y1 + 1))


def assemble(p: _Plan, predictions: Callable[[int], Any]) -> Reading:
    """The reading of one planned image, given its crops' predictions in order (`predictions(i)`)."""
    digits: list[DigitRead] = []
    taken: list[Any] = []  # the prediction of each digit
    owner: list[int] = []  # the piece of each digit
    k = 0
    for i, (piece, options, spans) in enumerate(zip(p.pieces, p.crops, p.spans, strict=True)):
        answers = []
        for option in options:
            answers.append([_judged(predictions(k + j), p.verdict) for j in range(len(option))])
            k += len(option)
        best = clearest([a[0] for a in answers]) if p.views else _best(answers, piece)
        for pred, cols in zip(answers[best], spans[best], strict=True):
            digits.append(DigitRead(pred.digit, pred.confidence if pred.is_digit else pred.closest_probability,
                                    _box(p.ink, piece.box, cols), pred.verdict, pred.preprocessed))
            taken.append(pred)
            owner.append(i)
    digits = _in_number(digits, taken)
    return _reading(lone.without_marks(p.choice, p.labels, p.pieces, digits, owner))


def one_digit(p: _Plan, prediction: Any) -> Reading:
    """The one-digit reading of a planned image from `prediction`, the one digit `predict` sees in it
    (`select_digit` of the ink map), boxed where that digit's ink is."""
    box = Box.around(p.choice()[0])
    return _reading([DigitRead(prediction.digit, prediction.confidence, _box(p.ink, box, (box.x0, box.x1)),
                               prediction.verdict, prediction.preprocessed)])


def _judged(prediction: Any, verdict: Verdict | None) -> Any:
    """The model's prediction, refused where preprocessing judged the ink not one digit."""
    return prediction.refused(verdict) if verdict and prediction.is_digit else prediction


def _in_number(digits: list[DigitRead], predictions: list[Any]) -> list[DigitRead]:
    """The digits, with each digit-sized part refused under IN_NUMBER read as its closest digit, where the
    number holds a digit read as such: among digits, a part as tall as they are is most likely one too."""
    if len(digits) < 2 or all(d.verdict != "digit" for d in digits):
        return digits
    tallest = max(d.box[3] - d.box[1] for d in digits)
    return [replace(d, digit=pred.closest_digit, verdict="digit", doubted=True)
            if d.verdict == "not-a-digit" and pred.not_a_digit is not None and pred.not_a_digit < IN_NUMBER
            and d.box[3] - d.box[1] >= ALIKE * tallest else d
            for d, pred in zip(digits, predictions, strict=True)]


def _best(answers: list[list[Any]], piece: Piece) -> int:
    """Which of a piece's readings (its options' predictions, the unsplit first) to take."""
    best = 0
    for i in range(1, len(answers)):
        # More digits than the default reading must read clearly better (a little, where the piece is as
        # wide as two digits); fewer, a little better.
        more = len(answers[i]) > len(answers[0])
        gain = SPLIT_GAIN if more and piece.widths < PAIR_WIDTHS else MERGE_GAIN
        weakest = _weakest(answers[i])
        if weakest >= _weakest(answers[best]) + gain and (weakest >= SPLIT_FLOOR or not more):
            best = i
    return best


def _weakest(answers: list[Any]) -> float:
    """The lowest confidence among a reading's digits, 0 if any is not a digit."""
    return min((a.confidence if a.is_digit else 0.0) for a in answers)


def _reading(digits: list[DigitRead]) -> Reading:
    refused = [i for i, d in enumerate(digits) if d.verdict != "digit"]
    confidence = math.prod(d.confidence for d in digits) if not refused else 0.0
    if refused:
        where = ", ".join(str(i + 1) for i in refused)
        reason = (f"Part {where} of {len(digits)} (counting from the left) does not look like a digit."
                  if len(digits) > 1 else "This does not look like a handwritten digit.")
        return Reading(None, confidence, tuple(digits), reason)
    return Reading("".join(str(d.digit) for d in digits), confidence, tuple(digits))


def name_of(source: ImageSource, name: str | None) -> str:
    return name or describe(source)
