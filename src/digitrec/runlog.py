"""What a training run reports as it goes: epoch lines on stdout, a live bar on a terminal, and
metrics.csv. Elapsed time counts from the process's start, imports and data loading included."""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from pathlib import Path
from typing import Any

from .fileio import atomic_write

METRIC_COLUMNS = ["epoch", "train_loss", "train_acc", "train_clean_loss", "val_loss", "val_acc", "test_loss",
                  "test_acc", "lr", "epoch_seconds", "elapsed_seconds", "images_per_second"]


def process_start_time() -> float:
    """Wall-clock time (time.time()) at which this process started, imports included."""
    try:  # Linux: field 22 of /proc/self/stat is the start time in clock ticks after boot.
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return _IMPORT_TIME


_IMPORT_TIME = time.time()


def write_metrics(rows: list[dict[str, Any]], path: Path) -> None:
    """metrics.csv, one row per epoch, written atomically (a reader never sees half a file)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows)
    atomic_write(path, buffer.getvalue().encode())


def epoch_line(row: dict[str, Any], epochs: int) -> str:
    return (f"epoch {row['epoch']:>3}/{epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.2%}"
            + (f"  val acc {row['val_acc']:.2%}" if row.get("val_acc") is not None else "")
            + f"  test loss {row['test_loss']:.4f} acc {row['test_acc']:.2%}  {row['epoch_seconds']:.1f} s"
            f"  {row['images_per_second']:,.0f} img/s")


class Log:
    """Epoch lines on stdout; a live tqdm bar on a terminal only; nothing when quiet."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def bar(self, total: int, description: str) -> Any:
        if not self.live:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=description, leave=False, dynamic_ncols=True)
