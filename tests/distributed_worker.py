"""One process of a job launched by hand (the test sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT;
no torchrun agent stops the other processes), to test what `digitrec.distributed` does by itself.

    python distributed_worker.py exchange    # values and tensors of every dtype from rank 0 arrive intact
                                             # (prints `rank R exchanged`); then rank 1's weights differ,
                                             # which the end-of-epoch check must stop on
    python distributed_worker.py fail-early  # rank 1 fails before the first collective, rank 0 waits in one

Errors are printed as the CLI prints them: one line on stderr, status 2.
"""

from __future__ import annotations

import sys

import torch

from digitrec import distributed, ranks
from digitrec.errors import DigitrecError


def _tensors() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)  # the same values on every rank: the expected ones
    return {"float32": torch.randn(3, 4, generator=generator), "int64": torch.arange(5),
            "bfloat16": torch.randn(2, 2, generator=generator).bfloat16(), "bool": torch.tensor([True, False]),
            "scalar": torch.tensor(7.5), "empty": torch.zeros(0, 3)}


def exchange(world: distributed.World) -> None:
    expected = _tensors()
    received = ranks.tensors_from_main(expected if world.is_main else None)
    assert received.keys() == expected.keys()
    for name, tensor in expected.items():
        assert received[name].dtype == tensor.dtype and torch.equal(received[name], tensor), name
    assert ranks.from_main(lambda: {"rank": world.rank, "values": [0.1, None]}) == {"rank": 0,
                                                                                        "values": [0.1, None]}
    total = ranks.all_sum(torch.tensor([1.0, world.rank], dtype=torch.float64))
    assert total.tolist() == [world.size, sum(range(world.size))]
    print(f"rank {world.rank} exchanged", flush=True)
    diverge(world)


def fail_early(world: distributed.World) -> None:
    if world.rank == 1:
        raise DigitrecError("--data-dir /nowhere", "no such folder", "pass a folder that holds MNIST",
                            kind="not-found")
    ranks.from_main(lambda: "rank 0 waits here for a rank that never comes")


def diverge(world: distributed.World) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    if world.rank == 1:
        with torch.no_grad():
            model[0].weight[0, 0] += 1e-6
    ranks.synchronize(model, epoch=3)


def main() -> int:
    mode = {"exchange": exchange, "fail-early": fail_early}[sys.argv[1]]
    try:
        with distributed.launched() as world:
            mode(world)
    except DigitrecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
