"""One digit as `predict` sees it, in the number reader. Where preprocessing (`select_digit`, as
`predict` does) sees one digit in an image and no other digit-like blob beside it, what the reader's
finer segmentation finds beside that digit is judged as `predict` would: a neighbour's sliver at the
image's edge, the next cell's side, a comb's tick, a hairline left of a printed line, a mark the model
refuses or reads unsurely; and a lone digit is read from the very 28x28s `predict` makes. So a single
digit reads as a one-digit number as `predict` reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from .errors import DigitrecError
from .ink import Ink, analysis_scale
from .judgement import Verdict
from .paper import stroke_width
from .preprocess import SLIVER, Selection
from .ramp import PRINTED
from .segment import BAR, SPECK_HEIGHT, Box, Piece, piece_ink
from .views import views

HAIRLINE = 0.35  # beside one digit, a piece this much thinner than its strokes is a printed line's remnant
# ...and so is a bar (`segment.BAR`) under PRINTED of its stroke width (a cell's divider: a 1 is written with
# the digit's pen) that is over DIVIDER of the digit's height or printed plumb (its box at most STRAIGHT times as
# wide as its ink is, along it), or under TICK of its height with such a bar or a divider on the digit's other
# side too (a comb's ticks)
TICK, DIVIDER, STRAIGHT = 0.5, 1.25, 1.5
NARROWER = 0.6  # the one digit preprocessing sees in an image's one piece, this much narrower, is the reading
# Beside the one digit `predict` sees, a part read as a digit less surely than this is a mark too (a cell's
# remnant read as a 5 at 0.3); digits of a number are read far surer.
MARK = 0.5


def as_predicted(image: Image.Image, ink: Ink, name: str,
                 crop: np.ndarray) -> tuple[list[np.ndarray], Verdict | None]:
    """A lone digit's 28x28s exactly as `predict` makes them (at its analysis size, with its choice of
    blobs, in each of its views), so that a single digit reads as `predict` reads it; `crop`, the
    segmenter's, when preprocessing sees no one digit (several, a dot under it, or none). With them,
    "not-a-digit" where preprocessing judges the ink so (a stroke with a dot under it: a "!", which
    the segmenter, dropping the dot as a speck, would read as a 1)."""
    same = analysis_scale(image.size) == ink.scale and not ink.pieces  # then both analyses made the same map
    try:
        shown = views(image, name, ink if same else None)
    except DigitrecError:
        return [crop], None
    aside = shown[0][1]
    if aside:
        return [crop], "not-a-digit" if aside == "not-a-digit" else None
    return [x28 for x28, _ in shown], None


def within(choice: Callable[[], Selection], piece: Piece) -> Piece:
    """The one piece of an image, as one digit when preprocessing (as `predict` does) sees one digit in it
    and no other, under NARROWER of the piece's width or leaving out its end at the image's edge: the
    segmenter joined it to what `predict` drops (the paper's edge in a photo, a chain of fragments
    beside the digit, a neighbour's sliver, then cut off as a "1").
    `choice`: `select_digit` of the ink map."""
    chosen, aside = choice()
    cols = np.flatnonzero(chosen.any(0))
    if aside or not cols.size:
        return piece
    # What it leaves at the image's left or right edge is a neighbour's sliver, however wide the rest.
    edge = chosen.shape[1] - 1
    trimmed = piece.box.x0 == 0 < cols[0] or piece.box.x1 == edge > cols[-1]
    if cols[-1] - cols[0] + 1 >= NARROWER * piece.box.width and not trimmed:
        return piece
    return Piece(Box.around(chosen), piece.labels, piece.mass, [])


def beside(ink: np.ndarray, labels: np.ndarray, pieces: list[Piece],
           choice: Callable[[], Selection]) -> list[Piece]:
    """The pieces without those that preprocessing (as `predict` does) drops beside the one digit it
    sees: at the image's left or right edge, a neighbour's sliver, the side of the next cell, the
    paper's edge; anywhere, a hairline far thinner than the digit's strokes (what is left of a
    printed line), and an upright bar far shorter or taller than the digit (a comb's tick, a cell's
    divider), even inside it; and outside it, a piece as small as a speck beside the digit (which the
    segmenter keeps as a small digit among digits: a comb's tick too short to be a bar). When it sees
    no one digit (`select_digit`'s verdict), or the piece holds some of the digit's ink, the piece
    stays; so does one at the edge with as much ink as a sliver never has (a tight crop's digit).
    `choice`: `select_digit` of the ink map."""
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
    chosen, aside = choice()
    if aside:
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


def without_marks(choice: Callable[[], Selection], labels: np.ndarray, pieces: list[Piece],
                  digits: list[Any], owner: list[int]) -> list[Any]:
    """The digits (a reading's `DigitRead`s) without the parts refused beside the one digit preprocessing
    sees (as `predict` judges it): a cell's empty box, a grid's remnant, a printed label. `predict` reads
    such an image as that digit; a part it takes for another digit, or one read as a digit surer than
    MARK, stays. `owner`: each digit's piece among `pieces` (whose component `labels` they name);
    `choice`: `select_digit` of the ink map."""
    refused = [d.verdict != "digit" or d.confidence < MARK for d in digits]
    if not any(refused) or all(refused):
        return digits
    chosen, aside = choice()
    if aside:
        return digits
    inside = [bool(piece_ink(chosen, labels, piece).any()) for piece in pieces]
    return [d for d, no, i in zip(digits, refused, owner, strict=True) if not no or inside[i]]
