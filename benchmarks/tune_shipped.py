"""Fit the shipped model's calibration and choose its "not a digit" operating point, on tuning data
only, and write both into the checkpoint (then `digitrec export` it).

    python benchmarks/tune_shipped.py CHECKPOINT [--seed 0] [--per-category 60] [--write]

The data: the MNIST validation split the checkpoint was trained without (its config's val_size, the
last images of the training set) and the synthetic realistic digits and negatives of benchmarks/synth
at a tuning seed (default 0). Never the MNIST test set, never a reporting seed.
- Calibration: T(x) = T * (1 + novelty * P(not a digit | x)) (calibration.Calibration). One T for
  every input cannot calibrate both sets (at the T that fits MNIST the realistic digits, read less
  often right, are over-confident; at theirs MNIST is under-confident); the novelty term softens the
  inputs the model itself finds unusual. T and novelty minimise the realistic digits' NLL among the
  pairs whose ECE on the MNIST validation split stays at most MAX_VAL_ECE. For a 10-class model,
  novelty stays 0.
- Threshold on P(not a digit), steadied over one-pixel shifts (`judgement.steadied`): the lowest that
  refuses at most MAX_VAL_REFUSED of the validation digits; the refusal rates of the realistic digits
  and the tuning negatives at that point are printed.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from digitrec import Recognizer
from digitrec.calibration import Calibration, fit_temperature, refusal_threshold, softmax
from digitrec.checkpoints import read_metadata, update_metadata
from digitrec.data import load_split
from digitrec.errors import DigitrecError
from digitrec.evaluation import expected_calibration_error
from digitrec.judgement import not_a_digit_probability, steadied
from synth import digits, negatives

MAX_VAL_REFUSED = 0.001  # of MNIST validation digits refused as not a digit
MAX_VAL_ECE = 0.0075  # a margin under the 1% calibration error wanted on MNIST
NOVELTIES = np.arange(0, 6.01, 0.25)  # the novelty values searched (0: one temperature for all)


def logits_of(recognizer: Recognizer, samples: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logits, labels, 28x28s) of the samples that preprocessing finds ink in."""
    x28, labels = [], []
    for s in samples:
        try:
            x28.append(recognizer.prepare(s.data))
            labels.append(-1 if s.label is None else int(s.label))
        except DigitrecError:
            continue
    return recognizer.logits(np.stack(x28)).astype(np.float64), np.array(labels), np.stack(x28)


def judged(recognizer: Recognizer, logits: np.ndarray, x28: np.ndarray) -> np.ndarray:
    """The probabilities of "not a digit" as the steadied judgement sees them (`judgement.steadied`)."""
    return steadied(x28, not_a_digit_probability(logits), recognizer.logits)


def fit_calibration_within(val: tuple[np.ndarray, np.ndarray], real: tuple[np.ndarray, np.ndarray]) -> Calibration:
    """The (T, novelty) minimising the realistic digits' NLL among those keeping MNIST validation's ECE
    at most MAX_VAL_ECE (the T fitted on MNIST validation alone when none does)."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(5), 200))
    novelties = NOVELTIES if val[0].shape[1] == 11 else [0.0]
    candidates = [Calibration(float(t), float(a)) for t in grid for a in novelties]
    allowed = [c for c in candidates if expected_calibration_error(c.probabilities(val[0]), val[1]) <= MAX_VAL_ECE]
    if not allowed:
        return Calibration(fit_temperature(val[0][:, :10], val[1]))
    return min(allowed, key=lambda c: c.nll(*real))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-category", type=int, default=60)
    parser.add_argument("--write", action="store_true", help="write the calibration into the checkpoint")
    args = parser.parse_args(argv)
    metadata = read_metadata(args.checkpoint)
    val_size = metadata["config"].get("val_size", 0)
    if not val_size:
        sys.exit(f"{args.checkpoint}: trained without a validation split; nothing held out to fit on")
    recognizer = Recognizer.load(args.checkpoint)
    images, labels = load_split("train")
    val_x28 = images[-val_size:]
    val = recognizer.logits(val_x28).astype(np.float64), labels[-val_size:].astype(np.int64)
    real_logits, real_labels, real_x28 = logits_of(recognizer, digits(args.per_category, args.seed))
    real = real_logits, real_labels
    negs, _, negs_x28 = logits_of(recognizer, negatives(args.per_category, args.seed))
    fitted = fit_calibration_within(val, real)
    t = fitted.temperature
    for name, (z, y) in (("MNIST validation", val), ("realistic digits", real)):
        print(f"{name:18s} ECE raw {expected_calibration_error(softmax(z[:, :10]), y):.2%}  "
              f"ECE at T={t:.3f}, novelty {fitted.novelty:.2f} "
              f"{expected_calibration_error(fitted.probabilities(z), y):.2%}")
    judgement = {}
    if val[0].shape[1] == 11:
        scores = [judged(recognizer, z, x) for z, x in ((val[0], val_x28), (real[0], real_x28), (negs, negs_x28))]
        threshold = refusal_threshold(val[0], t, MAX_VAL_REFUSED, scores[0])
        refused = [np.mean(p >= threshold) for p in scores]
        print(f"threshold {threshold:.4f} (steadied): refuses {refused[0]:.2%} of validation digits, {refused[1]:.2%} "
              f"of realistic digits, {refused[2]:.1%} of the tuning negatives")
        judgement = {"judgement": {"threshold": float(threshold), "steadied": True, "false_refusals": MAX_VAL_REFUSED,
                                   "fitted_on": f"MNIST validation ({val_size})"}}
    if args.write:
        update_metadata(args.checkpoint, {"calibration": {
            "temperature": t, "novelty": fitted.novelty,
            "fitted_on": f"realistic digits (seed {args.seed}) within an ECE of {MAX_VAL_ECE:.2%} on MNIST validation "
                         f"({val_size})"},
            **judgement})
        print(f"wrote the calibration into {args.checkpoint}; now: digitrec export {args.checkpoint} OUT_DIR")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
