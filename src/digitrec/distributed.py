"""Training across processes, GPUs and machines with PyTorch's own engine: torchrun starts and restarts
the processes, torch.distributed connects them, DistributedDataParallel averages their gradients
(`ranks.py` holds what the ranks split and exchange). Without torchrun everything here is a no-op
for a world of one process.

What this module owns:
- the process group, joined from the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK,
  LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT): gloo for CPU tensors, NCCL for CUDA ones, one GPU per
  local rank, and a timeout on every collective;
- this process's place (`current()`): rank 0 alone evaluates and writes; its device and threads;
- faults: every error names its rank; the first rank to fail reports for the whole job (one line on
  stderr, and the message in torchrun's own report), the ranks that stop because of it stop quietly,
  and a collective that fails because a peer is gone is one line, never a traceback or a hang.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from .devices import available_cpus, resolve_device
from .errors import DigitrecError
from .fileio import atomic_write

# The longest any rank waits in one collective: the others wait there while rank 0 times the
# precisions, evaluates and saves (seconds on MNIST, even on a busy 2-core machine). A vanished peer
# is noticed at once (its sockets close); this bounds only a peer that hangs without dying.
TIMEOUT = datetime.timedelta(seconds=120)
STORE_TIMEOUT = datetime.timedelta(seconds=5)  # to record a failure: a store that slow is gone
FAILURE_KEY = "digitrec/failure"  # in the job's store: the line of the first rank to fail


@dataclass(frozen=True)
class World:
    """This process's place in the job; a world of one without torchrun."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # among the processes of this machine
    local_size: int = 1
    backend: str = ""  # of the training tensors' collectives once the device is chosen: gloo or nccl

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def name(self) -> str:
        return f"rank {self.rank} of {self.size}"

    def record(self) -> dict[str, Any]:
        """What config.json and checkpoint metadata say about the job."""
        return {"world_size": self.size, "backend": self.backend or None}


_world = World()
_store: dist.Store | None = None


def current() -> World:
    return _world


def summary() -> str:
    """For the first log line: ', 2 processes over gloo' under torchrun, nothing in one process."""
    return f", {_world.size} processes over {_world.backend}" if _world.size > 1 else ""


def restart_count() -> int:
    """How many times torchrun has restarted this job (--max-restarts); 0 on the first attempt."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0)


def _environment() -> World:
    try:
        return World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)),
                     int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
    except (KeyError, ValueError):
        raise DigitrecError("RANK, WORLD_SIZE", "WORLD_SIZE is set, but not a whole RANK and WORLD_SIZE",
                            "start distributed training with torchrun (see the README)") from None


def join() -> World:
    """Join the job's process group on the first call (a world of one without torchrun)."""
    global _world, _store
    if _world.size > 1 or "WORLD_SIZE" not in os.environ:
        return _world
    world = _environment()
    if world.size == 1:
        return _world
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    try:
        # torchrun's agent serves the store (TORCHELASTIC_USE_AGENT_STORE); another launcher leaves it to rank 0.
        is_master = world.is_main and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True"
        server = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world.size, is_master,
                               timeout=TIMEOUT)
        # After torchrun restarts a job (--max-restarts) its store may still hold the last attempt's
        # keys, such as the dead ranks' addresses: each attempt keeps to its own.
        store = dist.PrefixStore(f"/worker/attempt_{restart_count()}", server)
        dist.init_process_group(backend, store=store, rank=world.rank, world_size=world.size, timeout=TIMEOUT)
    except (KeyError, ValueError):
        raise DigitrecError(world.name, "MASTER_ADDR or MASTER_PORT is missing or not an address and port",
                            "start distributed training with torchrun (see the README)") from None
    except RuntimeError as err:  # torch's DistError and its subclasses: unreachable store, peers that never came
        raise DigitrecError(world.name, f"could not join the other processes ({_first_line(err)})",
                            "check that every machine runs the same torchrun command with the same "
                            "--rdzv-endpoint", kind="failed") from None
    _world, _store = world, store
    return world


def leave() -> None:
    global _world, _store
    if dist.is_initialized():
        dist.destroy_process_group()
    _world, _store = World(), None


class LostContact(DigitrecError):
    """A collective failed: another rank is gone or hangs."""


@contextmanager
def launched() -> Iterator[World]:
    """Run the block as one process of a torchrun job (as a plain process without torchrun): join the
    process group, and leave it at the end. A DigitrecError in the block names this rank; the first
    rank to fail reports it (the CLI prints it, and torchrun's report shows it), and a rank that fails
    after another one already reported exits quietly with status 2 (SystemExit), as its failure is
    that one's consequence: the job ends with one line, whichever rank noticed first."""
    world = join()
    try:
        yield world
    except DigitrecError as err:
        if world.size == 1:
            raise
        named = err.renamed(f"{world.name}: {err.input}" if err.input and err.input != world.name else world.name)
        if not _first_to_fail(str(named)):
            raise SystemExit(2) from None
        if not isinstance(err, LostContact):  # a lost contact's cause lies elsewhere: torchrun's report says where
            _write_torchrun_error_file(str(named))
        raise named from None
    finally:
        leave()


def _first_to_fail(line: str) -> bool:
    """Record `line` as the job's failure in torchrun's store unless a failure is recorded already."""
    if _store is None:
        return True
    try:
        _store.set_timeout(STORE_TIMEOUT)
        return _store.compare_set(FAILURE_KEY, "", line).decode() == line
    except RuntimeError:  # the store itself is gone (its machine failed): report
        return True


def _write_torchrun_error_file(line: str) -> None:
    """torchrun's report of a failed job shows the message in this file (its 'traceback' field)."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path:
        try:
            atomic_write(Path(path), json.dumps({"message": line, "timestamp": int(time.time())}).encode())
        except DigitrecError:
            pass  # an unwritable file: the report then says what torchrun knows, the exit status


def _first_line(err: BaseException) -> str:
    """The first sentence of torch's message (gloo's go on with advice for torch's developers)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0].split(". ")[0][:200]


@contextmanager
def exchanging() -> Iterator[None]:
    """Around code that exchanges data with the other ranks (also as a decorator): under torchrun a
    failed exchange (a peer that died or hangs, torch raises RuntimeError for both) is one line
    naming this rank. In one process, errors pass unchanged."""
    try:
        yield
    except RuntimeError as err:
        if _world.size == 1:
            raise
        raise LostContact(_world.name, f"lost contact with the other processes ({_first_line(err)})",
                            "another process stopped or its machine is unreachable: its own error, or "
                            "torchrun's report, names it", kind="failed") from None


def setup(device: str, threads: int, batch_size: int) -> tuple[World, torch.device]:
    """Join the job; the training device (under torchrun: the CUDA device of this local rank, or the
    CPU); and the CPU threads: `threads`, else, under torchrun, the cores shared among this machine's
    processes (torchrun itself would give each one thread)."""
    global _world
    world = join()
    if world.size == 1:
        chosen = resolve_device(device)
    else:
        if batch_size < world.size:
            raise DigitrecError(f"--batch-size {batch_size}", f"is smaller than the {world.size} processes",
                                "each process trains at least one image of every batch: use larger batches")
        chosen = _rank_device(device, world)
        _world = world = replace(world, backend="nccl" if chosen.type == "cuda" else "gloo")
    threads = threads or (max(1, available_cpus() // world.local_size) if world.size > 1 else 0)
    if threads:
        torch.set_num_threads(threads)
    return world, chosen


def _rank_device(name: str, world: World) -> torch.device:
    if name not in ("auto", "cpu", "cuda"):
        raise DigitrecError(f"--device {name}", "cannot be chosen per process under torchrun",
                            "use auto, cuda (each process takes the GPU of its local rank) or cpu")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    count = torch.cuda.device_count()
    if world.local_rank >= count:
        raise DigitrecError(f"--device {name}", f"local rank {world.local_rank} has no GPU of its own ({count} here)",
                            f"start at most {count} processes per machine, or train on --device cpu")
    torch.cuda.set_device(world.local_rank)
    return torch.device("cuda", world.local_rank)
