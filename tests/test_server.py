"""The REST API in-process: every input form, every error, batches, docs offline, concurrency.

The oracle for every answer is `Recognizer.predict` on the same bytes (what `digitrec predict` uses),
so these tests hold for any shipped model; inputs are real MNIST test digits drawn as people upload
them (dark ink on white, larger, off-centre).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.requests import Request

from digitrec.errors import DigitrecError
from digitrec.images import encode_png
from digitrec.server import create_app
from digitrec.server.bodies import limited_stream
from digitrec.server.encoding import decode_data_url
from fixtures import canvas_digits, encode, mnist_test, png_declaring

with warnings.catch_warnings():  # starlette >= 1.x prefers the httpx2 fork; httpx still works
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def decode_png(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(decode_data_url(url, "test"))))


@pytest.fixture(scope="module")
def digits() -> list[bytes]:
    """Twelve MNIST test digits as a person's upload: black ink on white, 3x larger, off-centre."""
    return canvas_digits(12)


@pytest.fixture(scope="module")
def recognizer():
    from digitrec.recognizer import Recognizer

    return Recognizer.load()


@pytest.fixture(scope="module")
def client(recognizer):
    with TestClient(create_app(recognizer)) as c:
        yield c


def oracle(recognizer, data: bytes) -> dict:
    p = recognizer.predict(data)
    return {"digit": p.digit, "probabilities": [float(x) for x in p.probabilities], "seen": p.preprocessed}


def assert_matches(answer: dict, expected: dict) -> None:
    assert set(answer) >= {"digit", "confidence", "probabilities", "preprocessed"}
    assert answer["digit"] == expected["digit"]
    assert answer["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-6)
    assert answer["confidence"] == pytest.approx(max(answer["probabilities"]))
    assert answer["confidence"] == answer["probabilities"][answer["digit"]]
    assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    seen = decode_png(answer["preprocessed"])
    assert seen.shape == (28, 28) and seen.dtype == np.uint8
    np.testing.assert_array_equal(seen, expected["seen"])


def assert_error(response, status: int, words: str = "") -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail and "Traceback" not in detail
    assert words.lower() in detail.lower()


# -- every input form gives the recogniser's own answer ----------------------------------------

FORMS = {
    "multipart": lambda c, b: c.post("/api/predict", files={"file": ("digit.png", b, "image/png")}),
    "raw-png": lambda c, b: c.post("/api/predict", content=b, headers={"Content-Type": "image/png"}),
    "raw-octet-stream": lambda c, b: c.post("/api/predict", content=b,
                                            headers={"Content-Type": "application/octet-stream"}),
    "raw-no-content-type": lambda c, b: c.post("/api/predict", content=b),
    "raw-curl-default": lambda c, b: c.post("/api/predict", content=b, headers={
        "Content-Type": "application/x-www-form-urlencoded"}),  # curl --data-binary @digit.png
    "json-data-url": lambda c, b: c.post("/api/predict", json={"image": data_url(b)}),
    "json-bare-base64": lambda c, b: c.post("/api/predict", json={"image": base64.b64encode(b).decode()}),
}


@pytest.mark.parametrize("form", FORMS)
def test_every_input_form_answers_like_the_recognizer(client, recognizer, digits, form):
    for data in digits[:3]:
        response = FORMS[form](client, data)
        assert response.status_code == 200, response.text
        assert_matches(response.json(), oracle(recognizer, data))


def test_server_and_recognizer_give_identical_answers(client, recognizer, digits):
    # The same bytes through HTTP and through Recognizer.predict: one preprocessing and model path.
    for data in digits:
        answer = client.post("/api/predict", content=data, headers={"Content-Type": "image/png"}).json()
        expected = oracle(recognizer, data)
        assert answer["digit"] == expected["digit"]
        assert answer["probabilities"] == expected["probabilities"]
        np.testing.assert_array_equal(decode_png(answer["preprocessed"]), expected["seen"])


def test_server_matches_digitrec_predict(client, digits, tmp_path):
    # `digitrec predict --json` on the same files (it batches them, so allow float rounding).
    from digitrec.cli.recognize import run_predict

    paths = []
    for i, data in enumerate(digits):
        paths.append(tmp_path / f"{i}.png")
        paths[-1].write_bytes(data)
    out = io.StringIO()
    assert run_predict([str(p) for p in paths], as_json=True, out=out) == 0
    for line, data in zip(out.getvalue().splitlines(), digits, strict=True):
        cli = json.loads(line)
        answer = client.post("/api/predict", files={"file": ("d.png", data, "image/png")}).json()
        assert answer["digit"] == cli["digit"]
        assert answer["probabilities"] == pytest.approx(cli["probabilities"], abs=1e-6)


def test_answers_are_mostly_the_true_digits(client, digits):
    labels = mnist_test()[1][: len(digits)]
    answers = [client.post("/api/predict", content=d).json()["digit"] for d in digits]
    assert sum(int(a == y) for a, y in zip(answers, labels, strict=True)) >= len(digits) - 1


# -- errors: 4xx with one clear line, never a 500 ----------------------------------------------

def blank_pngs() -> dict[str, bytes]:
    return {"white": encode(Image.new("L", (64, 64), 255)), "black": encode(Image.new("L", (64, 64), 0)),
            "grey-rgb": encode(Image.new("RGB", (40, 30), (128, 128, 128))),
            "transparent": encode(Image.new("RGBA", (50, 50), (0, 0, 0, 0)))}


@pytest.mark.parametrize("name", blank_pngs())
def test_blank_image_is_422_no_digit_found(client, name):
    blank = blank_pngs()[name]
    assert_error(client.post("/api/predict", content=blank), 422, "no digit found")
    assert_error(client.post("/api/predict", json={"image": data_url(blank)}), 422, "no digit found")
    assert_error(client.post("/api/predict", files={"file": ("b.png", blank, "image/png")}), 422, "no digit found")


def test_unreadable_images_are_400(client, digits):
    for body in (b"this is not an image", digits[0][:200], b"\x89PNG\r\n\x1a\n" + b"\0" * 50):
        assert_error(client.post("/api/predict", content=body, headers={"Content-Type": "image/png"}), 400)
        assert_error(client.post("/api/predict", files={"file": ("x.png", body, "image/png")}), 400)
        assert_error(client.post("/api/predict", json={"image": data_url(body)}), 400)


@pytest.mark.parametrize("body, words", [
    (b"{not json", "not valid JSON"),
    (b'{"picture": "data:image/png;base64,AAAA"}', "'image'"),
    (b'{"image": "data:image/png;base64,***"}', "invalid base64"),
    (b'{"image": "data:image/png,rawtext"}', "not a base64 data URL"),
    (b'{"image": 42}', "data URL"),
    (b'{"image": ""}', "data URL"),
    (b"[1, 2]", "'image'"),
    (b"[" * 100_000, "not valid JSON"),
])
def test_bad_json_is_400(client, body, words):
    assert_error(client.post("/api/predict", content=body, headers={"Content-Type": "application/json"}),
                 400, words)


def test_other_bad_requests_are_4xx(client, digits):
    assert_error(client.post("/api/predict", content=b""), 400, "empty")
    assert_error(client.post("/api/predict", content=b"hi", headers={"Content-Type": "text/plain"}), 400,
                 "not an image")
    assert_error(client.post("/api/predict", files={"note": (None, "no file here")}), 400, "no file")
    two = [("file", ("a.png", digits[0], "image/png")), ("file", ("b.png", digits[1], "image/png"))]
    assert_error(client.post("/api/predict", files=two), 400, "/api/predict/batch")
    assert_error(client.post("/api/predict", content=b"--x\r\nbroken",
                             headers={"Content-Type": "multipart/form-data; boundary=x"}), 400)
    assert_error(client.post("/api/predict", content=b"x", headers={"Content-Length": "lots"}), 400)


def test_decompression_bomb_is_refused(client):
    bomb = png_declaring(60_000, 60_000)  # 3.6 gigapixels in under 10 kB
    assert len(bomb) < 10_000
    for response in (client.post("/api/predict", content=bomb),
                     client.post("/api/predict", files={"file": ("bomb.png", bomb, "image/png")})):
        assert response.status_code in (400, 413), response.text
        assert_error(response, response.status_code)


def test_body_over_the_limit_is_413(client, digits):
    big = b"\0" * (5 * 1024 * 1024 + 1)
    assert_error(client.post("/api/predict", content=big), 413, "limit")
    assert_error(client.post("/api/predict", files={"file": ("big.png", big, "image/png")}), 413, "limit")
    assert_error(client.post("/api/predict", json={"image": data_url(big)}), 413, "limit")
    # Without a Content-Length (chunked), the running count catches it.
    assert_error(client.post("/api/predict", content=iter([big[:1 << 20]] * 6)), 413, "limit")


def test_upload_limit_is_configurable(recognizer, digits):
    limit = len(digits[0]) + 10
    with TestClient(create_app(recognizer, max_upload_bytes=limit, max_batch=2)) as small:
        assert small.post("/api/predict", content=digits[0]).status_code == 200
        assert_error(small.post("/api/predict", content=digits[0] + b"\0" * 11), 413, f"{limit:,d}")
        files = [("files", ("a.png", digits[0][:10], "image/png"))] * 3
        assert_error(small.post("/api/predict/batch", files=files), 413, "more than 2 images")
    with pytest.raises(DigitrecError):
        create_app(recognizer, max_upload_bytes=0)


def test_limit_stops_reading_a_streamed_body_early():
    # 100 chunks of 1 kB against a 5 kB limit: refused after the 6th chunk, not after all 100.
    received = []

    async def receive() -> dict:
        received.append(1)
        return {"type": "http.request", "body": b"\0" * 1024, "more_body": len(received) < 100}

    async def consume() -> None:
        scope = {"type": "http", "method": "POST", "headers": [], "path": "/", "query_string": b""}
        async for _ in limited_stream(Request(scope, receive), 5 * 1024):
            pass

    with pytest.raises(Exception) as info:
        asyncio.run(consume())
    assert getattr(info.value, "status_code", None) == 413
    assert len(received) == 6


def test_corrupted_images_never_give_500(client, digits):
    rng = np.random.default_rng(0)
    original = np.frombuffer(digits[0], np.uint8)
    for _ in range(40):
        broken = original.copy()
        spots = rng.integers(0, broken.size, size=int(rng.integers(1, 20)))
        broken[spots] = rng.integers(0, 256, size=spots.size)
        body = broken[: int(rng.integers(20, broken.size + 1))].tobytes()
        assert client.post("/api/predict", content=body).status_code in (200, 400, 422)


# -- batch ----------------------------------------------------------------------------------------

def test_batch_multipart_answers_each_image_in_order(client, recognizer, digits):
    blank = blank_pngs()["white"]
    files = [("files", (f"d{i}.png", d, "image/png")) for i, d in enumerate(digits[:4])]
    files.insert(1, ("files", ("junk.png", b"junk", "image/png")))
    files.insert(3, ("files", ("blank.png", blank, "image/png")))
    response = client.post("/api/predict/batch", files=files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["name"] for r in results] == ["d0.png", "junk.png", "d1.png", "blank.png", "d2.png", "d3.png"]
    assert results[1]["status"] == 400 and results[1]["error"]
    assert results[3]["status"] == 422 and "no digit found" in results[3]["error"]
    for r, data in zip([results[i] for i in (0, 2, 4, 5)], digits[:4], strict=True):
        assert_matches(r, oracle(recognizer, data))


def test_batch_json_forms(client, recognizer, digits):
    urls = [data_url(d) for d in digits[:3]]
    for body in ({"images": urls + ["not base64!"]}, urls + ["not base64!"]):
        results = client.post("/api/predict/batch", json=body).json()["results"]
        assert len(results) == 4
        for r, data in zip(results[:3], digits[:3], strict=True):
            assert_matches(r, oracle(recognizer, data))
        assert results[3]["status"] == 400 and "image 3" in results[3]["error"]


def test_batch_errors(client, digits):
    assert_error(client.post("/api/predict/batch", json={"images": []}), 400, "no images")
    assert_error(client.post("/api/predict/batch", json={"pictures": []}), 400)
    assert_error(client.post("/api/predict/batch", content=digits[0], headers={"Content-Type": "image/png"}), 415)
    assert_error(client.post("/api/predict/batch", json={"images": [data_url(digits[0])] * 65}), 413, "64")


# -- health, model, docs, page ----------------------------------------------------------------------

def test_health_and_model(client, recognizer):
    architecture = recognizer.metadata["model"]["name"]
    assert client.get("/api/health").json() == {"status": "ok", "model": architecture}
    model = client.get("/api/model").json()
    assert model["name"] == architecture and model["file"] == recognizer.name
    assert model["metadata"] == recognizer.metadata
    assert model["test_accuracy"] == recognizer.metadata["metrics"]["test_acc"]
    assert 0.9 < model["test_accuracy"] <= 1.0


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""")


def local_assets(client, html: str) -> list[str]:
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    return [r for r in refs if not r.startswith("data:")]


def test_docs_work_offline(client):
    html = client.get("/docs").text
    assert "swagger-ui" in html.lower()
    assert not re.search(r"https?://", html), "the docs page must reference no external URL"
    assets = local_assets(client, html)
    assert {"/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css"} <= set(assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 500, asset
    assert not EXTERNAL.search(client.get("/static/docs/swagger-ui.css").text)
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/predict"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json", "image/*"} <= set(body)
    assert {"/api/predict/batch", "/api/health", "/api/model"} <= set(spec["paths"])


def test_page_is_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = local_assets(client, page.text)
    assert {"/static/app.js", "/static/style.css"} <= set(assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        assert client.get(asset).status_code == 200, asset
        if asset.startswith("/static/"):
            assert not re.search(r"https?://", client.get(asset).text), asset
    css = client.get("/static/style.css").text
    assert re.search(r"canvas\s*{[^}]*touch-action:\s*none", css), "drawing must not scroll the page"


# -- concurrency ---------------------------------------------------------------------------------------

def test_concurrent_requests_do_not_mix_answers(client, recognizer, digits):
    expected = [oracle(recognizer, d) for d in digits]
    jobs = [i % len(digits) for i in range(96)]

    def ask(i: int) -> tuple[int, dict]:
        return i, client.post("/api/predict", content=digits[i], headers={"Content-Type": "image/png"}).json()

    with ThreadPoolExecutor(8) as pool:
        for i, answer in pool.map(ask, jobs):
            assert_matches(answer, expected[i])


def test_preprocessed_png_round_trips():
    image = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode_png(image)))), image)


# -- digitrec serve ------------------------------------------------------------------------------------

def test_serve_refuses_bad_options_with_one_line(capsys):
    from digitrec.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for argv, words in ([f"--port={port}"], "cannot listen"), (["--max-upload-mb", "0"], "must be positive"), \
                (["--workers", "-1"], "one per CPU core"), (["--model", "nowhere.onnx"], "no such model file"):
            assert main(["serve", *argv]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and words in err, err


@pytest.mark.slow
def test_serve_with_two_worker_processes(recognizer, digits):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("digitrec")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "digitrec"]
    proc = subprocess.Popen(command + ["serve", "--port", str(port), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        answers = []
        while len(answers) < 6:  # every worker answers the same
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=digits[0],
                                             headers={"Content-Type": "image/png"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answers.append(json.loads(response.read()))
            except OSError:
                time.sleep(0.2)
        for answer in answers:
            assert_matches(answer, oracle(recognizer, digits[0]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stdout.read() if proc.stdout else ""
