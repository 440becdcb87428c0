"""The training loop. MNIST lives on the device as uint8 tensors; each epoch is one permutation sliced
into batches; normalisation and augmentation run on whole batches on the device.

Reproducibility: every epoch reseeds the random generators from (seed, epoch), so the same seed on
the same device gives the same numbers, and `resume` continues an interrupted run to the same final
weights as an uninterrupted one (the `last` checkpoint holds the optimizer state).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import checkpoints, models
from .augment import augment_batch
from .config import MNIST_MEAN, MNIST_STD, TrainConfig
from .data import load_mnist
from .devices import choose_bf16, resolve_device
from .errors import DigitrecError
from .evaluation import loss_and_accuracy
from .fileio import atomic_write
from .optim import learning_rate, load_optimizer_tensors, make_optimizer, optimizer_tensors

METRIC_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
                  "lr", "epoch_seconds", "elapsed_seconds", "images_per_second"]


def process_start_time() -> float:
    """Wall-clock time (time.time()) at which this process started, imports included."""
    try:  # Linux: field 22 of /proc/self/stat is the start time in clock ticks after boot.
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return _IMPORT_TIME


_IMPORT_TIME = time.time()


def seed_epoch(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    """Seed everything for one epoch, and return the generator for its permutation and augmentation."""
    epoch_seed = seed * 1_000_003 + epoch
    torch.manual_seed(epoch_seed)  # dropout or any other use of the global generator
    return torch.Generator(device=device).manual_seed(epoch_seed)


@dataclass
class TrainResult:
    config: TrainConfig
    out_dir: Path
    rows: list[dict[str, float]] = field(default_factory=list)

    @property
    def test_acc(self) -> float:
        return self.rows[-1]["test_acc"]

    @property
    def test_loss(self) -> float:
        return self.rows[-1]["test_loss"]

    @property
    def elapsed_seconds(self) -> float:
        return self.rows[-1]["elapsed_seconds"]


def _write_metrics(rows: list[dict[str, float]], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows)
    atomic_write(path, buffer.getvalue().encode())


def train(cfg: TrainConfig, on_epoch: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
    """Train from scratch as `cfg` says, writing metrics, plots and checkpoints into `cfg.out`."""
    return _run(cfg, start_epoch=0, state=None, on_epoch=on_epoch)


def resume(run_dir: str | Path, quiet: bool = False,
           on_epoch: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
    """Continue an interrupted run from RUN_DIR/last.safetensors, with the config it was started with."""
    path = Path(run_dir) / "last.safetensors"
    if not path.is_file():
        raise DigitrecError(f"{path}: no such checkpoint; pass the run directory of an interrupted "
                            "`digitrec train` (it holds last.safetensors)")
    metadata, model_state, optimizer_state = checkpoints.load(path)
    cfg = TrainConfig.from_dict(metadata["config"]).replace(out=str(run_dir), quiet=quiet)
    if metadata["epoch"] >= cfg.epochs:
        raise DigitrecError(f"{run_dir}: the run already finished all {cfg.epochs} epochs; nothing to resume")
    state = {"model": model_state, "optimizer": optimizer_state, "rows": metadata["rows"],
             "best": metadata.get("best_val_acc", -1.0)}
    return _run(cfg, start_epoch=metadata["epoch"], state=state, on_epoch=on_epoch)


def _run(cfg: TrainConfig, start_epoch: int, state: dict[str, Any] | None,
         on_epoch: Callable[[dict[str, float]], None] | None) -> TrainResult:
    t_start = process_start_time()
    device = resolve_device(cfg.device)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    spec = models.get_spec(cfg.model)
    memory_format = torch.channels_last if spec.channels_last else torch.contiguous_format
    log = _Log(cfg.quiet)

    mnist = load_mnist(cfg.data_dir or None)
    images = torch.from_numpy(mnist.train_images).unsqueeze(1).to(device)  # (60000, 1, 28, 28) uint8
    labels = torch.from_numpy(mnist.train_labels).long().to(device)
    test_images = torch.from_numpy(mnist.test_images).unsqueeze(1).to(device)
    test_labels = torch.from_numpy(mnist.test_labels).long().to(device)
    if not 0 <= cfg.val_size < len(images) - 1000:
        raise DigitrecError(f"--val-size {cfg.val_size}: must be between 0 and {len(images) - 1000}")
    val_images, val_labels = images[len(images) - cfg.val_size:], labels[len(images) - cfg.val_size:]
    n_train = len(images) - cfg.val_size
    if cfg.train_limit:
        n_train = min(n_train, cfg.train_limit)
    images, labels = images[:n_train], labels[:n_train]
    if n_train < cfg.batch_size:
        raise DigitrecError(f"--train-limit {n_train} is smaller than --batch-size {cfg.batch_size}")

    torch.manual_seed(cfg.seed)
    model_kwargs = {**spec.kwargs, **({} if cfg.normalize else {"raw_pixels": True})}
    model = models.build(cfg.model, **model_kwargs).to(device, memory_format=memory_format)
    bf16 = choose_bf16(cfg.precision, device, model, cfg.batch_size, log.line)
    # Saved as chosen, so that --resume continues in the precision the run started with.
    cfg = cfg.replace(precision="bf16" if bf16 else "fp32")
    out = Path(cfg.out)  # created only once the model and the data are known to be good
    atomic_write(out / "config.json", json.dumps(cfg.to_dict(), indent=2).encode())
    optimizer = make_optimizer(cfg, model.parameters())
    rows: list[dict[str, float]] = []
    best_val = -1.0
    if state is not None:
        model.load_state_dict(state["model"])
        load_optimizer_tensors(optimizer, state["optimizer"])
        rows, best_val = state["rows"], state["best"]
    elapsed_before = rows[-1]["elapsed_seconds"] if rows else 0.0
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    log.line(f"training {cfg.model} ({models.parameter_count(model):,} parameters) on {n_train:,} images, "
             f"{device.type}{', bf16' if bf16 else ''}, {cfg.epochs} epochs of {steps_per_epoch} steps")

    for epoch in range(start_epoch, cfg.epochs):
        t_epoch = time.time()
        generator = seed_epoch(cfg.seed, epoch, device)
        order = torch.randperm(n_train, generator=generator, device=device)
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        bar = log.bar(steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}")
        for i in range(steps_per_epoch):
            step = epoch * steps_per_epoch + i
            lr = learning_rate(cfg, step, total_steps, steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            batch = images[index].float() * (1 / 255)
            if cfg.augment:
                batch = augment_batch(batch, generator, cfg.aug_strength)
            batch = ((batch - MNIST_MEAN) / MNIST_STD).contiguous(memory_format=memory_format)
            target = labels[index]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(batch)
            loss = F.cross_entropy(logits.float(), target, label_smoothing=cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
            correct += (logits.argmax(1) == target).sum()
            if bar is not None and (i % 20 == 19 or i == steps_per_epoch - 1):
                seen = min((i + 1) * cfg.batch_size, n_train)
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.2%}",
                                refresh=False)
                bar.update(i + 1 - bar.n)
        if bar is not None:
            bar.close()
        if not math.isfinite(loss_sum.item()):
            raise DigitrecError(f"training diverged in epoch {epoch + 1} (loss is not finite); "
                                f"lower --lr (now {cfg.lr})")
        epoch_seconds = time.time() - t_epoch
        test_loss, test_acc = loss_and_accuracy(model, test_images, test_labels, bf16)
        val_loss, val_acc = (loss_and_accuracy(model, val_images, val_labels, bf16) if cfg.val_size
                             else (None, None))
        row = {"epoch": epoch + 1, "train_loss": loss_sum.item() / n_train, "train_acc": correct.item() / n_train,
               "val_loss": val_loss, "val_acc": val_acc, "test_loss": test_loss, "test_acc": test_acc,
               "lr": lr, "epoch_seconds": epoch_seconds,
               "elapsed_seconds": elapsed_before + time.time() - t_start,
               "images_per_second": n_train / epoch_seconds}
        rows.append(row)
        log.line(f"epoch {epoch + 1:>3}/{cfg.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.2%}"
                 + (f"  val acc {val_acc:.2%}" if cfg.val_size else "")
                 + f"  test loss {test_loss:.4f} acc {test_acc:.2%}  {epoch_seconds:.1f} s"
                 f"  {row['images_per_second']:,.0f} img/s")
        _write_metrics(rows, out / "metrics.csv")
        metrics = {k: row[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc")}
        if cfg.val_size:
            metrics.update(val_loss=val_loss, val_acc=val_acc)
        metadata = checkpoints.build_metadata(cfg.model, model_kwargs, cfg.to_dict(), metrics, epoch + 1)
        is_best = not cfg.val_size or val_acc > best_val
        best_val = max(best_val, val_acc) if cfg.val_size else best_val
        checkpoints.save(out / "last.safetensors", {**metadata, "rows": rows, "best_val_acc": best_val},
                         model.state_dict(), optimizer_tensors(optimizer))
        if is_best:
            checkpoints.save(out / "best.safetensors", metadata, model.state_dict())
        if on_epoch is not None:
            on_epoch(row)

    from .plots import save_curves

    save_curves(rows, out / "curves.png")
    return TrainResult(cfg, out, rows)


class _Log:
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
