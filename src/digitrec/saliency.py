"""Saliency by occlusion: which pixels of the 28x28 drove a model's answer, and how much of that lies
on the ink.

Method (occlusion sensitivity, Zeiler and Fergus 2014): every 4x4 square of the 28x28, in steps of
2 px, that holds ink is covered with the background (0, MNIST's black), all the covered copies run through the model in
one batch, and each square scores how much covering it lowers the model's log-odds for its answer,
log(p / (1 - p)) over the ten digits, floored at 0 (ink whose removal would make the answer more
likely is no evidence for it). A pixel's saliency is the mean score of the squares that cover it, in
log-odds units. Squares without ink are skipped exactly: covering background with background changes
nothing.

Why occlusion rather than gradient x input: it needs only the model's outputs, so the shipped ONNX
model (onnxruntime has no gradients) and torch checkpoints get the same method and comparable maps;
it measures what removing a piece of a stroke does, where a gradient measures an infinitesimal
change; and gradient x input compares with an all-zero normalised input, which after MNIST's
standardisation is a uniform grey, so it credits the black background too. Why log-odds: the
probability of a confident answer saturates (0.999 -> 0.998 hides a large change), its log-odds do
not. Why 4x4 squares 2 px apart: `benchmarks/saliency.py` blanks the 15% of the ink a map ranks
highest on 200 MNIST test digits and counts the answers that change: 103 with these squares (72
model runs per map), 109 with 3x3 squares 1 px apart (238 runs, too slow for a live page), 96 with
3x3 squares 2 px apart, 14 with random ink.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FIELD = 28
PATCH = 4  # side of each covered square, px
STRIDE = 2  # px between squares
INK_LEVEL = 128  # a pixel at least half-bright is ink (the stroke, not its anti-aliased edge)
NEAR = 2  # px: "on or next to the ink" is within this Chebyshev distance of an ink pixel
METHOD = (f"occlusion: each {PATCH}x{PATCH} square of ink ({STRIDE} px apart) covered with background; saliency "
          "is the mean drop in the answer's log-odds over the squares covering a pixel")


def _squares(patch: int, stride: int) -> np.ndarray:
    """(S, 28) bool: the rows (or columns) each of the S square positions along one side covers."""
    starts = list(range(0, FIELD - patch + 1, stride))
    if starts[-1] != FIELD - patch:
        starts.append(FIELD - patch)  # the last square reaches the edge
    index = np.arange(FIELD)
    first = np.array(starts)[:, None]
    return (first <= index) & (index < first + patch)


def log_odds(logits: np.ndarray, digit: int, temperature: float = 1.0) -> np.ndarray:
    """log(p / (1 - p)) of `digit` for each row of (N, classes) logits, over the 10 digits."""
    z = logits[:, :10].astype(np.float64) / temperature
    others = np.delete(z, digit, axis=1)
    top = others.max(axis=1)
    return z[:, digit] - (top + np.log(np.exp(others - top[:, None]).sum(axis=1)))


def covered_copies(x28: np.ndarray, patch: int = PATCH, stride: int = STRIDE) -> tuple[np.ndarray, np.ndarray]:
    """(masks (n, 28, 28) bool: the pixels of each square holding ink, batch (1 + n, 28, 28) uint8:
    `x28` itself, then a copy with each of those squares covered with background)."""
    squares = _squares(patch, stride)
    # Which squares hold ink: rows x columns of squares, from the ink's coverage of each.
    has_ink = (squares.astype(np.int32) @ (x28 > 0).astype(np.int32) @ squares.T.astype(np.int32)) > 0
    ys, xs = np.nonzero(has_ink)
    masks = squares[ys][:, :, None] & squares[xs][:, None, :]
    return masks, np.concatenate([x28[None], np.where(masks, np.uint8(0), x28[None])])


def occlusion(recognizer: Any, x28: np.ndarray, digit: int, patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """(28, 28) float64 >= 0: the saliency of each pixel of the uint8 MNIST-form image `x28` for the
    answer `digit`, from one batched run of `recognizer` (see the module docstring)."""
    x28 = np.asarray(x28, dtype=np.uint8).reshape(FIELD, FIELD)
    squares = _squares(patch, stride)
    masks, batch = covered_copies(x28, patch, stride)
    scores = log_odds(recognizer.logits(batch), digit, recognizer.temperature)
    drops = np.maximum(scores[0] - scores[1:], 0.0)
    coverage = np.outer(squares.sum(0), squares.sum(0))  # squares covering each pixel, ink or not
    return np.einsum("n,nij->ij", drops, masks) / coverage


def near_ink(x28: np.ndarray, within: int = NEAR, level: int = INK_LEVEL) -> np.ndarray:
    """(28, 28) bool: pixels within `within` px (Chebyshev) of an ink pixel (>= `level`)."""
    ink = np.pad(np.asarray(x28).reshape(FIELD, FIELD) >= level, within)
    near = np.zeros((FIELD, FIELD), dtype=bool)
    for dy in range(2 * within + 1):
        for dx in range(2 * within + 1):
            near |= ink[dy:dy + FIELD, dx:dx + FIELD]
    return near


def ink_share(saliency: np.ndarray, x28: np.ndarray, within: int = NEAR, level: int = INK_LEVEL) -> float:
    """The share of the saliency mass on or within `within` px of the ink (1.0 for an all-zero map)."""
    total = float(saliency.sum())
    return float(saliency[near_ink(x28, within, level)].sum()) / total if total > 0 else 1.0
