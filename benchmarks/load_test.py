"""Load test of `digitrec serve`: single-image predictions from concurrent clients over loopback.

Starts the server as its own process (the real `digitrec serve` command) on a free loopback port,
then runs the client in a second process: N keep-alive connections, each sending one real digit
per request (MNIST test digits drawn as the page's canvas exports them: dark ink on a white PNG)
until the request budget is spent. Prints requests/s, latency percentiles, errors, and the
server's resident memory before and after. Bounded in requests and time; loopback only.

    python benchmarks/load_test.py                      # 6,000 requests, 8 clients, raw PNG bodies
    python benchmarks/load_test.py --form json          # the page's form: JSON with a data URL
    python benchmarks/load_test.py --endpoint read      # /api/read: 600x200 pads of 3-digit numbers
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import multiprocessing
import os
import queue
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"


def digit_pngs(count: int, size: int) -> tuple[list[bytes], list[int]]:
    """`count` MNIST test digits as `size`-pixel canvas-like PNGs (black ink on white), with labels."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fixtures import encode, mnist_on_canvas, mnist_test

    pngs = [encode(mnist_on_canvas(i, (size, size), (0, 0), scale=size // 28)) for i in range(count)]
    return pngs, [int(y) for y in mnist_test()[1][:count]]


def number_pngs(count: int) -> tuple[list[bytes], list[str]]:
    """`count` 600x200 number-pad PNGs, each three MNIST test digits side by side (dark on white,
    5x larger, 40 px apart), with their numbers as text."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from PIL import Image

    from fixtures import encode, mnist_test

    images, labels = mnist_test()
    pngs, numbers = [], []
    for n in range(count):
        pad = Image.new("L", (600, 200), 255)
        for k in range(3):
            i = 3 * n + k
            pad.paste(Image.fromarray(255 - images[i]).resize((140, 140), Image.BICUBIC), (40 + 180 * k, 30))
        pngs.append(encode(pad))
        numbers.append("".join(str(int(labels[3 * n + k])) for k in range(3)))
    return pngs, numbers


def http_request(png: bytes, form: str, port: int, endpoint: str = "predict") -> bytes:
    if form == "json":
        body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(png).decode()}).encode()
        kind = "application/json"
    else:
        body, kind = png, "image/png"
    head = (f"POST /api/{endpoint} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    return int(lines[0].split()[1]), await reader.readexactly(length)


async def _client(port: int, requests: list[bytes], labels: list[int | str], total: int, concurrency: int,
                  timeout_s: float) -> dict:
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    correct = 0

    async def worker() -> None:
        nonlocal correct
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while (i := next(counter)) < total:
                start = time.perf_counter()
                writer.write(requests[i % len(requests)])
                try:
                    status, body = await asyncio.wait_for(_read_response(reader), timeout_s)
                except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as err:
                    errors.append(f"request {i}: {type(err).__name__}")
                    return
                latencies.append(time.perf_counter() - start)
                if status != 200:
                    errors.append(f"request {i}: HTTP {status} {body[:100]!r}")
                    continue
                answer = json.loads(body)
                correct += answer.get("digit", answer.get("number")) == labels[i % len(labels)]
        finally:
            writer.close()

    start, cpu_start = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "errors": errors,
            "correct": correct, "cpu_seconds": time.process_time() - cpu_start}


def client_process(port: int, requests: list[bytes], labels: list[int | str], total: int, concurrency: int,
                   timeout_s: float, out: multiprocessing.Queue) -> None:
    out.put(asyncio.run(_client(port, requests, labels, total, concurrency, timeout_s)))


def run_client(port: int, requests: list[bytes], labels: list[int | str], total: int, concurrency: int) -> dict:
    """One client run in its own process, so its CPU use is not the server's."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=client_process, args=(port, requests, labels, total, concurrency, 10.0, out))
    proc.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            result = out.get(timeout=1)
            proc.join(timeout=30)
            return result
        except queue.Empty:
            if not proc.is_alive():
                raise SystemExit(f"the client process died with exit code {proc.exitcode}") from None
    proc.kill()
    raise SystemExit("the client did not finish in 600 s")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the worker processes of `digitrec serve --workers N`)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue  # a process that ended while we looked
    tree = [pid]
    for p in tree:
        tree += [child for child, parent in parents.items() if parent == p]
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the server's processes have used so far (all their threads)."""
    total = 0
    for p in process_tree(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of the server's processes, summed."""
    total = 0
    for p in process_tree(pid):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def start_server(model: str | None, workers: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("digitrec")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "digitrec"]
    command += ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    command += ["--model", model] if model else []
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes = workers or len(os.sched_getaffinity(0))  # 0: serve's default, one per core
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/api/health", timeout=2).close()
            if len(process_tree(proc.pid)) > (processes if processes > 1 else 0):  # every worker started
                return proc, port
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not start: {' '.join(command)}")


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q / 100 * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000, help="measured requests per run (default: 6000)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs; medians are reported (default: 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default: 8)")
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured requests first (default: 500)")
    parser.add_argument("--form", choices=("raw", "json"), default="raw",
                        help="raw PNG bodies, or JSON with a data URL as the page sends (default: raw)")
    parser.add_argument("--size", type=int, default=280, help="side of the digit PNGs in pixels (default: 280)")
    parser.add_argument("--images", type=int, default=200, help="distinct digits cycled through (default: 200)")
    parser.add_argument("--endpoint", choices=("predict", "read"), default="predict",
                        help="/api/predict with digits, or /api/read with numbers (default: predict)")
    parser.add_argument("--workers", type=int, default=0,
                        help="server processes (default: 0, serve's default of one per CPU core)")
    parser.add_argument("--model", default=None, help="checkpoint to serve (default: the shipped model)")
    args = parser.parse_args()

    pngs, labels = (digit_pngs(args.images, args.size) if args.endpoint == "predict"
                    else number_pngs(args.images))
    proc, port = start_server(args.model, args.workers)
    try:
        requests = [http_request(png, args.form, port, args.endpoint) for png in pngs]
        rss_start = rss_mb(proc.pid)
        run_client(port, requests, labels, args.warmup, args.concurrency)
        rss_warm = rss_mb(proc.pid)
        runs = []
        for run in range(args.runs):
            server_cpu = cpu_seconds(proc.pid)
            r = run_client(port, requests, labels, args.requests, args.concurrency)
            server_cpu = cpu_seconds(proc.pid) - server_cpu
            lat = sorted(r["latencies"])
            runs.append({"rps": len(lat) / r["seconds"], "p50": percentile(lat, 50) * 1e3,
                         "p95": percentile(lat, 95) * 1e3, "p99": percentile(lat, 99) * 1e3,
                         "max": lat[-1] * 1e3, "errors": len(r["errors"]), "n": len(lat),
                         "correct": r["correct"], "rss": rss_mb(proc.pid),
                         "server_ms": server_cpu / max(len(lat), 1) * 1e3,
                         "client_ms": r["cpu_seconds"] / max(len(lat), 1) * 1e3})
            print(f"run {run + 1}: {runs[-1]['rps']:.0f} req/s, p50 {runs[-1]['p50']:.1f} ms, "
                  f"p99 {runs[-1]['p99']:.1f} ms, {runs[-1]['errors']} errors, RSS {runs[-1]['rss']:.1f} MB",
                  flush=True)
            for err in r["errors"][:5]:
                print("  ", err)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    def median(key: str) -> float:
        return sorted(r[key] for r in runs)[len(runs) // 2]

    total = sum(r["n"] for r in runs)
    processes = args.workers or len(os.sched_getaffinity(0))
    what = f"{args.size}x{args.size} PNG digits" if args.endpoint == "predict" else "600x200 PNG numbers"
    print(f"\n{args.concurrency} clients, {processes} server process(es), /api/{args.endpoint}, {args.form} {what}, "
          f"{args.runs} runs of {args.requests} requests on {os.cpu_count()} cores (medians of runs):")
    print(f"  throughput   {median('rps'):.0f} requests/s")
    print(f"  latency      p50 {median('p50'):.1f} ms, p95 {median('p95'):.1f} ms, p99 {median('p99'):.1f} ms, "
          f"max {max(r['max'] for r in runs):.1f} ms")
    print(f"  errors       {sum(r['errors'] for r in runs)} of {total} requests")
    print(f"  CPU/request  server {median('server_ms'):.2f} ms, client {median('client_ms'):.2f} ms "
          f"(so at most {os.cpu_count() * 1e3 / (median('server_ms') + median('client_ms')):.0f} requests/s "
          "on this machine's cores if nothing else ran)")
    print(f"  correct      {sum(r['correct'] for r in runs) / max(total, 1):.2%} of answers match the labels")
    print(f"  server RSS   {rss_start:.1f} MB at start, {rss_warm:.1f} MB after warm-up, "
          f"{runs[-1]['rss']:.1f} MB at the end")


if __name__ == "__main__":
    main()
