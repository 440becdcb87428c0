"""Is it a digit? The verdict on each image from a model's logits: one digit, not a digit, or several.

A model trained with outlier exposure (`train --negatives`) has an 11th output, "not a digit": an
image is refused when that output's probability passes the model's threshold. A plain 10-class model
can only say how unsure it is: it refuses when its calibrated confidence falls below its threshold.
Both thresholds are chosen on held-out data (never the MNIST test set) and saved in the model's
metadata under "judgement". Several digits are told apart by the reader (`segment`), which finds
two or more digit-sized pieces of ink. numpy only.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Judge:
    """How a model decides "not a digit": by its 11th output or by its confidence."""

    method: Literal["not-a-digit output", "confidence"]
    threshold: float

    @classmethod
    def of(cls, metadata: dict[str, Any], classes: int) -> Judge:
        judgement = metadata.get("judgement") or {}
        if classes == 11:
            return cls("not-a-digit output", float(judgement.get("threshold", 0.5)))
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
