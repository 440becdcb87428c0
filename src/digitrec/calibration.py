"""Calibrated probabilities: temperature scaling (Guo et al., 2017), fitted on held-out images.

One scalar T divides a model's digit logits before the softmax. It changes no answer (the order of
the logits stays) and makes the confidence mean what it says: of the answers given with 90%, about
90% are right. Label smoothing, which digitrec's recipes train with, leaves a model under-confident
(T < 1 sharpens it); T is fitted by minimising the negative log-likelihood on images that neither
trained the model nor test it.

One T for every input leaves the unusual ones over-confident: realistic digits on paper, read right
less often than MNIST's, at the T that fits MNIST. A model with a "not a digit" output says which
inputs are unusual, so the shipped model's temperature grows with that probability:
T(x) = T * (1 + novelty * P(not a digit | x)). MNIST digits, whose P(not a digit) is about 0.005, keep
T; `novelty` is fitted on realistic digits (benchmarks/tune_shipped.py). Each image's order of
logits still stays, so no answer changes. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .judgement import not_a_digit_probability
from .metadata import TEMPERATURE_RANGE


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Calibration:
    """How a model's digit logits become probabilities: softmax(logits / T(x)), see the module."""

    temperature: float = 1.0
    novelty: float = 0.0  # how much P(not a digit) raises an image's temperature (0: one T for all)

    @classmethod
    def of(cls, metadata: dict[str, Any]) -> Calibration:
        """A model's calibration from its metadata (checked by `metadata.check_metadata`); T = 1 when
        uncalibrated."""
        calibration = metadata.get("calibration") or {}
        return cls(float(calibration.get("temperature", 1.0)), float(calibration.get("novelty", 0.0)))

    def temperatures(self, logits: np.ndarray) -> np.ndarray:
        """(N,) each image's temperature, from its logits (N, classes)."""
        unusual = not_a_digit_probability(logits) if self.novelty else None
        if unusual is None:
            return np.full(len(logits), self.temperature)
        return self.temperature * (1 + self.novelty * unusual)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """(N, 10) float64 calibrated probabilities of the 10 digits from logits (N, classes)."""
        z = logits.astype(np.float64)
        return softmax(z[:, :10] / self.temperatures(z)[:, None])

    def nll(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean negative log-likelihood of the labels (N,) under these calibrated probabilities."""
        p = self.probabilities(logits)
        return float(-np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-300)).mean())


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / T). logits (N, 10)."""
    z = logits.astype(np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in TEMPERATURE_RANGE minimising the NLL: golden-section search on log T (the NLL is
    unimodal in T), to a relative precision of 1e-4."""
    lo, hi = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    while hi - lo > 1e-4:
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def refusal_threshold(logits: np.ndarray, temperature: float, false_refusals: float,
                      not_a_digit: np.ndarray | None = None) -> float:
    """The judgement threshold that refuses `false_refusals` (a fraction) of these real digits: for a
    model with a not-a-digit output, a probability of "not a digit" at or above it refuses; for a
    10-class model, a calibrated confidence below it does (judgement.Judge). `not_a_digit`: the
    probabilities as judged, where they are not the logits' own (`judgement.steadied`)."""
    z = logits.astype(np.float64)
    scores = not_a_digit if not_a_digit is not None else not_a_digit_probability(z)
    if scores is not None:
        return float(min(1.0, np.quantile(scores, 1 - false_refusals) + 1e-6))
    confidence = softmax(z[:, :10] / temperature).max(axis=1)
    return float(np.quantile(confidence, false_refusals))
