"""How fast the inside view answers: `explain` in-process, stage by stage, and the page's requests
to a real `digitrec serve` with four models loaded.

    python benchmarks/explain_speed.py [--drawings 40] [--rounds 3]

(a) In-process, one thread: `explain(shipped model, a 280x280 PNG drawing)` split into its stages
    (preprocessing, the run with activations, the occlusion batch, the JSON with its PNGs); medians
    over the drawings (MNIST test digits drawn as the page's canvas exports them), in wall time and
    in the thread's CPU time (what it costs on an idle core: on a shared machine wall time also
    counts the waits for a core).
(b) Over loopback: `digitrec serve` (default workers) with the shipped model and three more (fresh
    mlp, lenet and digitnet checkpoints: speed does not depend on the weights). First
    `POST /api/predict` and `POST /api/explain`, one request at a time; then what the page sends per
    drawing update:
    /api/predict for each of the 4 models and /api/explain for one, all at once, timed until the
    last answer arrives. Medians and 90th percentiles over --rounds passes of --drawings, and the
    server's CPU time per request or update (all its processes).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from digitrec import Recognizer
from digitrec.explain import explain
from load_test import cpu_seconds  # this folder is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures import encode, mnist_on_canvas  # noqa: E402  (the tests' image fixtures)


def drawings(count: int) -> list[bytes]:
    """MNIST test digits as the page's canvas sends them: dark ink on a white 280x280 PNG."""
    return [encode(mnist_on_canvas(i, (280, 280), (0, 0), scale=10)) for i in range(count)]


STAGES = ("preprocess", "activations", "occlusion", "json", "explain + json")


def in_process(pngs: list[bytes]) -> dict[str, list[tuple[float, float]]]:
    """Per stage, (wall, thread CPU) seconds for each drawing."""
    from digitrec.saliency import occlusion

    recognizer = Recognizer.load(threads=1)
    explain(recognizer, pngs[0])  # warm-up
    stages: dict[str, list[tuple[float, float]]] = {k: [] for k in STAGES}
    for png in pngs:
        marks = [(time.perf_counter(), time.thread_time())]
        x28 = recognizer.prepare(png)
        marks.append((time.perf_counter(), time.thread_time()))
        recognizer.activations(x28[None])
        marks.append((time.perf_counter(), time.thread_time()))
        occlusion(recognizer, x28, recognizer.classify(x28[None])[0].digit)
        marks.append((time.perf_counter(), time.thread_time()))
        json.dumps(explain(recognizer, png).to_dict())
        marks.append((time.perf_counter(), time.thread_time()))
        whole = explain(recognizer, png)
        marks.append((time.perf_counter(), time.thread_time()))
        json.dumps(whole.to_dict())
        marks.append((time.perf_counter(), time.thread_time()))
        spans = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:], strict=False)]
        # the json stage: the last span; explain + json: the last two
        values = spans[:3] + [spans[5], (spans[4][0] + spans[5][0], spans[4][1] + spans[5][1])]
        for key, value in zip(STAGES, values, strict=True):
            stages[key].append(value)
    return stages


def fresh_checkpoints(folder: Path) -> list[str]:
    import torch

    from digitrec import checkpoints, models
    from digitrec.data import MNIST_NORMALIZATION
    from digitrec.metadata import build_metadata

    paths = []
    for name in ("mlp", "lenet", "digitnet"):
        torch.manual_seed(0)
        metadata = build_metadata(name, models.check_kwargs(name, {}), MNIST_NORMALIZATION, {}, {}, 1)
        path = checkpoints.save(folder / f"{name}.safetensors", metadata, models.build(name).state_dict())
        paths.append(f"{name}={path}")
    return paths


def start_server(models: list[str]) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "digitrec", "serve", "--port", str(port)]
    for model in models:
        command += ["--model", model]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("digitrec serve did not start")


def post(port: int, path: str, body: bytes) -> float:
    """Seconds for one request on a fresh loopback connection (the page's browser keeps some alive)."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status}")
    return time.perf_counter() - start


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1e3:.1f} ms, p90 {p90 * 1e3:.1f} ms over {len(ordered)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    pngs = drawings(args.drawings)
    stages = in_process(pngs)
    print("(a) in-process, one thread, shipped model, medians (wall / CPU): " + ", ".join(
        f"{key} {statistics.median(w for w, _ in v) * 1e3:.1f} / {statistics.median(c for _, c in v) * 1e3:.1f} ms"
        for key, v in stages.items()))

    bodies = [json.dumps({"image": "data:image/png;base64," + base64.b64encode(p).decode()}).encode() for p in pngs]
    with tempfile.TemporaryDirectory() as tmp:
        models = ["shipped", *fresh_checkpoints(Path(tmp))]
        proc, port = start_server(models)
        try:
            for body in bodies[:5]:
                post(port, "/api/explain", body)  # warm-up: every worker builds its sessions
            for path in ("/api/predict", "/api/explain"):  # predict, for scale: the same drawings, the same way
                cpu = cpu_seconds(proc.pid)
                alone = [post(port, path, body) for _ in range(args.rounds) for body in bodies]
                cpu = (cpu_seconds(proc.pid) - cpu) / len(alone)
                print(f"(b) POST {path} (shipped model), one at a time over loopback: {summary(alone)}; "
                      f"server CPU {cpu * 1e3:.1f} ms per request")
            names = [m.split("=")[0] for m in models]
            paths = [f"/api/predict?model={name}" for name in names] + ["/api/explain?model=shipped"]
            updates = []
            cpu = cpu_seconds(proc.pid)
            with ThreadPoolExecutor(len(paths)) as pool:
                for _ in range(args.rounds):
                    for body in bodies:
                        start = time.perf_counter()
                        list(pool.map(lambda path, body=body: post(port, path, body), paths))
                        updates.append(time.perf_counter() - start)
            cpu = (cpu_seconds(proc.pid) - cpu) / len(updates)
            print(f"    a page update with {len(names)} models ({', '.join(names)}): {len(names)} predictions and "
                  f"an explanation at once, until the last answer: {summary(updates)}; server CPU "
                  f"{cpu * 1e3:.1f} ms per update")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
