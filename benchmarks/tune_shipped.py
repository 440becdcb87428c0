"""Fit the shipped model's calibration and choose its "not a digit" operating point, on tuning data
only, and write both into the checkpoint (then `digitrec export` it).

    python benchmarks/tune_shipped.py CHECKPOINT [--seed 0] [--per-category 60] [--write]

The data: the MNIST validation split the checkpoint was trained without (its config's val_size, the
last images of the training set) and the synthetic realistic digits and negatives of benchmarks/synth
at a tuning seed (default 0). Never the MNIST test set, never a reporting seed.
- Temperature: one scalar for every input. One T cannot calibrate both sets (at the T that fits
  MNIST the realistic digits, read less often right, are over-confident; at theirs MNIST is
  under-confident), so T minimises the realistic digits' NLL among the T whose ECE on the MNIST
  validation split stays at most MAX_VAL_ECE.
- Threshold on P(not a digit): the lowest that refuses at most MAX_VAL_REFUSED of the validation
  digits; the refusal rates of the realistic digits and the tuning negatives at that point are
  printed.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from digitrec import Recognizer
from digitrec.calibration import fit_temperature, nll, refusal_threshold
from digitrec.checkpoints import read_metadata, update_metadata
from digitrec.data import load_split
from digitrec.errors import DigitrecError
from digitrec.evaluation import expected_calibration_error
from digitrec.judgement import not_a_digit_probability
from digitrec.recognizer import softmax
from synth import digits, negatives

MAX_VAL_REFUSED = 0.001  # of MNIST validation digits refused as not a digit
MAX_VAL_ECE = 0.0075  # a margin under the 1% calibration error wanted on MNIST


def logits_of(recognizer: Recognizer, samples: list) -> tuple[np.ndarray, np.ndarray]:
    x28, labels = [], []
    for s in samples:
        try:
            x28.append(recognizer.prepare(s.data))
            labels.append(-1 if s.label is None else int(s.label))
        except DigitrecError:
            continue
    return recognizer.logits(np.stack(x28)).astype(np.float64), np.array(labels)


def fit_temperature_within(val: tuple[np.ndarray, np.ndarray], real: tuple[np.ndarray, np.ndarray]) -> float:
    """The T minimising the realistic digits' NLL among those keeping MNIST validation's ECE at most
    MAX_VAL_ECE (the T fitted on MNIST validation alone when none does)."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(5), 400))
    allowed = [t for t in grid if expected_calibration_error(softmax(val[0][:, :10] / t), val[1]) <= MAX_VAL_ECE]
    if not allowed:
        return fit_temperature(val[0][:, :10], val[1])
    return float(min(allowed, key=lambda t: nll(real[0][:, :10], real[1], t)))


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
    val = recognizer.logits(images[-val_size:]).astype(np.float64), labels[-val_size:].astype(np.int64)
    real = logits_of(recognizer, digits(args.per_category, args.seed))
    negs, _ = logits_of(recognizer, negatives(args.per_category, args.seed))
    t = fit_temperature_within(val, real)
    for name, (z, y) in (("MNIST validation", val), ("realistic digits", real)):
        print(f"{name:18s} ECE raw {expected_calibration_error(softmax(z[:, :10]), y):.2%}  "
              f"ECE at T={t:.3f} {expected_calibration_error(softmax(z[:, :10] / t), y):.2%}")
    judgement = {}
    if val[0].shape[1] == 11:
        threshold = refusal_threshold(val[0], t, MAX_VAL_REFUSED)
        refused = [np.mean(not_a_digit_probability(z) >= threshold) for z in (val[0], real[0], negs)]
        print(f"threshold {threshold:.4f}: refuses {refused[0]:.2%} of validation digits, {refused[1]:.2%} of "
              f"realistic digits, {refused[2]:.1%} of the tuning negatives")
        judgement = {"judgement": {"threshold": float(threshold), "false_refusals": MAX_VAL_REFUSED,
                                   "fitted_on": f"MNIST validation ({val_size})"}}
    if args.write:
        update_metadata(args.checkpoint, {"calibration": {
            "temperature": t, "fitted_on": f"realistic digits (seed {args.seed}) within an ECE of "
                                          f"{MAX_VAL_ECE:.2%} on MNIST validation ({val_size})"},
            **judgement})
        print(f"wrote the calibration into {args.checkpoint}; now: digitrec export {args.checkpoint} OUT_DIR")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
