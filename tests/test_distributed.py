"""Training across processes: real `torchrun ... -m digitrec train` jobs on CPU with gloo, on loopback
only, against single-process oracles (the same weights, bit for bit, whatever interrupts the job),
and the faults a job must survive or end on cleanly.

Every job carries a marker in its environment (DIGITREC_TEST_JOB), inherited by the processes
torchrun starts in their own sessions; teardown kills every process that carries the marker, by id.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from digitrec import checkpoints, distributed, models, ranks
from digitrec.training import resume

HERE = Path(__file__).parent
# A few thousand images, 2 epochs, the narrow digitnet (it has BatchNorm), one thread per process so
# that every job below computes the same numbers whatever its layout.
# With not-a-digit images in every batch, as the shipped model trains: each rank adds its share of them.
QUICK = ["--model", "digitnet-s", "--train-limit", "2000", "--batch-size", "64", "--epochs", "2", "--precision",
         "fp32", "--threads", "1", "--negatives", "0.125", "--quiet"]
JOB_TIMEOUT = 300  # seconds; a job takes under a minute, even on a busy 2-core machine
# Seconds a failing job may take to end: less than the process group's timeout, so a job that ends
# only because a rank waited a collective out fails the test.
PROMPT = distributed.TIMEOUT.total_seconds() * 0.75


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_of(job: str, rank: int | None = None) -> list[int]:
    """Pids of the live processes of a test job (torchrun and the ranks it started), or of one rank."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            env = set((entry / "environ").read_bytes().split(b"\0")) if entry.name.isdigit() else set()
        except OSError:
            continue
        if f"DIGITREC_TEST_JOB={job}".encode() in env and (rank is None or f"RANK={rank}".encode() in env):
            found.append(int(entry.name))
    return found


class Jobs:
    """Starts torchrun jobs and hand-launched processes; kills whatever is left of them at the end."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def start(self, args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
        job = uuid.uuid4().hex
        self.ids.append(job)
        process = subprocess.Popen(args, env={**os.environ, **(env or {}), "DIGITREC_TEST_JOB": job},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return process, job

    def torchrun(self, *args: str) -> tuple[subprocess.Popen, str]:
        return self.start([sys.executable, "-m", "torch.distributed.run", *args])

    def kill_all(self) -> None:
        for job in self.ids:
            for pid in processes_of(job):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def finish(process: subprocess.Popen, timeout: float = JOB_TIMEOUT) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def standalone(jobs: Jobs, nproc: int, *train_args: str) -> tuple[int, str, str]:
    process, _ = jobs.torchrun("--standalone", "--nproc-per-node", str(nproc), "-m", "digitrec", "train", *train_args)
    return finish(process)


@pytest.fixture
def jobs():
    started = Jobs()
    yield started
    started.kill_all()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The oracle run: `torchrun --standalone --nproc-per-node 2 -m digitrec train` of QUICK."""
    out = tmp_path_factory.mktemp("ddp") / "reference"
    started = Jobs()
    try:
        code, stdout, stderr = standalone(started, 2, *QUICK, "--no-quiet", "--out", str(out))
    finally:
        started.kill_all()
    assert code == 0, stderr
    return out, stdout


def model_weights(path: Path) -> dict[str, torch.Tensor]:
    return {k.removeprefix("model."): v for k, v in load_file(str(path)).items() if k.startswith("model.")}


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = model_weights(a), model_weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def digest_of(path: Path) -> str:
    """The SHA-256 digitrec prints for a state dict, recomputed from a checkpoint's tensors."""
    h = hashlib.sha256()
    weights = model_weights(path)
    for name in sorted(weights):
        h.update(f"{name}:{weights[name].dtype}:{list(weights[name].shape)};".encode())
        h.update(weights[name].contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def rows(run: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((run / "metrics.csv").open()))


@pytest.mark.slow
def test_two_processes_learn_end_with_identical_weights_and_write_an_ordinary_checkpoint(reference):
    out, stdout = reference
    lines = stdout.splitlines()
    # Rank 0 alone prints: one header, one line per epoch, one result.
    assert sum(line.startswith("training digitnet-s") for line in lines) == 1
    assert "2 processes over gloo" in lines[0]
    assert [line.split()[1] for line in lines if line.startswith("epoch")] == ["1/2", "2/2"]
    logged = rows(out)
    assert [r["epoch"] for r in logged] == ["1", "2"]
    assert float(logged[1]["train_loss"]) < float(logged[0]["train_loss"])
    assert float(logged[-1]["test_acc"]) > 0.85  # chance is 0.10
    # Every rank held the same weights (the ranks compare digests); the digest is the checkpoint's.
    same = [line for line in lines if line.startswith("all 2 processes hold the same weights")]
    assert same == [f"all 2 processes hold the same weights (sha256 {digest_of(out / 'last.safetensors')})"]
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    metadata = checkpoints.read_metadata(out / "best.safetensors")
    assert (metadata["config"]["world_size"], metadata["config"]["backend"]) == (2, "gloo")
    # An ordinary single-process checkpoint: the stock model's keys, no `module.` prefix.
    model, _ = checkpoints.load_model(out / "best.safetensors")
    assert set(model_weights(out / "best.safetensors")) == set(models.build("digitnet-s").state_dict())
    result = subprocess.run([sys.executable, "-m", "digitrec", "evaluate", "--model", str(out / "best.safetensors"),
                             "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(float(logged[-1]["test_acc"]), abs=1e-5)
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_two_machines_on_loopback_compute_what_one_machine_computes(reference, jobs, tmp_path):
    endpoint = f"127.0.0.1:{free_port()}"
    nodes = [jobs.torchrun("--nnodes", "2", "--node-rank", str(node), "--nproc-per-node", "1", "--rdzv-backend",
                           "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "digitrec-test", "-m", "digitrec", "train",
                           *QUICK, "--out", str(tmp_path / "two-nodes"))[0] for node in (0, 1)]
    for node in nodes:
        code, _, stderr = finish(node)
        assert code == 0, stderr
    assert same_weights(tmp_path / "two-nodes" / "last.safetensors", reference[0] / "last.safetensors")


def kill_rank_mid_epoch(job: str, run: Path, rank: int = 1) -> None:
    """Wait for the first epoch's checkpoint, then SIGKILL `rank`, which is by then in epoch 2."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while not (run / "last.safetensors").is_file():
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    pids = processes_of(job, rank)
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)


@pytest.mark.slow
def test_a_killed_rank_ends_the_job_in_seconds_and_the_run_resumes_at_any_world_size(reference, jobs, tmp_path):
    run = tmp_path / "killed"
    process, job = jobs.torchrun("--standalone", "--nproc-per-node", "2", "-m", "digitrec", "train", *QUICK,
                                 "--out", str(run))
    kill_rank_mid_epoch(job, run)
    code, _, stderr = finish(process, timeout=PROMPT)  # no rank may hang in a collective
    assert code != 0 and "Signal 9 (SIGKILL)" in stderr  # torchrun's report names the rank and the signal
    assert "digitrec/" not in stderr  # no traceback from a surviving rank
    assert checkpoints.read_metadata(run / "last.safetensors")["epoch"] == 1
    checkpoints.load_model(run / "last.safetensors")  # the last checkpoint is whole
    for size in (1, 3):
        shutil.copytree(run, tmp_path / f"copy-{size}")

    code, _, stderr = standalone(jobs, 2, "--resume", str(run), "--quiet")  # the same world size
    assert code == 0, stderr
    assert same_weights(run / "last.safetensors", reference[0] / "last.safetensors")  # as if never killed
    assert len(rows(run)) == 2

    code, _, stderr = standalone(jobs, 3, "--resume", str(tmp_path / "copy-3"), "--quiet")  # uneven shares
    assert code == 0, stderr
    resumed = rows(tmp_path / "copy-3")
    assert len(resumed) == 2 and float(resumed[-1]["test_acc"]) > 0.85
    assert checkpoints.read_metadata(tmp_path / "copy-3" / "last.safetensors")["config"]["world_size"] == 3

    alone = resume(tmp_path / "copy-1", {"quiet": True, "threads": torch.get_num_threads()})  # no torchrun
    assert alone.test_acc > 0.85 and len(alone.rows) == 2
    assert json.loads((tmp_path / "copy-1" / "config.json").read_text())["world_size"] == 1


@pytest.mark.slow
def test_max_restarts_continue_a_killed_job_from_its_last_checkpoint(reference, jobs, tmp_path):
    run = tmp_path / "restarted"
    process, job = jobs.torchrun("--standalone", "--nproc-per-node", "2", "--max-restarts", "1", "-m", "digitrec",
                                 "train", *QUICK, "--out", str(run))
    kill_rank_mid_epoch(job, run)
    code, _, stderr = finish(process)
    assert code == 0, stderr
    assert len(rows(run)) == 2
    assert same_weights(run / "last.safetensors", reference[0] / "last.safetensors")


@pytest.mark.slow
def test_missing_data_on_every_rank_is_one_line_naming_the_rank(jobs, tmp_path):
    process, _ = jobs.torchrun("--standalone", "--nproc-per-node", "2", "-m", "digitrec", "train", "--data-dir",
                               "/nonexistent/mnist", "--out", str(tmp_path / "run"))
    code, stdout, stderr = finish(process, timeout=PROMPT)
    ours = [line for line in stderr.splitlines() if line.startswith("digitrec train: error:")]
    assert len(ours) == 1, stderr  # both ranks failed; the first one reports for the job
    assert ours[0].startswith("digitrec train: error: rank ") and " of 2: /nonexistent/mnist" in ours[0]
    assert stderr.count(ours[0].removeprefix("digitrec train: error: ")) == 2  # ours, and in torchrun's report
    assert code != 0 and stdout == "" and not (tmp_path / "run").exists()


def hand_launched(jobs: Jobs, mode: str, size: int = 2) -> list[tuple[int, str, str]]:
    """distributed_worker.py MODE as `size` processes started by hand (no torchrun agent)."""
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": str(size),
           "LOCAL_WORLD_SIZE": str(size)}
    processes = [jobs.start([sys.executable, str(HERE / "distributed_worker.py"), mode],
                            {**env, "RANK": str(rank), "LOCAL_RANK": str(rank)})[0] for rank in range(size)]
    return [finish(p, timeout=PROMPT) for p in processes]


@pytest.mark.slow
def test_tensors_of_every_dtype_reach_every_rank_intact_and_ranks_whose_weights_differ_stop(jobs):
    results = hand_launched(jobs, "exchange")
    for rank, (_, stdout, _) in enumerate(results):
        assert stdout == f"rank {rank} exchanged\n"
    # Then rank 1's weights are made to differ: one line for the job, naming the rank.
    lines = [line for _, _, err in results for line in err.splitlines()]
    assert [code for code, _, _ in results] == [2, 2]
    assert len(lines) == 1 and "after epoch 3, the weights of rank 1 differ from rank 0's" in lines[0], lines


@pytest.mark.slow
def test_a_rank_failing_before_the_first_collective_does_not_leave_the_others_waiting(jobs):
    # Rank 0 waits in a broadcast that rank 1 never joins: it must stop at once, and quietly, since
    # rank 1 reported the cause; no torchrun agent is there to stop it.
    (code0, out0, err0), (code1, _, err1) = hand_launched(jobs, "fail-early")
    assert code0 == 2 and out0 == err0 == ""
    assert code1 == 2 and err1 == "error: rank 1 of 2: --data-dir /nowhere: no such folder; pass a folder that " \
                                  "holds MNIST\n"


@pytest.mark.parametrize("size, batch", [(1, 1), (1, 64), (2, 2), (2, 5), (2, 64), (3, 5), (3, 64), (3, 65), (4, 5),
                                         (7, 64), (7, 65)])
def test_each_rank_takes_a_disjoint_share_of_every_batch_and_the_weights_make_its_mean(monkeypatch, size, batch):
    index = torch.arange(100, 100 + batch)
    shares = []
    for rank in range(size):
        monkeypatch.setattr(distributed, "_world", distributed.World(rank=rank, size=size))
        shares.append(ranks.share_of_batch(index))
    assert torch.equal(torch.cat([s for s, _ in shares]), index)  # every image once, in order
    assert max(len(s) for s, _ in shares) - min(len(s) for s, _ in shares) <= 1
    # DDP averages the ranks' gradients, so a share's weight / size must be its fraction of the batch:
    # then the average of the weighted share means is the batch's mean.
    assert all(w / size == pytest.approx(len(s) / batch) for s, w in shares)


def test_a_rank_without_an_image_in_the_last_batch_takes_part_with_weight_zero(monkeypatch):
    monkeypatch.setattr(distributed, "_world", distributed.World(rank=2, size=3))
    share, weight = ranks.share_of_batch(torch.tensor([7, 8]))  # a last batch of 2 images for 3 ranks
    assert share.tolist() == [7] and weight == 0.0


def test_weighted_rank_gradients_average_to_the_whole_batch_gradient(monkeypatch):
    """What DDP computes from the shares (the mean of the ranks' gradients) against one process."""
    torch.manual_seed(0)
    model = torch.nn.Linear(784, 10)
    x, y = torch.randn(29, 784), torch.randint(0, 10, (29,))  # 29 images: uneven shares for 3 ranks
    whole = torch.autograd.grad(torch.nn.functional.cross_entropy(model(x), y), model.weight)[0]
    size, total = 3, torch.zeros_like(whole)
    for rank in range(size):
        monkeypatch.setattr(distributed, "_world", distributed.World(rank=rank, size=size))
        share, weight = ranks.share_of_batch(torch.arange(29))
        loss = torch.nn.functional.cross_entropy(model(x[share]), y[share]) * weight
        total += torch.autograd.grad(loss, model.weight)[0]
    torch.testing.assert_close(total / size, whole, rtol=1e-5, atol=1e-7)


def test_rank_zero_draws_the_single_process_augmentations_and_other_ranks_their_own(monkeypatch):
    def first_draws(rank: int) -> torch.Tensor:
        monkeypatch.setattr(distributed, "_world", distributed.World(rank=rank, size=2))
        return torch.rand(4, generator=ranks.augmentation_generator(torch.Generator().manual_seed(5)))

    alone = torch.rand(4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first_draws(0), alone)
    assert not torch.equal(first_draws(1), alone) and torch.equal(first_draws(1), first_draws(1))


def test_without_torchrun_everything_is_one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with distributed.launched() as world:
        assert world == distributed.World() and world.record() == {"world_size": 1, "backend": None}
        values = torch.tensor([1.5])
        assert ranks.all_sum(values) is values
        assert ranks.from_main(lambda: 3) == 3
