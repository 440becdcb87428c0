"""Optimizers, learning-rate schedules, the moving average of the weights (--ema), and the optimizer
state as flat tensors (for checkpoints)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .config import TrainConfig

# In a resumable checkpoint of a run with --ema, the weights are the average's; the weights being
# trained, and the count of steps averaged, travel beside the optimizer state under this prefix.
TRAINING_PREFIX = "training."


def learning_rate(cfg: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "step":
        return cfg.lr * cfg.gamma ** (step // (steps_per_epoch * cfg.step_size))
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
    # onecycle: linear warm-up to the peak, then linear decay to zero.
    warmup = max(1, int(cfg.warmup * total_steps))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    return cfg.lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def make_optimizer(cfg: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """The optimizer `cfg` names (TrainConfig has already checked the name and every value)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               nesterov=cfg.nesterov and cfg.momentum > 0)
    if cfg.optimizer in ("adam", "adamw"):
        adam = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        return adam(params, lr=cfg.lr, betas=(cfg.momentum, 0.999), weight_decay=cfg.weight_decay)
    return torch.optim.Adadelta(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def averaged(model: torch.nn.Module, cfg: TrainConfig) -> AveragedModel | None:
    """The exponential moving average of `model`'s weights and buffers (BatchNorm's statistics too)
    that --ema keeps, updated after every step; None when --ema is 0."""
    if not cfg.ema:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)


def resume_tensors(optimizer: torch.optim.Optimizer, model: torch.nn.Module,
                   average: AveragedModel | None) -> dict[str, torch.Tensor]:
    """What last.safetensors holds beside its weights: the optimizer state, and with --ema the weights
    being trained and the count of averaged steps (its weights are then the average's)."""
    flat = optimizer_tensors(optimizer)
    if average is not None:
        flat.update({TRAINING_PREFIX + k: v for k, v in model.state_dict().items()})
        flat[TRAINING_PREFIX + "n_averaged"] = average.n_averaged
    return flat


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """Flatten the optimizer's per-parameter state into named tensors for safetensors."""
    flat = {}
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            flat[f"{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return flat


def load_optimizer_tensors(optimizer: torch.optim.Optimizer, flat: dict[str, torch.Tensor]) -> None:
    state_dict = optimizer.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in flat.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    state_dict["state"] = state
    optimizer.load_state_dict(state_dict)
