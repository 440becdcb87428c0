"""A form's comb of cells: a baseline with short ticks standing on it, one between each two cells.
`paper` finds the baseline as a lone horizontal line of the paper; the ticks are too short for the
line search, and one the digit touches is one piece with it. Here they are found standing on the
baseline: pieces thin across it and short beside the writing, and straight, flat-topped posts
rising from it, where a written stroke reaching the line leans or runs on. numpy only."""

from __future__ import annotations

import numpy as np

from .imageops import among, component_boxes, label_components
from .lines import Line

TICK = 0.5  # a piece touching a baseline with under this fraction of the largest piece's ink may be a tick,
SHORT = 0.6  # ...when it is shorter than this fraction of the largest piece, and thin
POST = 0.8  # a straight post on a comb's baseline shorter than this fraction of the largest piece is a tick
SLANT = 1  # px a column: a post whose columns' tops step by this much (the median step) leans, as no tick does
ALIKE, JUMP = (0.85, 1.2), 1.3  # a tick's columns' heights, of their median; where a digit touching it runs on


def ticks(writing: np.ndarray, lone: list[tuple[Line, tuple[np.ndarray, np.ndarray]]],
          shifts: dict[int, np.ndarray]) -> np.ndarray:
    """The ticks of a comb of cells: pieces of writing touching a lone horizontal paper line (`lone`:
    each line and the pixels beside its band) that are thin across it and short beside the largest
    piece, and the posts standing on it where a tick touches the digit (`_posts`)."""
    labels = label_components(writing)
    count = int(labels.max())
    if not count:
        return np.zeros_like(writing)
    boxes = component_boxes(labels)
    heights, widths = boxes[:, 1] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 2] + 1
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    big = int(np.argmax(sizes))
    out = np.zeros_like(writing)
    for line, beside in lone:
        short = [t for t in np.unique(labels[beside]).tolist() if t and sizes[t] < TICK * sizes[big]
                 and heights[t] < SHORT * heights[big] and heights[t] >= 3 * widths[t]]
        out |= among(labels, short) | _posts(writing, line, shifts[0], POST * heights[big])
    return out


def _posts(writing: np.ndarray, line: Line, shift: np.ndarray, short: float) -> np.ndarray:
    """Straight posts of writing standing on a horizontal line (`shift`: its row offsets per column),
    up from its band: runs of a few columns, each at most twice the line's thickness and two px wide,
    at least three times as tall, shorter than `short` px and flat on top: a comb's ticks, even where
    the digit touches one (a written stroke reaching the line is slanted, wide or as tall as the digit)."""
    h, w = writing.shape
    cols = np.arange(max(0, line.start), min(w, line.end + 1))
    reach = int(short)
    # (reach + 1, columns): image rows up from the band
    rows = (line.lo - 2 - shift[cols])[None, :] - np.arange(reach + 1)[:, None]
    up = writing[np.clip(rows, 0, h - 1), cols] & (rows >= 0) & (rows < h)
    runs = np.cumprod(up, axis=0).sum(axis=0)  # px of ink straight up from the band, per column
    edges = np.flatnonzero(np.diff(np.concatenate([[0], runs > 0, [0]])))
    out = np.zeros_like(writing)
    for a, b in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):  # columns a..b-1 inked
        width, height = b - a, _post_height(runs[a:b], reach)
        if width <= 2 * line.thickness + 2 and 3 * width <= height and not _slanted(np.minimum(runs[a:b], height)):
            for i in range(a, b):
                out[rows[:min(int(runs[i]), height), i], cols[i]] = True
    return out


def _slanted(runs: np.ndarray) -> bool:
    """Whether a post's columns (their runs of ink straight up from the line, up to the post's height:
    a digit touching a tick's top rises on) rise to tops that step along it, by SLANT px a column or
    more (the median step): a written stroke leaning up from the line (a 7's or a 1's foot on a
    ruling), where a printed tick's columns rise alike."""
    return len(runs) > 1 and abs(float(np.median(np.diff(runs)))) >= SLANT


def _post_height(runs: np.ndarray, reach: int) -> int:
    """The height of a post from its columns' runs of ink straight up from a line (px, at most `reach`
    + 1), 0 where it is none. Printed square to the line, a tick's columns rise alike to a flat top; a
    stroke reaching the line slants, and a digit's straight side runs on past `reach`. A digit may
    touch a tick's top: where most columns rise alike (ALIKE of their median) and the rest that rise
    higher rise far higher (JUMP times), into the digit, the post is the part they share."""
    tallest, middle = int(runs.max()), float(np.median(runs))
    if middle >= 0.8 * tallest:
        return tallest if tallest <= reach else 0
    alike = (runs >= ALIKE[0] * middle) & (runs <= ALIKE[1] * middle)
    if alike.mean() < 0.6:
        return 0
    top, higher = int(runs[alike].max()), runs[~alike & (runs > middle)]
    return top if top <= reach and bool((higher >= JUMP * middle).all()) else 0
