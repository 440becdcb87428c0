"""Training, in the named steps of torchvision's references: load the splits, build the model, then
per epoch train_one_epoch, evaluate and save_epoch.

MNIST lives on the device as uint8 tensors; each epoch is one permutation sliced into batches;
augmentation and normalisation run on whole batches on the device (`batches.to_model_input`).
Under torchrun every process trains its share of each batch in DistributedDataParallel, and rank 0
alone evaluates and writes (`distributed.py`, `ranks.py`).
Reproducibility: every epoch reseeds the random generators from (seed, epoch), so the same seed on
the same device in the same precision gives the same numbers, and `resume` continues an interrupted
run to the same final weights as an uninterrupted one (the `last` checkpoint holds the optimizer
state and the metrics rows).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel

from . import checkpoints, distributed, models, ranks, speedups
from .augment import augment_batch
from .batches import to_model_input, with_negatives
from .calibration import fit_temperature, refusal_threshold
from .config import TrainConfig
from .data import MNIST_NORMALIZATION, RAW_PIXELS, Normalization, load_split
from .errors import DigitrecError
from .evaluation import calibration_error, loss_and_accuracy, predict_logits
from .fileio import atomic_write, writable_dir
from .judgement import not_a_digit_probability, steadied
from .metadata import build_metadata
from .optim import averaged, learning_rate, make_optimizer, resume_tensors
from .runlog import Log, epoch_line, process_start_time, write_metrics
from .training_state import TrainState

MIN_TEST_FREE = 1000  # --val-size must leave at least this many training images
NEGATIVE_POOL = 6000  # generated not-a-digit images (about 30 s), each augmented anew whenever drawn
CALIBRATION_IMAGES = 5000  # without a validation split, augmented training images fit the temperature
CALIBRATION_AUGMENT = 1.5  # stronger than training's, so these images are less familiar than they are
FALSE_REFUSALS = 0.001  # the share of held-out real digits the judgement may refuse as "not a digit"




@dataclass
class Splits:
    """The images (N, 1, 28, 28) uint8 and labels (N,) int64 of each split, on the training device."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    negatives: torch.Tensor | None = None  # generated not-a-digit images (outlier exposure)


@dataclass
class TrainResult:
    config: TrainConfig
    out_dir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def test_acc(self) -> float:
        return self.rows[-1]["test_acc"]

    @property
    def test_loss(self) -> float:
        return self.rows[-1]["test_loss"]

    @property
    def elapsed_seconds(self) -> float:
        return self.rows[-1]["elapsed_seconds"]


def seed_epoch(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    """Seed everything for one epoch, and return the generator for its permutation and augmentation."""
    epoch_seed = seed * 1_000_003 + epoch
    torch.manual_seed(epoch_seed)  # dropout or any other use of the global generator
    return torch.Generator(device=device).manual_seed(epoch_seed)


def load_splits(cfg: TrainConfig, device: torch.device) -> Splits:
    """Train (the first images, at most --train-limit), validation (the last --val-size training
    images) and test, verified and moved to `device`."""
    images, labels = (torch.from_numpy(a) for a in load_split("train", cfg.data_dir or None))
    test_images, test_labels = (torch.from_numpy(a) for a in load_split("test", cfg.data_dir or None))
    if cfg.val_size > len(images) - MIN_TEST_FREE:
        raise DigitrecError(f"--val-size {cfg.val_size}", f"must be at most {len(images) - MIN_TEST_FREE}",
                            "hold out fewer images")
    n_train = len(images) - cfg.val_size
    n_train = min(n_train, cfg.train_limit) if cfg.train_limit else n_train
    if n_train < cfg.batch_size:
        raise DigitrecError(f"--train-limit {n_train}", f"is smaller than --batch-size {cfg.batch_size}",
                            "train on more images or use smaller batches")

    def put(x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(1) if x.dim() == 3 else x.long()).to(device)

    val = slice(len(images) - cfg.val_size, len(images))
    # Drawn from the training digits only: the validation and test sets stay unseen.
    train_set = images[:n_train].numpy(), labels[:n_train].numpy()
    pool = put(torch.from_numpy(negative_pool(cfg, *train_set))) if cfg.negatives else None
    more, more_labels = generated_digits(cfg, *train_set)
    train_images = torch.cat([images[:n_train], torch.from_numpy(more)])
    train_labels = torch.cat([labels[:n_train], torch.from_numpy(more_labels).to(labels.dtype)])
    return Splits(put(train_images), put(train_labels), put(images[val]), put(labels[val]),
                  put(test_images), put(test_labels), pool)


def negative_pool(cfg: TrainConfig, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The not-a-digit images of outlier exposure, uint8 (N, 28, 28), made from training digits
    (`images`/`labels`) where they need some: NEGATIVE_POOL of them, and --paper-negatives on pages."""
    from .negatives import generate

    pool = generate(NEGATIVE_POOL, cfg.seed, images, labels, cfg.negative_halves)
    if not cfg.paper_negatives:
        return pool
    from .scenes import paper_negatives

    return np.concatenate([pool, paper_negatives(cfg.paper_negatives, cfg.seed, images, labels)])


def generated_digits(cfg: TrainConfig, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training digits MNIST lacks, uint8 (N, 28, 28) and their labels int64 (N,): --flagged-ones (from
    the training 1s among `images`/`labels`), --drawn-digits and --paper-digits (on pages)."""
    parts = [(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))]
    if cfg.flagged_ones:
        from .positives import flagged_ones

        parts.append((flagged_ones(cfg.flagged_ones, cfg.seed, images, labels), np.ones(cfg.flagged_ones, np.int64)))
    if cfg.drawn_digits:
        from .positives import drawn_digits

        parts.append(drawn_digits(cfg.drawn_digits, cfg.seed))
    if cfg.paper_digits:
        from .scenes import paper_digits

        parts.append(paper_digits(cfg.paper_digits, cfg.seed, images, labels))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def build_model(cfg: TrainConfig, device: torch.device, init: bool = True) -> tuple[torch.nn.Module, models.ModelSpec]:
    """A fresh model seeded from cfg.seed (holding --init's weights if `init`), prepared for fast training on
    `device`."""
    spec = models.get_spec(cfg.model)
    torch.manual_seed(cfg.seed)
    model = models.build(cfg.model, **model_kwargs(cfg))
    if cfg.init and init:
        model.load_state_dict(initial_weights(cfg))
    return speedups.accelerate(model, spec, device), spec


def initial_weights(cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """The weights of the --init checkpoint, refused unless it holds exactly the model this run trains."""
    loaded, metadata = checkpoints.load_model(cfg.init)  # validated: names, shapes, finite weights
    wanted = models.check_kwargs(cfg.model, model_kwargs(cfg))
    held = (metadata["model"]["name"], metadata["model"]["kwargs"])
    if held != (cfg.model, wanted):
        raise DigitrecError(f"--init {cfg.init}", f"holds {held[0]} {held[1]}, not {cfg.model} {wanted}",
                            "pass a checkpoint of the same --model (and --negatives on or off as it was)",
                            kind="bad-model")
    return loaded.state_dict()


def model_kwargs(cfg: TrainConfig) -> dict[str, int]:
    """The arguments beyond the registry's: an 11th output when the run learns "not a digit"."""
    return {"classes": 11} if cfg.negatives else {}


def normalization_for(cfg: TrainConfig) -> Normalization:
    return MNIST_NORMALIZATION if cfg.normalize else RAW_PIXELS


def training_loss(logits: torch.Tensor, target: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    if cfg.loss == "mse":  # the softmax against one-hot targets, as one tutorial trains
        return F.mse_loss(logits.softmax(1), F.one_hot(target, logits.shape[1]).float())
    return F.cross_entropy(logits, target, label_smoothing=cfg.label_smoothing)


def objective_text(cfg: TrainConfig) -> str:
    """What `training_loss` computes, in words (the label of curves.png's objective axis)."""
    if cfg.loss == "mse":
        return "mean squared error of the softmax against one-hot targets"
    if cfg.label_smoothing:
        return f"cross-entropy with label smoothing {cfg.label_smoothing:g}"
    return "cross-entropy"


@distributed.exchanging()
def train_one_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, splits: Splits, cfg: TrainConfig,
                    spec: models.ModelSpec, epoch: int, bf16: bool, log: Log,
                    average: AveragedModel | None = None) -> dict[str, float]:
    """One pass over the training images, updating `average` (--ema) after each step; the epoch's
    mean losses, accuracy and last learning rate."""
    images, labels = splits.train_images, splits.train_labels
    n, device = len(images), images.device
    extra = round(cfg.negatives * cfg.batch_size)  # not-a-digit images in each batch
    per_step = cfg.batch_size - extra
    steps = math.ceil(n / per_step)
    generator = seed_epoch(cfg.seed, epoch, device)
    order = torch.randperm(n, generator=generator, device=device)  # the same on every rank
    generator = ranks.augmentation_generator(generator)
    augment = (lambda x: augment_batch(x, generator, cfg.aug_strength, cfg.blur)) if cfg.augment else None
    normalization = normalization_for(cfg)
    model.train()
    sums = torch.zeros(3, device=device, dtype=torch.float64)  # loss, loss without smoothing, correct
    seen = 0  # images of this rank
    bar = log.bar(steps, f"epoch {epoch + 1}/{cfg.epochs}")
    lr = cfg.lr
    for i in range(steps):
        lr = learning_rate(cfg, epoch * steps + i, steps * cfg.epochs, steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        index, weight = ranks.share_of_batch(order[i * per_step:(i + 1) * per_step])
        batch_u8, target = with_negatives(images[index], labels[index], splits.negatives,
                                          ranks.share_of_count(extra) if weight else 0, generator)
        batch = to_model_input(batch_u8, normalization, models.torch_memory_format(spec), augment)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch).float()
        loss = training_loss(logits, target, cfg)
        optimizer.zero_grad(set_to_none=True)
        (loss * weight).backward()
        optimizer.step()
        if average is not None:
            average.update_parameters(model)
        with torch.no_grad():  # the digits' figures: negatives would make them incomparable with test's
            digits = logits[:len(index), :10]
            sums += torch.stack([loss.detach().double() * len(index),
                                 F.cross_entropy(digits, target[:len(index)], reduction="sum").double(),
                                 (digits.argmax(1) == target[:len(index)]).sum().double()]) * (weight > 0)
        seen += len(index) if weight else 0
        if bar is not None and (i % 20 == 19 or i == steps - 1):
            bar.set_postfix(loss=f"{sums[0].item() / seen:.4f}", acc=f"{sums[2].item() / seen:.2%}", refresh=False)
            bar.update(i + 1 - bar.n)
    if bar is not None:
        bar.close()
    loss_sum, clean_sum, correct = ranks.all_sum(sums).tolist()
    if not math.isfinite(loss_sum):
        raise DigitrecError(f"--lr {cfg.lr}", f"training diverged in epoch {epoch + 1} (the loss is not finite)",
                            "lower the learning rate", kind="failed")
    return {"train_loss": loss_sum / n, "train_clean_loss": clean_sum / n, "train_acc": correct / n, "lr": lr}


def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, cfg: TrainConfig,
             spec: models.ModelSpec, bf16: bool) -> tuple[float, float, torch.Tensor]:
    """(cross-entropy, accuracy, logits) on a split."""
    logits = predict_logits(model, images, normalization_for(cfg), models.torch_memory_format(spec), bf16)
    return (*loss_and_accuracy(logits, labels), logits)


def calibrate(model: torch.nn.Module, splits: Splits, cfg: TrainConfig, spec: models.ModelSpec, bf16: bool,
              val_logits: torch.Tensor | None) -> dict[str, Any]:
    """The calibration of this epoch's model, and its judgement of "not a digit": a temperature and the
    threshold that refuses FALSE_REFUSALS of real digits, fitted on the validation split (a model with a
    not-a-digit output judged steadied, `judgement.steadied`), or without one on CALIBRATION_IMAGES
    augmented training images (a weaker stand-in: the model has seen them)."""
    if val_logits is not None:
        logits, labels, fitted_on = val_logits, splits.val_labels, f"validation split ({len(splits.val_labels)})"
    else:
        images, labels = splits.train_images[:CALIBRATION_IMAGES], splits.train_labels[:CALIBRATION_IMAGES]
        generator = torch.Generator(device=images.device).manual_seed(cfg.seed)
        logits = predict_logits(model, images, normalization_for(cfg), models.torch_memory_format(spec), bf16,
                                augment=lambda x: augment_batch(x, generator, CALIBRATION_AUGMENT))
        fitted_on = f"augmented training images ({len(labels)}; no validation split)"
    scores, truth = logits.cpu().numpy(), labels.cpu().numpy()
    temperature = fit_temperature(scores[:, :10], truth)
    judged = not_a_digit_probability(scores)
    # Steadied where held-out digits fit it (the augmented stand-ins are made inside predict_logits, not kept).
    steady = judged is not None and val_logits is not None
    if steady:
        def logits_of(x28: np.ndarray) -> np.ndarray:
            images = torch.from_numpy(x28[:, None]).to(splits.val_images.device)
            return predict_logits(model, images, normalization_for(cfg), models.torch_memory_format(spec),
                                  bf16).cpu().numpy()

        judged = steadied(splits.val_images[:, 0].cpu().numpy(), judged, logits_of)
    return {"calibration": {"temperature": temperature, "fitted_on": fitted_on},
            "judgement": {"threshold": refusal_threshold(scores, temperature, FALSE_REFUSALS, judged),
                          "steadied": steady, "false_refusals": FALSE_REFUSALS, "fitted_on": fitted_on}}


def evaluate_epoch(model: torch.nn.Module, splits: Splits, cfg: TrainConfig, spec: models.ModelSpec,
                   bf16: bool) -> dict[str, Any]:
    """{"metrics": test loss, accuracy and calibration error, and validation's when --val-size holds
    images out; "calibration": this epoch's calibration and judgement}."""
    val_loss, val_acc, val_logits = (evaluate(model, splits.val_images, splits.val_labels, cfg, spec, bf16)
                                     if cfg.val_size else (None, None, None))
    calibration = calibrate(model, splits, cfg, spec, bf16, val_logits)
    test_loss, test_acc, test_logits = evaluate(model, splits.test_images, splits.test_labels, cfg, spec, bf16)
    # Reported, never used to choose anything: the calibration error on the test set.
    test_ece = calibration_error(test_logits, splits.test_labels, calibration["calibration"]["temperature"])
    return {"metrics": {"val_loss": val_loss, "val_acc": val_acc, "test_loss": test_loss, "test_acc": test_acc,
                        "test_ece": test_ece}, "calibration": calibration}


def save_epoch(out: Path, cfg: TrainConfig, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               state: TrainState, calibration: dict[str, Any], average: AveragedModel | None = None) -> None:
    """metrics.csv, last.safetensors (resumable) and, when this epoch is the best so far, best.safetensors,
    each with the epoch's calibration and the weights evaluated (--ema: the average's)."""
    row = state.rows[-1]
    write_metrics(state.rows, out / "metrics.csv")
    metrics = {k: row[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc", "test_ece")}
    if cfg.val_size:
        metrics.update(val_loss=row["val_loss"], val_acc=row["val_acc"])
    metadata = build_metadata(cfg.model, models.check_kwargs(cfg.model, model_kwargs(cfg)), normalization_for(cfg),
                              {**cfg.to_dict(), **distributed.current().record()}, metrics, state.epoch)
    metadata.update(calibration)
    is_best = not cfg.val_size or row["val_acc"] > state.best_val_acc
    if cfg.val_size:
        state.best_val_acc = max(state.best_val_acc, row["val_acc"])
    weights = (average.module if average is not None else model).state_dict()
    checkpoints.save(out / "last.safetensors", {**metadata, **state.resume_fields()}, weights,
                     resume_tensors(optimizer, model, average))
    if is_best:
        checkpoints.save(out / "best.safetensors", metadata, weights)


def train(cfg: TrainConfig, on_epoch: Callable[[dict[str, Any]], None] | None = None,
          state: TrainState | None = None) -> TrainResult:
    """Train as `cfg` says (continuing from `state` when resuming), writing metrics, plots and
    checkpoints into cfg.out."""
    t_start = process_start_time()
    world, device = distributed.setup(cfg.device, cfg.threads, cfg.batch_size)
    cfg = cfg if world.is_main else cfg.replace(quiet=True)  # the other ranks print nothing but errors
    log = Log(cfg.quiet)
    splits = load_splits(cfg, device)
    model, spec = build_model(cfg, device, init=state is None)  # resumed: weights from last.safetensors
    bf16 = ranks.from_main(lambda: speedups.choose_bf16(cfg.precision, device, model, spec, cfg.batch_size,
                                                              log.line))
    cfg = cfg.replace(precision="bf16" if bf16 else "fp32")  # saved as chosen: --resume continues in it
    out = Path(cfg.out)
    if world.is_main:  # rank 0 alone writes, and only once the data and model are known to be good
        out = writable_dir(out, "--out")
        atomic_write(out / "config.json", json.dumps({**cfg.to_dict(), **world.record()}, indent=2).encode())
    optimizer = make_optimizer(cfg, model.parameters())
    average = averaged(model, cfg)
    evaluated = average.module if average is not None else model  # what is measured and saved
    state = state or TrainState()
    state.restore(model, optimizer, average)
    trained = ranks.wrap(model)  # after the fast layers, the layout and the weights are in place
    elapsed_before = state.rows[-1]["elapsed_seconds"] if state.rows else 0.0
    digest = ""  # of the weights, that every rank holds
    n_train = len(splits.train_images)
    log.line(f"training {cfg.model} ({models.parameter_count(model):,} parameters) on {n_train:,} images, "
             f"{device.type}{', bf16' if bf16 else ''}{distributed.summary()}, {cfg.epochs} epochs of "
             f"{math.ceil(n_train / (cfg.batch_size - round(cfg.negatives * cfg.batch_size)))} steps")
    for epoch in range(state.epoch, cfg.epochs):
        t_epoch = time.time()
        row: dict[str, Any] = {"epoch": epoch + 1,
                               **train_one_epoch(trained, optimizer, splits, cfg, spec, epoch, bf16, log, average)}
        row["epoch_seconds"] = time.time() - t_epoch
        digest = ranks.synchronize(model, epoch + 1)
        measured = ranks.from_main(lambda: evaluate_epoch(evaluated, splits, cfg, spec, bf16))  # rank 0's
        row.update(measured["metrics"])
        row["elapsed_seconds"] = elapsed_before + time.time() - t_start
        row["images_per_second"] = n_train / row["epoch_seconds"]
        state.epoch, state.rows = epoch + 1, [*state.rows, row]
        log.line(epoch_line(row, cfg.epochs))
        if world.is_main:
            save_epoch(out, cfg, model, optimizer, state, measured["calibration"], average)
        if on_epoch is not None:
            on_epoch(row)

    if world.size > 1:
        log.line(f"all {world.size} processes hold the same weights (sha256 {digest})")
    if world.is_main:
        from .plots import save_curves

        save_curves(state.rows, out / "curves.png", objective_text(cfg), augmented=cfg.augment)
    return TrainResult(cfg, out, state.rows)


def resume(run_dir: str | Path, changes: dict[str, Any] | None = None,
           on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Continue an interrupted run from RUN_DIR/last.safetensors with the config it was started with.
    `changes` are flags given with --resume: more --epochs, --threads and --quiet apply; any other
    flag would change the run's meaning halfway, and is refused."""
    cfg, state = TrainState.from_run_on_main(Path(run_dir), changes or {})
    return train(cfg, on_epoch=on_epoch, state=state)
