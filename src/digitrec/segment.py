"""From an ink map to the digits of a number, left to right: the same way street-number and cheque
readers began. numpy only.

The ink's connected pieces are found at full analysis resolution (so 1-3 px gaps between digits
stay gaps); specks, dots and straight lines longer than a digit are dropped; pieces that share
columns are one digit (a 5's flag, the two strokes of a 4, a 7's bar); and a piece much wider than
a digit is offered split at the columns where the least ink crosses, for the reader to keep only
where a cut reads clearly better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cuts import options
from .imageops import among, paint_runs, run_boxes, run_components
from .lines import EDGE
from .paper import stroke_width

SPECK = 0.03  # a piece with less ink than this fraction of the heaviest one...
SPECK_HEIGHT = 0.35  # ...and shorter than this fraction of the typical digit is a speck or a dot
# ...unless it is at least SMALL_DIGIT of that tall and STROKES times as long as its strokes are wide.
# A bar (a 1, a tick) is at most BAR of its height wide.
SMALL_DIGIT, STROKES, BAR = 0.2, 4.2, 0.3
SLIVER_HEIGHT = 0.8  # a piece cut by the left or right edge and shorter than this fraction of the digits
SHARED = 0.5  # pieces overlapping by this fraction of the narrower one's width are one digit
# ...and so are a piece under FLAT of the digits' height, just above or below a taller one (MERGE_GAP of the
# height apart), and sharing FLAG_SHARED of its own columns with it
FLAT, FLAG_SHARED = 0.35, 0.3
LIFTED = 1.4  # digit heights: at most this wide, a flat stroke and the digit under it may be one digit
WIDE = 1.25  # a group this many times as wide as the typical digit may hold touching digits
# A piece at most NARROW of the digits' height wide, with a neighbour closer than MERGE_GAP of it, the two
# together at most MERGED of it wide, may be one digit with it (halves of a digit are narrow, digits tall).
NARROW, MERGE_GAP, MERGED = 0.45, 0.25, 0.9
MAX_DIGITS = 12  # more pieces than this is not a number to read
# A piece this many times as wide as it is tall, and longer than RULE_LENGTH digit heights, is a ruling
# line (or an underline) that touches no digit; it would share columns with every digit and swallow them.
RULE_ASPECT, RULE_LENGTH = 5.0, 1.5


@dataclass(frozen=True)
class Box:
    """Rows y0..y1 and columns x0..x1 of the ink map, inclusive."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0 + 1

    @property
    def width(self) -> int:
        return self.x1 - self.x0 + 1

    def union(self, other: Box) -> Box:
        return Box(min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1))

    @staticmethod
    def around(ink: np.ndarray) -> Box:
        """The box of an ink map's nonzero pixels (it must hold some)."""
        rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        return Box(int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1]))


@dataclass
class Piece:
    """Ink belonging to one digit (or, when `alternatives` is set, maybe to several; or, when `parts`
    is set, to as many digits as parts, unless an alternative reads better)."""

    box: Box
    labels: set[int]  # component labels of the ink map
    mass: float
    # Other readings to consider, each a list of column ranges (x0, x1) of the ink map, left to right.
    alternatives: list[list[tuple[int, int]]]
    parts: list[tuple[int, int]] | None = None  # the reading taken by default; None: the whole box
    widths: float = 1.0  # how many of the number's typical digit widths wide it is

    @property
    def reading(self) -> list[tuple[int, int]]:
        return self.parts or [(self.box.x0, self.box.x1)]


def _pieces(ink: np.ndarray) -> tuple[np.ndarray, list[Piece]]:
    inked = ink > 0
    runs, run_labels = run_components(inked)
    labels = paint_runs(ink.shape, runs, run_labels)
    count = int(run_labels.max(initial=0))
    # Summed over the ink alone (the paper adds nothing): each piece's sum as over the whole map, 5x faster.
    mass = np.bincount(labels[inked], weights=ink[inked], minlength=count + 1)
    boxes = run_boxes(runs, run_labels).tolist()
    return labels, [Piece(Box(*boxes[label]), {label}, float(mass[label]), []) for label in range(1, count + 1)]


def _typical_height(pieces: list[Piece]) -> float:
    heaviest = max(p.mass for p in pieces)
    big = [p.box.height for p in pieces if p.mass >= 0.2 * heaviest]
    return float(np.median(big))


def _drop_rules(pieces: list[Piece]) -> list[Piece]:
    """Without the straight lines longer than a digit: a ruling the paper stage left (it touches no
    stroke, so nothing tells it from the writing there) or a line drawn under the number. A digit's
    own bar (a 7's, a 5's flag) is no longer than the digit is tall."""
    def flat(p: Piece) -> bool:
        return p.box.width >= RULE_ASPECT * p.box.height

    rest = [p for p in pieces if not flat(p)]
    if not rest:
        return pieces
    height = _typical_height(rest)
    return [p for p in pieces if not (flat(p) and p.box.width >= RULE_LENGTH * height)]


def _drop_specks(pieces: list[Piece], labels: np.ndarray) -> list[Piece]:
    heaviest = max(p.mass for p in pieces)
    height = _typical_height(pieces)

    def speck(p: Piece) -> bool:
        # Light and short, or small both ways (a dot, however dark): no digit of the number's size is either.
        return ((p.mass < SPECK * heaviest and p.box.height < SPECK_HEIGHT * height)
                or max(p.box.height, p.box.width) < SPECK_HEIGHT * height)

    return [p for p in pieces if not speck(p) or _small_digit(p, labels, height)]


def _small_digit(piece: Piece, labels: np.ndarray, height: float) -> bool:
    """Whether a piece too small for a speck's rule is a small digit written among big ones: at least
    SMALL_DIGIT of their height, and drawn with a pen, not dabbed: STROKES times as long as its
    stroke is wide. A dot or a blot is round and solid (2-3.6 times its stroke width, measured on the
    specks of tuning seeds 0 and 2); a small 9 is 4.7 times and more. Not a short bar (a form's tick,
    as long and thin as a small 1) nor a piece cut by the image's edge (a neighbour's sliver; within
    `lines.EDGE` px of it)."""
    box = piece.box
    h, w = labels.shape
    if (box.height < SMALL_DIGIT * height or box.width <= BAR * box.height
            or min(box.y0, box.x0, h - 1 - box.y1, w - 1 - box.x1) <= EDGE):
        return False
    mine = among(labels[box.y0:box.y1 + 1, box.x0:box.x1 + 1], list(piece.labels))
    return max(box.height, box.width) >= STROKES * stroke_width(mine)


def _drop_edge_slivers(pieces: list[Piece], width: int) -> list[Piece]:
    """A piece cut by the image's left or right edge and shorter than the digits is a sliver of the
    neighbouring digit, as one digit's preprocessing judges it; a tight crop's own digit is as tall
    as the others and stays."""
    if len(pieces) < 2:
        return pieces
    height = _typical_height(pieces)
    kept = [p for p in pieces
            if not ((p.box.x0 == 0 or p.box.x1 == width - 1) and p.box.height < SLIVER_HEIGHT * height)]
    return kept or pieces


def _shared(a: Box, b: Box) -> int:
    """The columns two boxes share (0 or less where they share none)."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) + 1


def _overlap(a: Box, b: Box) -> float:
    """Shared columns as a fraction of the narrower box's width."""
    return max(0, _shared(a, b)) / min(a.width, b.width)


def _merge_columns(pieces: list[Piece]) -> list[Piece]:
    """Pieces that share most of the narrower one's columns are strokes of one digit; so are a flat
    stroke and the digit it lies just above or below, sharing some of its columns (a 5's flag lifted
    off and drawn on past the body, a 7's bar)."""
    height = _typical_height(pieces) if pieces else 0.0

    def flag(a: Box, b: Box) -> bool:
        flat, body = (a, b) if a.height <= b.height else (b, a)
        gap = max(flat.y0 - body.y1, body.y0 - flat.y1) - 1
        # Against the body's own height where that passes the typical one (two pieces' median is their mean)
        return (flat.height <= FLAT * max(height, body.height) and body.height > FLAT * height
                and gap <= MERGE_GAP * height and _shared(a, b) >= FLAG_SHARED * flat.width)

    merged = True
    while merged:
        merged = False
        pieces.sort(key=lambda p: p.box.x0)
        for i in range(len(pieces) - 1):
            for j in range(i + 1, len(pieces)):
                a, b = pieces[i], pieces[j]
                if b.box.x0 > a.box.x1:
                    break
                if _overlap(a.box, b.box) >= SHARED or flag(a.box, b.box):
                    pieces[i] = Piece(a.box.union(b.box), a.labels | b.labels, a.mass + b.mass, [])
                    del pieces[j]
                    merged = True
                    break
            if merged:
                break
    return pieces


def _cuts(ink: np.ndarray, piece: Piece, labels: np.ndarray, digit_width: float) -> list[list[tuple[int, int]]]:
    """Ways to cut a wide piece into 2 or 3 digits (`cuts.options`), from its own ink per column."""
    return options(piece_ink(ink, labels, piece).sum(axis=0), piece.box.x0, digit_width)


def _offer_merges(pieces: list[Piece], height: float) -> list[Piece]:
    """Neighbours that may be one digit in two strokes that do not touch (a 4 whose stem stands apart,
    a 5's flag beside it): a narrow piece close beside another, the two no wider than a digit, or a
    flat stroke at the top or bottom of the nearer of its neighbours (a 5's flag lifted off and drawn
    on past the body, a foot's end broken off). They stay two digits unless they read as well as one
    (see `reader.MERGE_GAIN`)."""
    out: list[Piece] = []
    for k, piece in enumerate(pieces):
        last = out[-1] if out else None
        if last is not None and last.parts is None and not last.alternatives and not piece.alternatives:
            a, b = last.box, piece.box
            union = a.union(b)
            # A stroke with a short one beside it (a bold 7's bar and its stem) is measured against its own
            # height where that passes the number's others.
            tall = max(height, union.height) if min(a.height, b.height) <= 0.5 * union.height else height
            nearer = k + 1 == len(pieces) or _gap(a, b) <= _gap(b, pieces[k + 1].box)
            if ((_gap(a, b) <= MERGE_GAP * tall and min(a.width, b.width) <= NARROW * tall
                    and union.width <= MERGED * tall) or (_flat_at_end(a, b, height) and nearer)):
                cut = (a.x1 + b.x0 - 1) // 2  # between the two, or in the middle of any shared columns
                out[-1] = Piece(union, last.labels | piece.labels, last.mass + piece.mass, [[(union.x0, union.x1)]],
                                [(union.x0, cut), (cut + 1, union.x1)])
                continue
        out.append(piece)
    return out


def _gap(a: Box, b: Box) -> int:
    """Columns between two boxes, left to right (negative where they share columns)."""
    return b.x0 - a.x1 - 1


def _flat_at_end(a: Box, b: Box, height: float) -> bool:
    """Whether one of two neighbours is a flat stroke at the other's top or bottom, within MERGE_GAP of
    the digits' `height` (or the other's, where taller) of it each way, and the two no wider than
    LIFTED such heights: a 5's flag lifted off, the end of a 5's or a 2's foot broken off."""
    flat, body = (a, b) if a.height <= b.height else (b, a)
    tall = max(height, body.height)  # as in `_merge_columns`
    top = flat.y1 <= body.y0 + FLAT * body.height and body.y0 - flat.y1 <= MERGE_GAP * tall
    bottom = flat.y0 >= body.y1 - FLAT * body.height and flat.y0 - body.y1 <= MERGE_GAP * tall
    return (flat.height <= FLAT * tall and body.height > FLAT * height and flat.width >= 2 * flat.height
            and (top or bottom) and _gap(a, b) <= MERGE_GAP * tall and a.union(b).width <= LIFTED * tall)


def segment(ink: np.ndarray) -> tuple[np.ndarray, list[Piece]]:
    """(component labels, the pieces of ink that are digits, left to right). Wide pieces carry the
    splits the reader may choose from."""
    labels, pieces = _pieces(ink)
    if not pieces:
        return labels, []
    pieces = _drop_edge_slivers(_merge_columns(_drop_specks(_drop_rules(pieces), labels)), ink.shape[1])
    pieces.sort(key=lambda p: p.box.x0)
    if len(pieces) > MAX_DIGITS:
        return labels, pieces
    height = _typical_height(pieces)
    # The typical digit's width, of digit-tall pieces: a flat stroke apart (a flag, a foot's end) is none.
    narrow = [p.box.width for p in pieces if p.box.width <= WIDE * 0.75 * height and p.box.height > FLAT * height]
    digit_width = float(np.median(narrow)) if narrow else 0.6 * height
    for piece in pieces:
        # A digit far taller than the rest (numbers of mixed sizes) is as much wider: its width counts in
        # digits of its own height.
        piece.widths = piece.box.width / (digit_width * max(1.0, piece.box.height / height))
        if piece.box.width > WIDE * max(digit_width, 0.45 * piece.box.height):
            piece.alternatives = _cuts(ink, piece, labels, digit_width)
    return labels, _offer_merges(pieces, height)


def piece_ink(ink: np.ndarray, labels: np.ndarray, piece: Piece, columns: tuple[int, int] | None = None) -> np.ndarray:
    """The ink of one piece alone (others zeroed), cropped to its box, or to `columns` of it."""
    box = piece.box
    x0, x1 = columns if columns is not None else (box.x0, box.x1)
    crop = ink[box.y0:box.y1 + 1, x0:x1 + 1]
    mine = among(labels[box.y0:box.y1 + 1, x0:x1 + 1], list(piece.labels))
    return crop * mine
