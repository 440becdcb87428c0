"""Training across processes, GPUs and machines with PyTorch's own engine: torchrun starts and restarts
the processes, torch.distributed connects them, DistributedDataParallel averages their gradients.
Without torchrun every function here is a no-op for a world of one process.

What this module owns:
- the process group, joined from the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK,
  LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT): gloo for CPU tensors, NCCL for CUDA ones, one GPU per
  local rank, and a timeout on every collective;
- this process's place (`current()`): rank 0 alone evaluates and writes;
- each rank's share of every global batch, and its own augmentation stream;
- what the ranks agree on: values decided on rank 0 and sent to all (as JSON and raw tensor bytes,
  never a pickle), sums over ranks, and the end-of-epoch check that every rank holds the same weights;
- faults: every error names its rank; the first rank to fail reports for the whole job (one line on
  stderr, and the message in torchrun's own report), the ranks that stop because of it stop quietly,
  and a collective that fails because a peer is gone is one line, never a traceback or a hang.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from .devices import available_cpus, resolve_device
from .errors import DigitrecError

# The longest any rank waits in one collective: the others wait there while rank 0 times the
# precisions, evaluates and saves (seconds on MNIST, even on a busy 2-core machine). A vanished peer
# is noticed at once (its sockets close); this bounds only a peer that hangs without dying.
TIMEOUT = datetime.timedelta(seconds=120)
STORE_TIMEOUT = datetime.timedelta(seconds=5)  # to record a failure: a store that slow is gone
FAILURE_KEY = "digitrec/failure"  # in the job's store: the line of the first rank to fail
T = TypeVar("T")


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
            with open(path, "w") as f:
                json.dump({"message": line, "timestamp": int(time.time())}, f)
        except OSError:
            pass  # the report then says what torchrun knows: the exit status


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


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


def wrap(model: nn.Module) -> nn.Module:
    """`model` in DistributedDataParallel under torchrun (rank 0's weights are copied to every rank);
    `model` itself in one process. The inner model stays the one to evaluate and save."""
    if _world.size == 1:
        return model
    device = next(model.parameters()).device
    with exchanging():
        return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def share_of_batch(index: torch.Tensor) -> tuple[torch.Tensor, float]:
    """This rank's part of one global batch of image indices, and the weight of its mean loss.
    The batch is cut into `size` contiguous parts that differ by at most one image; weighting each
    part's mean loss by (its images x size / the batch's images) makes DDP's average of the ranks'
    gradients the gradient of the whole batch's mean loss. A rank left without an image (a last batch
    smaller than the world) trains on the batch's first image with weight 0, so that it still takes
    part in the gradient exchange; it must count for nothing in the metrics."""
    world = _world
    if world.size == 1:
        return index, 1.0
    base, extra = divmod(len(index), world.size)
    start, count = world.rank * base + min(world.rank, extra), base + (world.rank < extra)
    if count == 0:
        return index[:1], 0.0
    return index[start:start + count], count * world.size / len(index)


def augmentation_generator(shared: torch.Generator) -> torch.Generator:
    """The generator of this rank's augmentations: the shared one on rank 0 (so that one process draws
    what it always drew), another stream on every other rank (the shared stream would give image k of
    every rank's share the same warp)."""
    if _world.rank == 0:
        return shared
    digest = hashlib.sha256(f"{shared.initial_seed()}/{_world.rank}".encode()).digest()
    return torch.Generator(device=shared.device).manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def all_sum(values: torch.Tensor) -> torch.Tensor:
    """The sum of `values` over all ranks (the same bits on every rank)."""
    if _world.size == 1:
        return values
    total = values.detach().cpu().clone()  # our own exchanges take gloo, whatever the model trains on
    with exchanging():
        dist.all_reduce(total)
    return total.to(values.device)


def _broadcast_bytes(data: torch.Tensor | None) -> torch.Tensor:
    """A uint8 CPU tensor from rank 0 to every rank."""
    with exchanging():
        size = torch.tensor([len(data) if _world.is_main else 0], dtype=torch.int64)
        dist.broadcast(size, 0)
        buffer = data if _world.is_main else torch.empty(int(size), dtype=torch.uint8)
        if len(buffer):
            dist.broadcast(buffer, 0)
    return buffer


def from_main(decide: Callable[[], T]) -> T:
    """decide() run on rank 0 alone, its value (JSON: numbers, strings, lists, dicts) on every rank."""
    if _world.size == 1:
        return decide()
    data = torch.frombuffer(bytearray(json.dumps(decide()).encode()), dtype=torch.uint8) if _world.is_main else None
    return json.loads(bytes(_broadcast_bytes(data).numpy()))


def tensors_from_main(tensors: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """Rank 0's named tensors (None elsewhere) on every rank, as CPU tensors: a JSON manifest of names,
    dtypes and shapes, then their raw bytes in one buffer."""
    if _world.size == 1:
        return tensors or {}
    items = sorted((tensors or {}).items())
    manifest = from_main(lambda: [(name, str(t.dtype).removeprefix("torch."), list(t.shape)) for name, t in items])
    data = None
    if _world.is_main:
        parts = [t.detach().cpu().contiguous().reshape(-1).view(torch.uint8) for _, t in items]
        data = torch.cat(parts) if parts else torch.empty(0, dtype=torch.uint8)
    buffer, received, offset = _broadcast_bytes(data), {}, 0
    for name, dtype, shape in manifest:
        kind = getattr(torch, dtype)
        nbytes = int(torch.Size(shape).numel()) * torch.empty(0, dtype=kind).element_size()
        received[name] = buffer[offset:offset + nbytes].clone().view(kind).reshape(shape)
        offset += nbytes
    return received


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a state dict as a checkpoint stores it: names in sorted order, each tensor's dtype,
    shape and contiguous bytes."""
    h = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        h.update(f"{name}:{tensor.dtype}:{list(tensor.shape)};".encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def synchronize(model: nn.Module, epoch: int) -> str:
    """End of an epoch: rank 0's BatchNorm running statistics to every rank (each rank's own come from
    its own shares; rank 0's are the ones it evaluates and saves), then check that every rank holds
    bit-identical weights and buffers, as DDP promises and a mix of machines could break. Returns the
    weights' digest."""
    if _world.size == 1:
        return ""
    with exchanging():
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)
        digest = weights_digest(model.state_dict())
        mine = torch.frombuffer(bytearray(bytes.fromhex(digest)), dtype=torch.uint8)
        digests = [torch.empty_like(mine) for _ in range(_world.size)]
        dist.all_gather(digests, mine)
    differing = [rank for rank, d in enumerate(digests) if not torch.equal(d, digests[0])]
    if differing:
        raise DigitrecError(_world.name, f"after epoch {epoch}, the weights of rank {differing[0]} differ from "
                            "rank 0's", "run the same digitrec and torch versions on the same kind of hardware "
                            "on every machine", kind="failed")
    return digest
