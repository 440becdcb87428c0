"""What the ranks of a torchrun job split and exchange (`distributed.py` holds the job itself): each
rank's share of every global batch and its own augmentation stream, the DDP wrap, sums over ranks,
values decided on rank 0 and sent to all (as JSON and raw tensor bytes, never a pickle), and the
end-of-epoch check that every rank holds the same weights. In one process each is the identity.

Our own exchanges move CPU tensors, so they take gloo whatever the model trains on; DDP's gradient
exchange takes the backend of the model's device (NCCL on CUDA).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

from .distributed import TIMEOUT, current, exchanging
from .errors import DigitrecError

T = TypeVar("T")


def wrap(model: nn.Module) -> nn.Module:
    """`model` in DistributedDataParallel under torchrun (rank 0's weights are copied to every rank);
    `model` itself in one process. The inner model stays the one to evaluate and save."""
    if current().size == 1:
        return model
    device = next(model.parameters()).device
    with exchanging():
        # DDP gets a group of its own: DDP keeps its group alive in C++ after destroy_process_group, and a
        # group left alive at exit can make a gloo thread free a tensor of ours while Python finalizes
        # (SIGABRT: "terminate called without an active exception"). Our own exchanges stay on the
        # default group, which `leave()` really closes, joining its threads.
        group = dist.new_group(timeout=TIMEOUT)
        return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                                   process_group=group)


def share_of_count(n: int) -> int:
    """This rank's part of `n` items cut into `size` contiguous parts that differ by at most one (a
    batch's images, or the not-a-digit images each global batch adds)."""
    rank, size = current().rank, current().size
    return n if size == 1 else n // size + (rank < n % size)


def share_of_batch(index: torch.Tensor) -> tuple[torch.Tensor, float]:
    """This rank's part of one global batch of image indices, and the weight of its mean loss.
    The batch is cut into `size` contiguous parts that differ by at most one image; weighting each
    part's mean loss by (its images x size / the batch's images) makes DDP's average of the ranks'
    gradients the gradient of the whole batch's mean loss. A rank left without an image (a last batch
    smaller than the world) trains on the batch's first image with weight 0, so that it still takes
    part in the gradient exchange; it must count for nothing in the metrics."""
    rank, size = current().rank, current().size
    if size == 1:
        return index, 1.0
    base, extra = divmod(len(index), size)
    start, count = rank * base + min(rank, extra), share_of_count(len(index))
    if count == 0:
        return index[:1], 0.0
    return index[start:start + count], count * size / len(index)


def augmentation_generator(shared: torch.Generator) -> torch.Generator:
    """The generator of this rank's augmentations: the shared one on rank 0 (so that one process draws
    what it always drew), another stream on every other rank (the shared stream would give image k of
    every rank's share the same warp)."""
    if current().rank == 0:
        return shared
    digest = hashlib.sha256(f"{shared.initial_seed()}/{current().rank}".encode()).digest()
    return torch.Generator(device=shared.device).manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def all_sum(values: torch.Tensor) -> torch.Tensor:
    """The sum of `values` over all ranks (the same bits on every rank)."""
    if current().size == 1:
        return values
    total = values.detach().cpu().clone()  # our own exchanges take gloo, whatever the model trains on
    with exchanging():
        dist.all_reduce(total)
    return total.to(values.device)


def _broadcast_bytes(data: torch.Tensor | None) -> torch.Tensor:
    """A uint8 CPU tensor from rank 0 to every rank."""
    with exchanging():
        size = torch.tensor([len(data) if current().is_main else 0], dtype=torch.int64)
        dist.broadcast(size, 0)
        buffer = data if current().is_main else torch.empty(int(size), dtype=torch.uint8)
        if len(buffer):
            dist.broadcast(buffer, 0)
    return buffer


def from_main(decide: Callable[[], T]) -> T:
    """decide() run on rank 0 alone, its value (JSON: numbers, strings, lists, dicts) on every rank."""
    if current().size == 1:
        return decide()
    data = torch.frombuffer(bytearray(json.dumps(decide()).encode()), dtype=torch.uint8) if current().is_main else None
    return json.loads(bytes(_broadcast_bytes(data).numpy()))


def tensors_from_main(tensors: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """Rank 0's named tensors (None elsewhere) on every rank, as CPU tensors: a JSON manifest of names,
    dtypes and shapes, then their raw bytes in one buffer."""
    if current().size == 1:
        return tensors or {}
    items = sorted((tensors or {}).items())
    manifest = from_main(lambda: [(name, str(t.dtype).removeprefix("torch."), list(t.shape)) for name, t in items])
    data = None
    if current().is_main:
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
    if current().size == 1:
        return ""
    with exchanging():
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)
        digest = weights_digest(model.state_dict())
        mine = torch.frombuffer(bytearray(bytes.fromhex(digest)), dtype=torch.uint8)
        digests = [torch.empty_like(mine) for _ in range(current().size)]
        dist.all_gather(digests, mine)
    differing = [rank for rank, d in enumerate(digests) if not torch.equal(d, digests[0])]
    if differing:
        raise DigitrecError(current().name, f"after epoch {epoch}, the weights of rank {differing[0]} differ from "
                            "rank 0's", "run the same digitrec and torch versions on the same kind of hardware "
                            "on every machine", kind="failed")
    return digest
