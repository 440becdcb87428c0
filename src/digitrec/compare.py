"""`digitrec compare RUN_DIR...`: training runs side by side, from what each run wrote.

Each run folder of `digitrec train` holds config.json (the recipe), metrics.csv (one row per epoch)
and best.safetensors (the model, whose header gives its parameter count without loading torch).
A folder that cannot be read gives its own error and every other run is still compared.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .checkpoints import read_header
from .config import TrainConfig
from .errors import DigitrecError
from .fileio import read_bounded

MAX_FILE_BYTES = 16 * 2**20  # a run's config.json or metrics.csv (a 10,000-epoch run is ~2 MB)
NEEDED = ("epoch", "test_loss", "test_acc", "epoch_seconds", "elapsed_seconds", "images_per_second")
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")  # BatchNorm state, not parameters


@dataclass(frozen=True)
class RunSummary:
    name: str  # the run folder's name
    path: str
    model: str
    parameters: int | None  # None without best.safetensors (a run stopped before its first epoch ended)
    recipe: str
    epochs: int  # epochs trained
    planned_epochs: int
    best_test_acc: float  # the highest test accuracy over the epochs (for display: no model is chosen on it)
    best_epoch: int
    last_test_acc: float
    wall_seconds: float  # from the process's start to the end of the last epoch, data loading included
    images_per_second: float  # training images per second of training, over all epochs
    rows: list[dict[str, float]] = field(repr=False)  # metrics.csv, for the curves

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["rows"]
        return out


def recipe_text(cfg: TrainConfig) -> str:
    """A recipe in a few words: optimizer and learning rate, schedule, batch, loss, data."""
    nesterov = " Nesterov" if cfg.optimizer == "sgd" and cfg.nesterov and cfg.momentum else ""
    parts = [f"{cfg.optimizer}{nesterov} lr {cfg.lr:g}"] + [cfg.schedule] * (cfg.schedule != "constant")
    parts.append(f"batch {cfg.batch_size}")
    if cfg.loss == "mse":
        parts.append("MSE on the softmax")
    elif cfg.label_smoothing:
        parts.append(f"label smoothing {cfg.label_smoothing:g}")
    if cfg.augment:
        parts.append("augmented" + (f" x{cfg.aug_strength:g}" if cfg.aug_strength != 1 else "")
                     + (f" ({cfg.blur:.0%} blurred)" if cfg.blur else ""))
    if cfg.negatives:
        parts.append(f"{cfg.negatives:.1%} not-a-digit" + (" with joined halves" if cfg.negative_halves else ""))
    if cfg.flagged_ones:
        parts.append(f"{cfg.flagged_ones} flagged 1s")
    if cfg.drawn_digits:
        parts.append(f"{cfg.drawn_digits} drawn digits")
    if cfg.paper_digits:
        parts.append(f"{cfg.paper_digits} digits on paper")
    if cfg.paper_negatives:  # only with --negatives (TrainConfig checks)
        parts.append(f"{cfg.paper_negatives} non-digits on paper")
    if cfg.ema:
        parts.append(f"weights averaged (EMA {cfg.ema:g})")
    if not cfg.normalize:
        parts.append("raw 0..1 pixels")
    if cfg.init:
        parts.append(f"fine-tuned from {Path(cfg.init).name}")
    return ", ".join(parts)


def _config(run: Path) -> TrainConfig:
    path = run / "config.json"
    try:
        return TrainConfig.from_dict(json.loads(read_bounded(path, MAX_FILE_BYTES, "config file")))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise DigitrecError(str(path), "is not valid JSON", "pass a run folder of `digitrec train`",
                            kind="unreadable") from None
    except DigitrecError as err:
        if err.kind == "not-found":
            raise
        raise DigitrecError(str(path), f"holds no valid training config ({err})", "pass a run folder of "
                            "`digitrec train`", kind="unreadable") from None


def _rows(run: Path) -> list[dict[str, float]]:
    path = run / "metrics.csv"
    try:
        table = list(csv.DictReader(io.StringIO(read_bounded(path, MAX_FILE_BYTES, "metrics file").decode())))
        rows = [{k: float(v) for k, v in row.items() if k in NEEDED} for row in table]
    except (UnicodeDecodeError, csv.Error, ValueError, TypeError):
        raise DigitrecError(str(path), "is not a metrics.csv of `digitrec train`", "pass a run folder",
                            kind="unreadable") from None
    missing = [k for k in NEEDED if not rows or k not in rows[0]]
    if missing or not all(math.isfinite(v) for row in rows for v in row.values()):
        raise DigitrecError(str(path), f"has no epochs or lacks {', '.join(missing) or 'finite values'}",
                            "pass the folder of a run that finished at least one epoch", kind="unreadable")
    return rows


def parameter_count(checkpoint: Path) -> int | None:
    """The model's parameters, from the checkpoint's header alone (BatchNorm statistics left out)."""
    if not checkpoint.is_file():
        return None
    _, shapes = read_header(checkpoint)
    return sum(math.prod(shape) for name, (_, shape) in shapes.items()
               if name.startswith("model.") and not name.endswith(BUFFERS) and isinstance(shape, list))


def read_run(run_dir: str | Path) -> RunSummary:
    """The summary of one run folder; DigitrecError if it is not one."""
    run = Path(run_dir)
    if not run.is_dir():
        raise DigitrecError(str(run), "no such run folder" if not run.exists() else "is not a folder",
                            "pass the --out folder of a `digitrec train` run", kind="not-found")
    cfg, rows = _config(run), _rows(run)
    best = max(rows, key=lambda r: r["test_acc"])
    seconds = sum(r["epoch_seconds"] for r in rows)
    images = sum(r["images_per_second"] * r["epoch_seconds"] for r in rows)
    return RunSummary(run.resolve().name, str(run), cfg.model, parameter_count(run / "best.safetensors"),
                      recipe_text(cfg), len(rows), cfg.epochs, best["test_acc"], int(best["epoch"]),
                      rows[-1]["test_acc"], rows[-1]["elapsed_seconds"], images / seconds if seconds > 0 else 0.0,
                      rows)


def read_runs(run_dirs: Sequence[str | Path]) -> list[RunSummary | DigitrecError]:
    """Each run's summary, or its error in its place."""
    results: list[RunSummary | DigitrecError] = []
    for run_dir in run_dirs:
        try:
            results.append(read_run(run_dir))
        except DigitrecError as err:
            results.append(err.detached())
    return results


COLUMNS = ("run", "model", "parameters", "recipe", "epochs", "best test", "last test", "wall time", "images/s")


def table(runs: Sequence[RunSummary]) -> str:
    """The runs as an aligned text table, one line per run."""
    cells = [COLUMNS] + [(r.name, r.model, "?" if r.parameters is None else f"{r.parameters:,}", r.recipe,
                          f"{r.epochs}" if r.epochs == r.planned_epochs else f"{r.epochs}/{r.planned_epochs}",
                          f"{r.best_test_acc:.2%} (ep {r.best_epoch})", f"{r.last_test_acc:.2%}",
                          f"{r.wall_seconds:.1f} s", f"{r.images_per_second:,.0f}") for r in runs]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    right = {2, 4, 6, 7, 8}  # numbers align right

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row))

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(row) for row in cells[1:]])
