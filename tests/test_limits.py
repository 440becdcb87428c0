"""The server's limits (server/limits.py): the request head in bytes, count and time, the body in time
and in bytes held at once, the decoding budget of a request, the lanes' bounded queues (503 with
Retry-After), client disconnects as one log line, and the memory bound of one hostile request.

Head limits live in the HTTP protocol, so those tests run a real uvicorn server in a thread; the
memory bound is measured on a real `digitrec serve` process.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import anyio
import numpy as np
import pytest
import uvicorn
from fastapi import HTTPException
from PIL import Image

from digitrec.images import MAX_DECODE_BYTES, decode_cost
from digitrec.malloc import trim_memory, tune_malloc
from digitrec.recognizer import Recognizer
from digitrec.server import bodies, create_app, limits
from fixtures import canvas_digits, encode, uniform_png

with warnings.catch_warnings():  # starlette >= 1.x prefers the httpx2 fork; httpx still works
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


@pytest.fixture(scope="module")
def digit() -> bytes:
    return canvas_digits(1)[0]


@pytest.fixture(scope="module")
def live(recognizer) -> Iterator[int]:
    """The port of a real uvicorn server (the bounded protocol) on this process's own loop thread."""
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(recognizer), log_config=None, **limits.uvicorn_settings())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(30)
    sock.close()


def exchange(port: int, data: bytes, wait: float = 30) -> bytes:
    """Send `data` (ignoring a server that hangs up mid-way) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and b"connection: close" not in answer.lower():
                    head, _, body = answer.partition(b"\r\n\r\n")
                    length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
                    if length and len(body) >= int(length[0].split(b":")[1]):
                        break
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def get(headers: bytes = b"", path: bytes = b"/api/health") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"


# -- the request head ----------------------------------------------------------------------------------

@pytest.mark.parametrize("request_bytes, words", [
    (get(b"X-Big: " + b"a" * (8 * 2**20) + b"\r\n"), b"more than 32768 bytes"),  # one 8 MB header
    (get(b"".join(b"X-%d: a\r\n" % i for i in range(200))), b"more than 100"),
    (get(path=b"/" + b"a" * (4 * 2**20)), b"more than 32768 bytes"),  # a 4 MB URL
], ids=["8 MB header", "200 headers", "4 MB url"])
def test_oversized_heads_get_431_and_the_server_goes_on(live, digit, request_bytes, words):
    answer = exchange(live, request_bytes)
    assert status(answer) == 431 and words in answer
    assert status(exchange(live, get())) == 200


def test_a_head_within_the_limits_is_served(live):
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 280) for i in range(90))  # 90 headers, 26 KB
    assert status(exchange(live, get(headers))) == 200


def test_a_slow_or_silent_head_gets_408(live, monkeypatch):
    monkeypatch.setattr(limits, "HEAD_SECONDS", 0.5)
    start = time.monotonic()
    assert status(exchange(live, b"GET /api/health HTTP/1.1\r\nHost: x\r\n")) == 408  # never ends its head
    assert status(exchange(live, b"")) == 408  # connects, sends nothing
    assert time.monotonic() - start < 10


# -- bodies ------------------------------------------------------------------------------------------------

def test_a_slow_body_gets_408(live, monkeypatch):
    monkeypatch.setattr(bodies, "BODY_SECONDS", 0.5)
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"
    answer = exchange(live, head + b"\x89PNG")
    assert status(answer) == 408 and b"did not arrive within 0.5 s" in answer


def test_a_client_hanging_up_mid_upload_is_one_log_line(live, caplog):
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
    with caplog.at_level(logging.INFO):
        with socket.create_connection(("127.0.0.1", live)) as s:
            s.sendall(head + b"x" * 5000)
        deadline = time.monotonic() + 10
        while not any("hung up" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = [r for r in caplog.records if r.name.startswith("uvicorn")]
    assert [r.getMessage().split(" ", 1)[1] for r in lines] == [
        "hung up after 5,000 of 100,000 of its request body's bytes"]
    assert not any(r.exc_info for r in caplog.records)


def test_bodies_held_at_once_are_bounded(recognizer, digit):
    app = create_app(recognizer)
    app.state.bodies.limit = 10_000
    with TestClient(app) as client:
        for content in (b"\0" * 20_000, iter([b"\0" * 8_000] * 3)):  # declared, then chunked (undeclared)
            response = client.post("/api/predict", content=content, headers={"Content-Type": "image/png"})
            assert response.status_code == 503 and response.headers["Retry-After"] == "1"
            assert "busy" in response.json()["detail"]
        assert app.state.bodies.held == 0  # every reservation given back
        assert client.post("/api/predict", content=digit).status_code == 200


def test_body_budget_reserves_and_releases():
    budget = limits.BodyBudget(100)
    first, second = [], []
    budget.hold(first, 60)
    with pytest.raises(HTTPException) as info:
        budget.hold(second, 41)
    assert info.value.status_code == 503 and second == []
    budget.release(first)
    budget.hold(second, 100)
    assert budget.held == 100


# -- decoding work --------------------------------------------------------------------------------------

def test_a_batch_spends_at_most_its_decoding_budget(recognizer, monkeypatch):
    image = uniform_png(400, 400, 8, 2)  # a white RGB square: 640 KB to decode
    monkeypatch.setattr(limits, "REQUEST_DECODE_BYTES", int(2.5 * decode_cost(image)))
    with TestClient(create_app(recognizer)) as client:
        files = [("files", (f"{i}.png", image, "image/png")) for i in range(4)]
        results = client.post("/api/predict/batch", files=files).json()["results"]
    assert [r["status"] for r in results] == [422, 422, 413, 413]  # blank, blank, then over the budget
    assert "decoding budget" in results[2]["error"]


def test_requests_take_the_lane_their_decoding_cost_asks_for(recognizer, digit, monkeypatch):
    heavy_flags = []
    run = limits.Lanes.run

    async def spy(self, heavy, fn, *args):
        heavy_flags.append(heavy)
        return await run(self, heavy, fn, *args)

    monkeypatch.setattr(limits.Lanes, "run", spy)
    big = encode(Image.new("RGB", (1200, 1200), "white"))  # 5.8 MB to decode, over HEAVY_BYTES
    assert decode_cost(big) > limits.HEAVY_BYTES > decode_cost(digit)
    with TestClient(create_app(recognizer)) as client:
        assert client.post("/api/predict", content=digit).status_code == 200
        assert client.post("/api/predict", content=big).status_code == 422
    assert heavy_flags == [False, False, True]  # priced in the light lane, decoded in the heavy one


def test_a_full_lane_answers_503_and_the_other_lane_still_serves():
    async def scenario() -> None:
        lanes, gate = limits.Lanes(1), threading.Event()
        async with anyio.create_task_group() as group:
            for _ in range(1 + limits.HEAVY_QUEUE):  # one running, the queue full
                group.start_soon(lanes.run, True, gate.wait)
            while lanes.heavy.statistics().tasks_waiting < limits.HEAVY_QUEUE:
                await anyio.sleep(0.01)
            with pytest.raises(HTTPException) as info:
                await lanes.run(True, gate.wait)
            assert info.value.status_code == 503 and info.value.headers == {"Retry-After": "1"}
            assert await lanes.run(False, lambda: 42) == 42
            gate.set()

    anyio.run(scenario)


def test_a_model_that_answers_nan_gets_422_not_500(digit):
    nan = Recognizer(lambda batch: np.full((len(batch), 10), np.nan, np.float32),
                     {"model": {"name": "nan", "kwargs": {}}}, "nan")
    with TestClient(create_app(nan)) as client:
        response = client.post("/api/predict", content=digit)
        assert response.status_code == 422 and "NaN or infinite outputs" in response.json()["detail"]
        response = client.post("/api/predict/batch", files=[("files", ("a.png", digit, "image/png"))])
        assert response.status_code == 422


def test_malloc_is_tuned_on_glibc():
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    assert tune_malloc()
    trim_memory()


# -- the memory bound of one hostile request, on a real server ----------------------------------------------

SERVER_BOUND_MB = 300  # README: peak RSS under any single request <= baseline + 300 MB
STORM_BOUND_MB = 100  # README: after a storm of them, <= baseline + 100 MB


@pytest.fixture(scope="module")
def worst() -> dict[str, tuple[str, str, bytes]]:
    """The costliest requests one image or one batch can make: (path, content type, body)."""
    sys.path.insert(0, str(BENCHMARKS))
    from memory_bound import worst_requests

    return worst_requests()


@pytest.mark.slow
def test_one_hostile_request_stays_within_the_memory_bound(worst):
    sys.path.insert(0, str(BENCHMARKS))
    from soak import Server, peak_rss_during

    assert all(decode_cost(body) <= MAX_DECODE_BYTES for path, _, body in worst.values() if "batch" not in path)
    with Server(workers=1) as server:
        server.warm_up()
        baseline = server.rss_mb()
        for name, (path, kind, body) in worst.items():
            peak, answer = peak_rss_during(server, lambda p=path, b=body, k=kind: server.post(p, b, k))
            assert answer.status in (200, 413, 422), (name, answer.status)
            assert peak - baseline <= SERVER_BOUND_MB, f"{name}: peak {peak - baseline:.0f} MB over the baseline"
        answers = server.storm([worst["7000x7000 RGBA PNG"][1:]] * 12)
        assert {a.status for a in answers} <= {422, 503} and any(a.status == 503 for a in answers)
        assert all(a.headers.get("retry-after") == "1" for a in answers if a.status == 503)
        time.sleep(1)
        assert server.rss_mb() - baseline <= STORM_BOUND_MB
        json.loads(server.post("/api/predict", canvas_digits(1)[0], "image/png").body)  # still serving
