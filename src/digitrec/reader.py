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
from PIL import Image

from .errors import DigitrecError
from .images import ImageSource, describe, load_image
from .ink import Ink, analysis_scale
from .paper import stroke_width
from .preprocess import NO_DIGIT_HINT, SLIVER, digit_ink, ink_to_mnist, leans, select_digit
from .rulings import without_rulings
from .segment import BAR, SPECK_HEIGHT, Box, Piece, piece_ink, segment
from .views import clearest, views

HAIRLINE = 0.35  # beside one digit, a piece this much thinner than its strokes is a printed line's remnant
# ...and so is a bar (`segment.BAR`) under PRINTED of its stroke width (a cell's divider: a 1 is written with
# the digit's pen) that is over DIVIDER of the digit's height or printed plumb (its box at most STRAIGHT times as
# wide as its ink is, along it), or under TICK of its height with such a bar or a divider on the digit's other
# side too (a comb's ticks)
TICK, DIVIDER, PRINTED, STRAIGHT = 0.5, 1.25, 0.8, 1.5
NARROWER = 0.6  # the one digit preprocessing sees in an image's one piece, this much narrower, is the reading
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
# Beside the one digit `predict` sees, a part read as a digit less surely than this is a mark too (a cell's
# remnant read as a 5 at 0.3); digits of a number are read far surer.
MARK = 0.5


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
    choice: Callable[[], tuple[np.ndarray, bool]]  # `select_digit` of the ink map, made on first need
    views: bool = False  # one piece whose options are views of one digit (`views`), read as `predict` reads them


def plan(source: ImageSource, name: str) -> _Plan:
    """Find and segment the ink of one image; a DigitrecError when there is none."""
    image = load_image(source, name=name)
    ink = digit_ink(image, name, READ_SIDE)
    ink = replace(ink, map=without_rulings(ink.map))
    labels, pieces = segment(ink.map)
    choice = cache(partial(select_digit, ink.map))  # the one digit `predict` would see: asked for twice at most
    if len(pieces) > 1:
        pieces = _one_digit_pieces(ink.map, labels, pieces, choice)
    elif pieces and (pieces[0].alternatives or pieces[0].parts):
        pieces = [_one_digit_within(choice, pieces[0])]
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
        crops[0] = [[x28] for x28 in _as_predicted(image, ink, name, crops[0][0][0])]
        spans[0] = spans[0] * len(crops[0])
        return _Plan(ink, kept, crops, spans, labels, choice, views=True)
    return _Plan(ink, kept, crops, spans, labels, choice)


def _as_predicted(image: Image.Image, ink: Ink, name: str, crop: np.ndarray) -> list[np.ndarray]:
    """A lone digit's 28x28s exactly as `predict` makes them (at its analysis size, with its choice of
    blobs, in each of its views), so that a single digit reads as `predict` reads it; `crop`, the
    segmenter's, when preprocessing sees several digits or none."""
    same = analysis_scale(image.size) == ink.scale  # then both analyses made the same map
    try:
        shown = views(image, name, ink if same else None)
    except DigitrecError:
        return [crop]
    return [crop] if shown[0][1] else [x28 for x28, _ in shown]


def _one_digit_within(choice: Callable[[], tuple[np.ndarray, bool]], piece: Piece) -> Piece:
    """The one piece of an image, as one digit when preprocessing (as `predict` does) sees one digit in it
    and no other, under NARROWER of the piece's width or leaving out its end at the image's edge: the
    segmenter joined it to what `predict` drops (the paper's edge in a photo, a chain of fragments
    beside the digit, a neighbour's sliver, then cut off as a "1").
    `choice`: `select_digit` of the ink map."""
    chosen, several = choice()
    cols = np.flatnonzero(chosen.any(0))
    if several or not cols.size:
        return piece
    # What it leaves at the image's left or right edge is a neighbour's sliver, however wide the rest.
    edge = chosen.shape[1] - 1
    trimmed = piece.box.x0 == 0 < cols[0] or piece.box.x1 == edge > cols[-1]
    if cols[-1] - cols[0] + 1 >= NARROWER * piece.box.width and not trimmed:
        return piece
    rows = np.flatnonzero(chosen.any(1))
    return Piece(Box(int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])), piece.labels, piece.mass, [])


def _one_digit_pieces(ink: np.ndarray, labels: np.ndarray, pieces: list[Piece],
                      choice: Callable[[], tuple[np.ndarray, bool]]) -> list[Piece]:
    """The pieces without those that preprocessing (as `predict` does) drops beside the one digit it
    sees: at the image's left or right edge, a neighbour's sliver, the side of the next cell, the
    paper's edge; anywhere, a hairline far thinner than the digit's strokes (what is left of a
    printed line), and an upright bar far shorter or taller than the digit (a comb's tick, a cell's
    divider), even inside it; and outside it, a piece as small as a speck beside the digit (which the
    segmenter keeps as a small digit among digits: a comb's tick too short to be a bar). When it sees
    several digits, or the piece holds some of the digit's ink, the piece stays; so does one at the
    edge with as much ink as a sliver never has (a tight crop's digit). `choice`: `select_digit` of
    the ink map."""
    width = ink.shape[1]
    digit = max(pieces, key=lambda p: p.mass)  # the digit's own piece
    heaviest = digit.mass

    def along(p: Piece) -> float:  # ink per px along a piece: a line's width, a digit's more
        return p.mass / max(p.box.height, p.box.width)

    def at_edge(p: Piece) -> bool:
        return (p.box.x0 == 0 or p.box.x1 == width - 1) and p.mass < SLIVER * heaviest

    def bar(p: Piece) -> bool:  # a straight upright bar: a 1, or a box's side, a cell's divider, a comb's tick
        return p.box.width <= BAR * p.box.height

    def small(p: Piece) -> bool:  # small both ways, as a speck is: kept by the segmenter as a small digit
        return max(p.box.height, p.box.width) < SPECK_HEIGHT * digit.box.height

    widest = max(along(p) for p in pieces)  # at least the pen's width, for the piece of a whole digit
    if not any(at_edge(p) or along(p) < HAIRLINE * widest or bar(p) or small(p) for p in pieces):
        return pieces  # nothing that could be dropped: no need to choose the digit
    chosen, several = choice()
    if several:
        return pieces
    inside = [bool(piece_ink(chosen, labels, p).any()) for p in pieces]  # holding some of the digit's ink
    pen = stroke_width(chosen > 0.5)
    rows = np.flatnonzero(chosen.any(1))
    height = rows[-1] - rows[0] + 1 if rows.size else 0

    def divider(p: Piece) -> bool:  # a cell's side: thinner than the pen, and far taller than the digit or plumb
        return bar(p) and along(p) < PRINTED * pen and (p.box.height > DIVIDER * height
                                                        or p.box.width <= STRAIGHT * along(p))

    def tick(p: Piece) -> bool:  # a bar far shorter than the digit
        return p is not digit and bar(p) and p.box.height < TICK * height

    # A comb's ticks flank the digit (a tick or a divider on each side); a small 1 written beside a
    # digit has no twin on the digit's other side.
    centre = (digit.box.x0 + digit.box.x1) / 2
    marks = [p for p in pieces if tick(p) or divider(p)]
    flanked = any(m.box.x1 < centre for m in marks) and any(m.box.x0 > centre for m in marks)

    def printed(p: Piece) -> bool:  # a comb's tick or a cell's divider, not a 1 written beside the digit
        return divider(p) or (flanked and tick(p))

    # A hairline goes even where preprocessing took it into the digit's blobs (a line's remnant close beside it).
    return [p for p, own in zip(pieces, inside, strict=True)
            if not along(p) < HAIRLINE * pen and not printed(p) and (own or not (at_edge(p) or small(p)))] or pieces


def _box(ink: Ink, piece: Piece, columns: tuple[int, int], part: np.ndarray | None = None) -> tuple[int, ...]:
    """A digit's box in input pixels (x0, y0, x1, y1), exclusive ends."""
    s = ink.scale
    return tuple(round(v * s) for v in (columns[0], piece.box.y0, columns[1] + 1, piece.box.y1 + 1))


def assemble(p: _Plan, predictions: Callable[[int], Any]) -> Reading:
    """The reading of one planned image, given its crops' predictions in order (`predictions(i)`)."""
    digits: list[DigitRead] = []
    taken: list[Any] = []  # the prediction of each digit
    owner: list[int] = []  # the piece of each digit
    k = 0
    for i, (piece, options, spans) in enumerate(zip(p.pieces, p.crops, p.spans, strict=True)):
        answers = []
        for option in options:
            answers.append([predictions(k + j) for j in range(len(option))])
            k += len(option)
        best = clearest([a[0] for a in answers]) if p.views else _best(answers, piece)
        for pred, cols in zip(answers[best], spans[best], strict=True):
            digits.append(DigitRead(pred.digit, pred.confidence if pred.is_digit else pred.closest_probability,
                                    _box(p.ink, piece, cols), pred.verdict, pred.preprocessed))
            taken.append(pred)
            owner.append(i)
    return _reading(_without_marks(p, _in_number(digits, taken), owner))


def one_digit(p: _Plan, prediction: Any) -> Reading:
    """The one-digit reading of a planned image from `prediction`, the one digit `predict` sees in it
    (`select_digit` of the ink map), boxed where that digit's ink is."""
    chosen, _ = p.choice()
    rows, cols = np.flatnonzero(chosen.any(1)), np.flatnonzero(chosen.any(0))
    piece = Piece(Box(int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])), set(), 0.0, [])
    box = _box(p.ink, piece, (piece.box.x0, piece.box.x1))
    return _reading([DigitRead(prediction.digit, prediction.confidence, box, prediction.verdict,
                               prediction.preprocessed)])


def _without_marks(p: _Plan, digits: list[DigitRead], owner: list[int]) -> list[DigitRead]:
    """The digits without the parts refused beside the one digit preprocessing sees (as `predict` judges
    it): a cell's empty box, a grid's remnant, a printed label. `predict` reads such an image as that
    digit; a part it takes for another digit, or one read as a digit surer than MARK, stays. `owner`: each
    digit's piece."""
    refused = [d.verdict != "digit" or d.confidence < MARK for d in digits]
    if not any(refused) or all(refused):
        return digits
    chosen, several = p.choice()
    if several:
        return digits
    inside = [bool(piece_ink(chosen, p.labels, piece).any()) for piece in p.pieces]
    return [d for d, no, i in zip(digits, refused, owner, strict=True) if not no or inside[i]]


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
