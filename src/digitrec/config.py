"""The training configuration: one dataclass, its presets, and the ranges every value must lie in.

Every field maps 1:1 to a `digitrec train` flag (see `cli/parser.py`); the `help` metadata is the
flag's help text. The whole config is saved inside every checkpoint, so a run can be reproduced from
it. A config is validated when it is made, so a bad flag, or a hostile checkpoint's config, is one
line naming the flag, never a traceback deep inside training.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import DigitrecError, option_error

OPTIMIZERS = ("sgd", "adam", "adamw", "adadelta")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
PRECISIONS = ("auto", "fp32", "bf16")
LOSSES = ("cross-entropy", "mse")


def _opt(default: Any, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class TrainConfig:
    """A complete training recipe plus where to read data and write results."""

    model: str = _opt("digitnet", "architecture, see `digitrec models`")
    epochs: int = _opt(8, "passes over the training images")
    batch_size: int = _opt(128, "images per optimisation step, over all processes")
    optimizer: str = _opt("sgd", "optimizer", choices=OPTIMIZERS)
    lr: float = _opt(0.1, "peak learning rate")
    momentum: float = _opt(0.9, "momentum (sgd); beta1 (adam, adamw)")
    nesterov: bool = _opt(True, "Nesterov momentum (sgd)")
    weight_decay: float = _opt(5e-4, "L2 weight decay (decoupled for adamw)")
    ema: float = _opt(0.0, "keep an exponential moving average of the weights (and BatchNorm statistics) with "
                      "this decay per step, e.g. 0.999; the average is what is evaluated, calibrated and saved "
                      "(0: off)")
    schedule: str = _opt("onecycle", "learning-rate schedule", choices=SCHEDULES)
    warmup: float = _opt(0.1, "fraction of steps spent warming up (onecycle)")
    step_size: int = _opt(1, "epochs between learning-rate drops (step schedule)")
    gamma: float = _opt(0.7, "learning-rate factor at each drop (step schedule)")
    loss: str = _opt("cross-entropy", "training loss: cross-entropy on logits, or mse of the softmax "
                     "against one-hot targets (as one tutorial does)", choices=LOSSES)
    label_smoothing: float = _opt(0.1, "cross-entropy label smoothing")
    normalize: bool = _opt(True, "standardise pixels with MNIST's mean and std (off: the model sees "
                           "raw 0..1 pixels, as in some tutorials)")
    augment: bool = _opt(True, "random affine augmentation of training batches")
    aug_strength: float = _opt(1.0, "scales every augmentation range (1.0: shift 2 px, "
                               "rotation 10 deg, scale 10%, shear 10 deg, stroke width)")
    negative_halves: bool = _opt(False, "with --negatives, also halves and quarters of different MNIST "
                                 "digits joined, as not-a-digit images")
    blur: float = _opt(0.0, "this share of the augmented training images is blurred (a Gaussian of "
                       "0.4 to 1.2 px), as small digits in photos are once enlarged (0: none)")
    negatives: float = _opt(0.0, "outlier exposure: this fraction of each batch is generated images "
                            "that are not one digit (letters, symbols, scribbles, shapes, pairs of "
                            "digits), learnt as an 11th class 'not a digit' (0: a plain 10-class model)")
    flagged_ones: int = _opt(0, "add this many generated 1s with a flag (MNIST training 1s with a "
                             "flag drawn on, as much of the world writes a 1) to the training images")
    drawn_digits: int = _opt(0, "add this many generated digits, drawn by pen strokes and in print fonts "
                             "(forms MNIST seldom holds: based 1s, crossed 7s, open 4s), to the training images")
    paper_digits: int = _opt(0, "add this many training digits written on generated pages (ruled, squared, "
                             "boxed, in cells; coloured paper and pens, blur, JPEG) and brought to MNIST "
                             "form by the real preprocessing, with what it leaves of the page")
    paper_negatives: int = _opt(0, "with --negatives, add this many generated non-digits on such pages to "
                                "the not-a-digit pool")
    init: str = _opt("", "start from this checkpoint's weights instead of random ones (fine-tuning); "
                     "it must hold --model with the same outputs")
    val_size: int = _opt(5000, "hold out the last N training images to pick the `best` checkpoint "
                         "and fit the calibration (0: train on all; `best` is the last epoch and the "
                         "calibration is fitted on augmented training images)")
    train_limit: int = _opt(0, "train on the first N training images only (0: all)")
    seed: int = _opt(0, "random seed (same seed, device and precision give the same numbers)")
    device: str = _opt("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    threads: int = _opt(0, "CPU threads for torch (0: one per core, shared among local processes)")
    precision: str = _opt("auto", "auto: bf16 autocast on CUDA; on CPUs with AVX-512 BF16 or AMX, "
                          "bf16 if a few timed steps show it faster there; fp32 otherwise",
                          choices=PRECISIONS)
    data_dir: str = _opt("", "read MNIST from this folder (ours or torchvision's layout) "
                         "instead of the embedded copy")
    out: str = _opt("runs/latest", "run directory for metrics, plots and checkpoints")
    quiet: bool = _opt(False, "print nothing but errors")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_type(f, getattr(self, f.name))
        for name, value, ok, must in _ranges(self):
            if not ok:
                raise option_error(flag(name), value, must)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config saved in a checkpoint or config.json; unknown keys (from newer versions) are ignored."""
        if not isinstance(values, dict):
            raise DigitrecError(None, "the saved training config is not a JSON object", kind="bad-model")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def flag(name: str) -> str:
    """The command-line flag of a config field."""
    return "--" + name.replace("_", "-")


def _check_type(f: dataclasses.Field, value: Any) -> None:
    kind = {"int": int, "float": float, "str": str, "bool": bool}[str(f.type)]
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True  # JSON writes 1.0 as 1 in some tools
    if not ok:
        raise option_error(flag(f.name), repr(value), {int: "an integer", float: "a number", str: "a string",
                                                       bool: "true or false"}[kind])
    if f.metadata.get("choices") and value not in f.metadata["choices"]:
        raise option_error(flag(f.name), repr(value), "one of " + ", ".join(f.metadata["choices"]))


def _finite(x: float) -> bool:
    return math.isfinite(x)


def _ranges(c: TrainConfig) -> list[tuple[str, Any, bool, str]]:
    """(field, value, whether it is in range, what it must be) for every bounded field."""
    return [
        ("model", c.model, bool(c.model), "an architecture name (see `digitrec models`)"),
        ("epochs", c.epochs, 1 <= c.epochs <= 10_000, "between 1 and 10000"),
        ("batch_size", c.batch_size, 1 <= c.batch_size <= 65_536, "between 1 and 65536"),
        ("lr", c.lr, _finite(c.lr) and 0 < c.lr <= 100, "positive and at most 100"),
        ("momentum", c.momentum, _finite(c.momentum) and 0 <= c.momentum < 1, "at least 0 and below 1"),
        ("weight_decay", c.weight_decay, _finite(c.weight_decay) and 0 <= c.weight_decay <= 1, "between 0 and 1"),
        ("ema", c.ema, _finite(c.ema) and 0 <= c.ema < 1, "at least 0 and below 1"),
        ("warmup", c.warmup, _finite(c.warmup) and 0 <= c.warmup <= 1, "between 0 and 1"),
        ("step_size", c.step_size, 1 <= c.step_size <= 10_000, "between 1 and 10000"),
        ("gamma", c.gamma, _finite(c.gamma) and 0 < c.gamma <= 1, "above 0 and at most 1"),
        ("label_smoothing", c.label_smoothing, _finite(c.label_smoothing) and 0 <= c.label_smoothing < 1,
         "at least 0 and below 1"),
        ("aug_strength", c.aug_strength, _finite(c.aug_strength) and 0 <= c.aug_strength <= 4, "between 0 and 4"),
        ("blur", c.blur, _finite(c.blur) and 0 <= c.blur <= 1, "between 0 and 1"),
        ("negatives", c.negatives, _finite(c.negatives) and 0 <= c.negatives <= 0.5, "between 0 and 0.5"),
        ("flagged_ones", c.flagged_ones, 0 <= c.flagged_ones <= 60_000, "between 0 and 60000"),
        ("drawn_digits", c.drawn_digits, 0 <= c.drawn_digits <= 60_000, "between 0 and 60000"),
        ("paper_digits", c.paper_digits, 0 <= c.paper_digits <= 60_000, "between 0 and 60000"),
        ("paper_negatives", c.paper_negatives,
         0 <= c.paper_negatives <= 60_000 and bool(c.negatives or not c.paper_negatives),
         "between 0 and 60000, and 0 without --negatives (there is no not-a-digit pool to add them to)"),
        ("val_size", c.val_size, 0 <= c.val_size <= 50_000, "between 0 and 50000"),
        ("train_limit", c.train_limit, 0 <= c.train_limit <= 60_000, "between 0 (all) and 60000"),
        ("seed", c.seed, 0 <= c.seed < 2**31, "between 0 and 2147483647"),
        ("threads", c.threads, 0 <= c.threads <= 1024, "between 0 (one per core) and 1024"),
        ("device", c.device, bool(c.device.strip()), "auto, cpu, cuda, cuda:N or mps"),
        ("out", c.out, bool(c.out.strip()), "a folder path"),
    ]


# The tutorials' recipes, reproduced exactly (model, optimizer, learning rate, batch size, epochs;
# no augmentation, no label smoothing, no schedule), so they can be compared on the same footing.
# Like every recipe they train under bf16 autocast where that is faster (--precision fp32 for the
# tutorials' plain float32 arithmetic).
_TUTORIAL = dict(augment=False, label_smoothing=0.0, weight_decay=0.0, schedule="constant",
                 nesterov=False, momentum=0.0, val_size=0)  # the tutorials train on all 60,000

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # Our fastest recipe to 99.0% test accuracy: one epoch of a narrow digitnet.
    "speedrun": dict(model="digitnet-s", epochs=1, batch_size=64, lr=0.06, augment=False,
                     label_smoothing=0.1, warmup=0.1),
    # The recipe of the shipped model: a 3x3 conv head, longer, augmented for real-world inputs
    # (a quarter blurred as small photographed digits are, 3,000 flagged 1s). It also learns "not a
    # digit" from generated negatives (an eighth of each batch, joined halves of digits among them),
    # and keeps an average of its weights (--ema), which is what is saved.
    "shipped": dict(model="digitnet-m", epochs=20, aug_strength=1.25, negatives=0.125, negative_halves=True,
                    blur=0.25, flagged_ones=3000, ema=0.999),
    # This tutorial feeds raw 0..1 pixels; its lr of 0.8 diverges on standardised ones.
    "tutorial-mlp": dict(_TUTORIAL, model="mlp", optimizer="sgd", lr=0.8, batch_size=64, epochs=5,
                         normalize=False),
    "tutorial-lenet": dict(_TUTORIAL, model="lenet", optimizer="sgd", lr=0.01, momentum=0.5,
                           batch_size=32, epochs=5),
    "tutorial-convnet-bn": dict(_TUTORIAL, model="convnet-bn", optimizer="adam", lr=1e-3,
                                momentum=0.9, batch_size=100, epochs=5),
    "tutorial-cnn": dict(_TUTORIAL, model="cnn", optimizer="adam", lr=1e-3, momentum=0.9,
                         batch_size=50, epochs=1),
    # The deep MLP tutorial: a softmax output trained by mean squared error against one-hot targets
    # (not cross-entropy), Adam 1e-3, batch 512, on raw 0..1 pixels (x / 255).
    "tutorial-mlp-deep": dict(_TUTORIAL, model="mlp-deep", loss="mse", optimizer="adam", lr=1e-3, momentum=0.9,
                              batch_size=512, epochs=10, normalize=False),
}


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """The config of a preset, with explicit overrides applied on top."""
    if name not in PRESETS:
        raise DigitrecError(f"--preset {name}", "unknown preset", f"choose one of {', '.join(PRESETS)}")
    return TrainConfig(**{**PRESETS[name], **overrides})
