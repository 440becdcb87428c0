"""Is it a digit? The verdict on each image from a model's logits: one digit, not a digit, or several.

A model trained with outlier exposure (`train --negatives`) has an 11th output, "not a digit": an
image is refused when that output's probability passes the model's threshold. A plain 10-class model
can only say how unsure it is: it refuses when its calibrated confidence falls below its threshold.
Both thresholds are chosen on held-out data (never the MNIST test set) and saved in the model's
metadata under "judgement". Several digits are told apart by the reader (`segment`), which finds
two or more digit-sized pieces of ink. numpy only.

A steadied judgement (metadata "steadied": true) reads the not-a-digit output of an image that reaches
GATE again on its 8 copies shifted by one pixel, and refuses on the mean of the 9. MNIST's centring
by centre of mass is not exact to a pixel, and a verdict that changes with a pixel's shift is the
model's noise, not the image's nature: a letter, an arrow or two joined halves of digits the model
passes at one position it often refuses at the next. At the same 0.1% of MNIST validation digits
refused, on the tuning seeds (0 and 2, 100 per kind, `benchmarks/honesty.py`) it took the non-digits
and blank pages refused from 94.1% and 94.5% to 95.7% and 95.3% (arrows 96% and 92% to 100% and 99%,
joined MNIST halves 75% and 79% to 84% and 82%), and the realistic digits refused from 1.18% and
1.64% to 1.36% and 1.64%. On the 28x28s alone, the mean of the 4 edge shifts refused 0.3 points fewer
non-digits, 2-pixel shifts 1 point fewer on seed 0. No image refused had an own probability under
0.099: GATE spares the shifts of all but 1-2% of MNIST's digits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Verdict = Literal["digit", "not-a-digit", "several-digits"]
# Without a threshold in its metadata, a 10-class model refuses below this calibrated confidence.
DEFAULT_MIN_CONFIDENCE = 0.0
# A digit accepted with ink at least this wide for its height is read as a number too: 3.3% of MNIST's
# test digits are, so the reader's time is rarely spent (the server: 427 against 439 requests/s).
# From 0.8 (53% of them) tuning seed 0 caught 16 of 600 non-digits; from 1.1 (7.5%), 10; here 9.
# INKED: a 28x28 pixel above this (of 255) counts toward the ink's extent.
WIDE, INKED = 1.2, 40
GATE = 0.05  # a not-a-digit probability under this is not steadied (see the module)
SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))  # (rows, columns) down, right


@dataclass(frozen=True)
class Judge:
    """How a model decides "not a digit": by its 11th output or by its confidence."""

    method: Literal["not-a-digit output", "confidence"]
    threshold: float
    steadied: bool = False  # the not-a-digit output is averaged over one-pixel shifts (`steadied`)

    @classmethod
    def of(cls, metadata: dict[str, Any], classes: int) -> Judge:
        judgement = metadata.get("judgement") or {}
        if classes == 11:
            return cls("not-a-digit output", float(judgement.get("threshold", 0.5)),
                       judgement.get("steadied") is True)
        return cls("confidence", float(judgement.get("threshold", DEFAULT_MIN_CONFIDENCE)))

    def refuse(self, digit_probabilities: np.ndarray, not_a_digit: np.ndarray | None) -> np.ndarray:
        """Which images (N,) are not a digit, from the calibrated digit probabilities (N, 10) and the
        probability of "not a digit" (N,) where the model has that output."""
        if self.method == "not-a-digit output" and not_a_digit is not None:
            return not_a_digit >= self.threshold
        return digit_probabilities.max(axis=1) < self.threshold


def not_a_digit_probability(logits: np.ndarray) -> np.ndarray | None:
    """softmax over all 11 outputs, the 11th: the probability that the image is not a digit."""
    if logits.shape[1] != 11:
        return None
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e[:, 10] / e.sum(axis=1)


def shifted(x28: np.ndarray) -> np.ndarray:
    """(N * len(SHIFTS), 28, 28): each of the images (N, 28, 28) moved by each of SHIFTS in turn, the
    background (0) shifted in."""
    n, h, w = x28.shape
    padded = np.zeros((n, h + 2, w + 2), x28.dtype)
    padded[:, 1:-1, 1:-1] = x28
    # Moved down by dy and right by dx: output pixel (y, x) is input pixel (y - dy, x - dx).
    moved = np.stack([padded[:, 1 - dy:1 - dy + h, 1 - dx:1 - dx + w] for dy, dx in SHIFTS], axis=1)
    return moved.reshape(n * len(SHIFTS), h, w)


def steadied(x28: np.ndarray, not_a_digit: np.ndarray,
             logits_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The not-a-digit probabilities (N,) of images (N, 28, 28), each that reaches GATE averaged with
    those of its one-pixel shifts; `logits_of` runs the model on such images."""
    out = np.array(not_a_digit, dtype=np.float64)
    at = np.flatnonzero(out >= GATE)
    if at.size:
        moved = not_a_digit_probability(logits_of(shifted(x28[at])))
        assert moved is not None  # a model with a not-a-digit output gave `not_a_digit`
        out[at] = (out[at] + moved.reshape(at.size, len(SHIFTS)).sum(axis=1)) / (len(SHIFTS) + 1)
    return out


def may_hold_several(x28: np.ndarray) -> bool:
    """Whether a 28x28 accepted as a digit is worth reading as a number: its ink at least WIDE times as
    wide as it is tall. Two digits close side by side come out of preprocessing as one wide piece, which
    the model may read as one digit ("33" as a 3 at 94%); a digit rarely is that wide."""
    inked = x28 > INKED
    rows, cols = np.flatnonzero(inked.any(1)), np.flatnonzero(inked.any(0))
    return bool(rows.size) and cols[-1] - cols[0] + 1 >= WIDE * (rows[-1] - rows[0] + 1)


def reason(verdict: Verdict, closest: int) -> str | None:
    """One sentence saying why an image got no digit."""
    if verdict == "not-a-digit":
        return f"This does not look like a handwritten digit (the closest digit is {closest})."
    if verdict == "several-digits":
        return "This looks like several digits, not one; read it as a number with `digitrec read`."
    return None
