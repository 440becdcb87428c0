"""Soak test of `digitrec serve`: normal clients and hostile ones at the same time, for minutes.

Starts the real server (one process per core by default) on a loopback port. A separate process runs
the normal clients: keep-alive connections each sending a real 280x280 digit PNG, then pausing
`--think` ms. Threads of this process run the hostile clients, round after round of: decompression
and decode-budget bombs, a batch of blank 7000x7000 PNGs, 16-bit and WebP giants, EPS and PDF,
NaN TIFFs, a PNG of text-chunk bombs, megabytes of headers, a 30,000-image JSON batch, a 5000-digit
JSON integer, oversized bodies, uploads abandoned halfway, heads and bodies sent a byte a second.
Prints the server's RSS before, at its highest during and after the storm, the normal requests'
errors and latency percentiles, and what the hostile requests got.

    python benchmarks/soak.py                  # 180 s, 4 normal and 4 hostile clients
    python benchmarks/soak.py --seconds 60 --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import http.client
import json
import multiprocessing
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_test import HOST, digit_pngs, http_request, percentile, process_tree, start_server
from load_test import rss_mb as tree_rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (the server hung up, as it does on some hostile requests)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def multipart(images: list[bytes]) -> tuple[str, bytes]:
    """(content type, body) of a multipart upload of `images` as the field "files"."""
    boundary = b"digitrec-soak-boundary"
    parts = [b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="%d.png"\r\n'
             b"Content-Type: image/png\r\n\r\n" % i + image + b"\r\n" for i, image in enumerate(images)]
    return "multipart/form-data; boundary=" + boundary.decode(), b"".join(parts) + b"--" + boundary + b"--\r\n"


class Server:
    """`digitrec serve` in its own process, for `with`."""

    def __init__(self, workers: int = 0, model: str | None = None):
        self.workers, self.model = workers, model

    def __enter__(self) -> Server:
        self.proc, self.port = start_server(self.model, self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def rss_mb(self) -> float:
        return tree_rss_mb(self.proc.pid)

    def post(self, path: str, body: bytes, kind: str, timeout: float = 120) -> Answer:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request("POST", path, body, {"Content-Type": kind})
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        except (OSError, http.client.HTTPException):
            return Answer(0)
        finally:
            connection.close()

    def warm_up(self, count: int = 100) -> None:
        for png in digit_pngs(20, 280)[0] * (count // 20):
            self.post("/api/predict", png, "image/png")
        time.sleep(0.5)

    def storm(self, requests: list[tuple[str, bytes]]) -> list[Answer]:
        """All of `requests` to /api/predict at once, one thread each."""
        answers: list[Answer] = [Answer(0)] * len(requests)

        def send(i: int) -> None:
            answers[i] = self.post("/api/predict", requests[i][1], requests[i][0])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers


def peak_rss_during(server: Server, fn: Callable[[], Any], every: float = 0.005) -> tuple[float, Any]:
    """(the server's highest RSS in MB while `fn` ran, sampled every `every` s; what `fn` returned)."""
    peak, done = [server.rss_mb()], threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peak[0] = max(peak[0], server.rss_mb())
            except (OSError, ValueError, IndexError):
                pass  # a process that ended while we looked
            done.wait(every)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    return peak[0], result


# -- hostile requests ----------------------------------------------------------------------------------

def hostile_requests() -> dict[str, bytes]:
    """name -> the whole HTTP request (head and body) a hostile client sends."""
    import math

    from PIL import Image

    from fixtures import POSTSCRIPT, encode, float_tiff, png_declaring, png_with_text_bomb, uniform_png

    def post(body: bytes, kind: str = "image/png", path: str = "/api/predict") -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "\r\n").encode() + body

    rgba = uniform_png(7000, 7000, 8, 6)
    kind, batch = multipart([rgba] * 12)
    tiny = "data:image/png;base64," + base64.b64encode(encode(Image.new("L", (1, 1)))).decode()
    return {
        "blank 7000x7000 RGBA PNG": post(rgba),
        "16-bit 7000x7000 PNG": post(uniform_png(7000, 7000, 16, 0)),
        "batch of 12 blank 7000x7000 PNGs": post(batch, kind, "/api/predict/batch"),
        "4000x4000 WebP (over the decode budget)": post(encode(Image.new("RGB", (4000, 4000)), "WEBP",
                                                               lossless=True), "image/webp"),
        "30000x30000 pixel bomb": post(png_declaring(30000, 30000)),
        "text-chunk bomb": post(png_with_text_bomb()),
        "EPS": post(POSTSCRIPT["eps"], "application/postscript"),
        "PDF": post(POSTSCRIPT["pdf"], "application/pdf"),
        "NaN TIFF": post(float_tiff(math.nan), "image/tiff"),
        "garbage": post(os.urandom(50_000), "application/octet-stream"),
        "5000-digit JSON integer": post(b'{"image": ' + b"9" * 5000 + b"}", "application/json"),
        "30,000-image JSON batch": post(json.dumps({"images": [tiny] * 30_000}).encode(), "application/json",
                                        "/api/predict/batch"),
        "6 MB body": post(b"\0" * (6 * 2**20)),
        "1 MB of headers": b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2**20 + b"\r\n\r\n",
        "200 headers": b"GET /api/health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200))
                       + b"\r\n",
    }


def send_raw(port: int, data: bytes, hang_up_after: int | None = None, trickle: float = 0.0,
             timeout: float = 300) -> int:
    """Send a raw request; the status of the answer (0 for none). `hang_up_after`: close after that many
    bytes; `trickle`: seconds between bytes of the first 64 (a slow client)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            if hang_up_after is not None:
                s.sendall(data[:hang_up_after])
                return 0
            try:
                for i in range(64 if trickle else 0):
                    s.sendall(data[i:i + 1])
                    time.sleep(trickle)
                s.sendall(data[64 if trickle else 0:])
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the whole request was sent: the answer is waiting
            answer = s.recv(65536)
            return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    except (OSError, ValueError, IndexError):
        return 0


def hostile_client(port: int, requests: dict[str, bytes], stop: float, statuses: dict[str, collections.Counter],
                   offset: int) -> None:
    names = list(requests)
    i = offset
    while time.monotonic() < stop:
        name = names[i % len(names)]
        statuses[name][send_raw(port, requests[name])] += 1
        i += 1
        if i % 5 == 0:  # now and then: an upload abandoned halfway, and a head sent a byte a second
            statuses["upload abandoned halfway"][send_raw(port, requests["16-bit 7000x7000 PNG"], 60_000)] += 1
        if i % 9 == 0:
            statuses["head sent a byte every 0.25 s"][send_raw(port, requests["EPS"], trickle=0.25)] += 1


# -- normal requests, in their own process ---------------------------------------------------------------

async def _normal(port: int, requests: list[bytes], clients: int, stop_after: float, think: float) -> dict:
    from load_test import _read_response

    latencies: list[float] = []
    errors: list[str] = []
    stop = time.monotonic() + stop_after

    async def client(index: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        i = index
        try:
            while time.monotonic() < stop:
                start = time.perf_counter()
                writer.write(requests[i % len(requests)])
                try:
                    status, body = await asyncio.wait_for(_read_response(reader), 30)
                except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as err:
                    errors.append(f"{type(err).__name__}")
                    reader, writer = await asyncio.open_connection(HOST, port)
                    continue
                latencies.append(time.perf_counter() - start)
                if status != 200:
                    errors.append(f"HTTP {status} {body[:80]!r}")
                i += clients
                await asyncio.sleep(think)
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"latencies": latencies, "errors": errors}


def _normal_process(port: int, requests: list[bytes], clients: int, seconds: float, think: float,
                    out: multiprocessing.Queue) -> None:
    out.put(asyncio.run(_normal(port, requests, clients, seconds, think)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180, help="how long the storm lasts (default: 180)")
    parser.add_argument("--normal", type=int, default=4, help="normal clients (default: 4)")
    parser.add_argument("--think", type=float, default=20, help="ms each normal client waits between requests "
                        "(default: 20)")
    parser.add_argument("--hostile", type=int, default=4, help="hostile clients (default: 4)")
    parser.add_argument("--workers", type=int, default=0, help="server processes (default: one per core)")
    args = parser.parse_args()

    hostile = hostile_requests()
    pngs, _ = digit_pngs(200, 280)
    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with Server(args.workers) as server:
        normal = [http_request(png, "raw", server.port) for png in pngs]
        server.warm_up()
        before = server.rss_mb()
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        process = context.Process(target=_normal_process, args=(server.port, normal, args.normal, args.seconds,
                                                                args.think / 1e3, out))

        def storm() -> dict:
            process.start()
            stop = time.monotonic() + args.seconds
            threads = [threading.Thread(target=hostile_client, args=(server.port, hostile, stop, statuses, i))
                       for i in range(args.hostile)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            try:
                return out.get(timeout=120)
            except queue.Empty:
                raise SystemExit("the normal clients did not report") from None

        during, result = peak_rss_during(server, storm, every=0.05)
        process.join(30)
        time.sleep(5)
        after = server.rss_mb()
        processes = len(process_tree(server.proc.pid))

    lat = sorted(result["latencies"])
    print(f"{args.seconds:.0f} s, {processes} server process(es) on {os.cpu_count()} cores, {args.normal} normal "
          f"clients ({args.think:g} ms between requests), {args.hostile} hostile clients")
    print(f"  server RSS   {before:.1f} MB before, {during:.1f} MB at most during (+{during - before:.1f}), "
          f"{after:.1f} MB 5 s after (+{after - before:.1f})")
    print(f"  normal       {len(lat)} requests, {len(result['errors'])} errors, "
          f"p50 {percentile(lat, 50) * 1e3:.1f} ms, p99 {percentile(lat, 99) * 1e3:.1f} ms, max {lat[-1] * 1e3:.1f} ms")
    for err in result["errors"][:5]:
        print("   ", err)
    print("  hostile      status: count (0 = the server hung up)")
    for name, counter in statuses.items():
        print(f"    {name:40s} {', '.join(f'{s}: {n}' for s, n in sorted(counter.items()))}")


if __name__ == "__main__":
    main()
