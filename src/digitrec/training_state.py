"""What `--resume` restores: the epochs done, the metrics rows, the best validation accuracy, the
weights and the optimizer state, all read back from a run's last.safetensors and checked."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel

from . import checkpoints, distributed, ranks
from .config import TrainConfig, flag
from .errors import DigitrecError
from .optim import TRAINING_PREFIX, load_optimizer_tensors

# Flags that may differ on --resume: they change neither the numbers a run computes nor its recipe.
# More --epochs extends the run: the learning-rate schedule is recomputed over the new total.
RESUMABLE = ("epochs", "threads", "quiet")


@dataclass
class TrainState:
    epoch: int = 0  # epochs finished
    rows: list[dict[str, Any]] = field(default_factory=list)  # metrics.csv so far
    best_val_acc: float = -1.0
    model_state: dict[str, torch.Tensor] | None = None
    optimizer_state: dict[str, torch.Tensor] | None = None

    def resume_fields(self) -> dict[str, Any]:
        """What last.safetensors holds beyond an ordinary checkpoint's metadata."""
        return {"rows": self.rows, "best_val_acc": self.best_val_acc}

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                average: AveragedModel | None = None) -> None:
        """Load the saved weights, optimizer state and --ema average (nothing when starting fresh)."""
        if self.model_state is None:
            return
        try:
            rest = dict(self.optimizer_state or {})
            if average is not None:  # the checkpoint's weights are the average's (optim.resume_tensors)
                training = {k[len(TRAINING_PREFIX):]: rest.pop(k) for k in list(rest) if k.startswith(TRAINING_PREFIX)}
                average.n_averaged.copy_(training.pop("n_averaged"))
                average.module.load_state_dict(self.model_state)
                model.load_state_dict(training)
            else:
                model.load_state_dict(self.model_state)
            load_optimizer_tensors(optimizer, rest)
        except (RuntimeError, ValueError, KeyError) as err:
            raise DigitrecError("last.safetensors", f"its weights or optimizer state do not fit the run "
                                f"({str(err).strip().splitlines()[0][:120]})", "start a new run",
                                kind="bad-model") from None
        self.model_state = self.optimizer_state = None  # the model holds them now

    @classmethod
    def from_run(cls, run_dir: Path, changes: dict[str, Any]) -> tuple[TrainConfig, TrainState]:
        path = run_dir / "last.safetensors"
        if not path.is_file():
            raise DigitrecError(str(path), "no such checkpoint", "pass the run directory of an interrupted "
                                "`digitrec train` (it holds last.safetensors)", kind="not-found")
        metadata, model_state, optimizer_state = checkpoints.load(path)
        cfg = TrainConfig.from_dict(metadata.get("config", {})).replace(out=str(run_dir))
        cfg = _apply_changes(cfg, changes)
        rows, best = metadata.get("rows"), metadata.get("best_val_acc", -1.0)
        epoch = metadata.get("epoch", 0)
        if not _valid_rows(rows, epoch) or not isinstance(best, (int, float)):
            raise DigitrecError(str(path), "holds no valid training rows for its epochs (not a `last` checkpoint?)",
                                "pass the run directory of an interrupted `digitrec train`", kind="bad-model")
        if epoch >= cfg.epochs:
            raise DigitrecError(str(run_dir), f"the run already finished all {cfg.epochs} epochs; nothing to resume",
                                f"pass a larger {flag('epochs')} to train it longer", kind="bad-option")
        return cfg, cls(epoch, rows, float(best), model_state, optimizer_state)

    @classmethod
    def from_run_on_main(cls, run_dir: Path, changes: dict[str, Any]) -> tuple[TrainConfig, TrainState]:
        """from_run, read on rank 0 and sent to every rank: rank 0 alone writes run directories, so
        only its machine is sure to hold one. In one process, from_run itself."""
        if distributed.join().size == 1:
            return cls.from_run(run_dir, changes)
        cfg, state = cls.from_run(run_dir, changes) if distributed.current().is_main else (None, None)
        fields = ranks.from_main(lambda: {"config": cfg.to_dict(), "epoch": state.epoch, "rows": state.rows,
                                                "best_val_acc": state.best_val_acc})
        model_state = ranks.tensors_from_main(state.model_state if state else None)
        optimizer_state = ranks.tensors_from_main(state.optimizer_state if state else None)
        return TrainConfig.from_dict(fields["config"]), cls(fields["epoch"], fields["rows"], fields["best_val_acc"],
                                                             model_state, optimizer_state)


def restart_dir(out: str) -> str | None:
    """After torchrun restarted a failed job (--max-restarts), the run to continue: `out`, when rank 0
    holds a last.safetensors there. None on a first attempt, or when the failed one saved no epoch."""
    if distributed.restart_count() == 0:
        return None
    return out if ranks.from_main(lambda: (Path(out) / "last.safetensors").is_file()) else None


def _apply_changes(cfg: TrainConfig, changes: dict[str, Any]) -> TrainConfig:
    saved = cfg.to_dict()
    refused = [name for name, value in changes.items()
               if name not in RESUMABLE and name in saved and value != saved[name]]
    if refused:
        name = refused[0]
        raise DigitrecError(f"{flag(name)} {changes[name]}", f"cannot change on --resume (the run was started "
                            f"with {saved[name]!r})", f"only {', '.join(map(flag, RESUMABLE))} may change; "
                            "start a new run for another recipe")
    return dataclasses.replace(cfg, **{k: v for k, v in changes.items() if k in RESUMABLE})


def _valid_rows(rows: Any, epoch: Any) -> bool:
    return (isinstance(rows, list) and isinstance(epoch, int) and len(rows) == epoch
            and all(isinstance(r, dict) and isinstance(r.get("elapsed_seconds"), (int, float))
                    and math.isfinite(r["elapsed_seconds"]) for r in rows))
