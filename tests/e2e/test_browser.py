"""End to end: `digitrec serve` as a real process, its page in headless Chromium, driven like a person.

Strokes are drawn with the mouse (and, on a phone-sized page, with touch), images are uploaded with
the file picker and by drag-and-drop. Any request from the page to a non-loopback address fails the
test: the page and the docs must work offline. Screenshots go to each test's tmp_path.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from digitrec.data import embedded_dir, read_verified
from digitrec.server.encoding import png_data_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSWERED = "['ok', 'unsure'].includes(document.getElementById('result').dataset.state)"

# Digits as pen strokes, in fractions of the pad (x right, y down), traced like people write them.
ARC = [(0.5 + 0.2 * math.cos(t / 12 * 2 * math.pi), 0.5 + 0.32 * math.sin(t / 12 * 2 * math.pi))
       for t in range(13)]
STROKES = {
    0: [ARC],
    1: [[(0.46, 0.2), (0.55, 0.13), (0.55, 0.86)]],
    2: [[(0.3, 0.3), (0.4, 0.17), (0.55, 0.15), (0.68, 0.25), (0.66, 0.4), (0.3, 0.84), (0.74, 0.84)]],
    3: [[(0.3, 0.2), (0.5, 0.13), (0.68, 0.22), (0.66, 0.38), (0.45, 0.48), (0.68, 0.58), (0.7, 0.75),
         (0.52, 0.87), (0.3, 0.8)]],
    4: [[(0.58, 0.14), (0.26, 0.6), (0.76, 0.6)], [(0.6, 0.3), (0.6, 0.88)]],
    7: [[(0.25, 0.2), (0.75, 0.2), (0.42, 0.86)]],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@contextmanager
def serving(args: list[str], log_path: Path) -> Iterator[str]:
    """`digitrec serve ARGS` on a free loopback port, as users start it; its URL until the block ends."""
    port = free_port()
    exe = Path(sys.executable).with_name("digitrec")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "digitrec"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(command + ["serve", "--host", "127.0.0.1", "--port", str(port), *args],
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"digitrec serve exited with {proc.returncode}: {log_path.read_text()}")
            try:
                get_json(url + "/api/health")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"digitrec serve did not answer in 90 s: {log_path.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 or proc.returncode == -15, log_path.read_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`digitrec serve` with the shipped model; stopped after the module."""
    with serving([], tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI installs it; these tests must never be skipped there
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, url: str, path: str = "/", **context_options):
    """A fresh page at url+path whose requests to anywhere but loopback are aborted and recorded."""
    context = browser.new_context(reduced_motion="reduce", **context_options)  # no bar animation
    page = context.new_page()
    page.external_requests = []
    page.console_errors = []

    def guard(route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost", "::1") \
                or route.request.url.startswith("data:"):
            route.continue_()
        else:
            page.external_requests.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    # Chromium logs every 4xx answer as a console error; the tests check those answers themselves.
    page.on("console", lambda msg: page.console_errors.append(msg.text)
            if msg.type == "error" and "the server responded with a status of 4" not in msg.text else None)
    page.on("pageerror", lambda err: page.console_errors.append(str(err)))
    page.goto(url + path)
    return page


@contextmanager
def checked_page(browser, server, height: int) -> Iterator:
    """A desktop-sized page with its model loaded; on leaving, it must have made no external request
    and logged no console error."""
    page = open_page(browser, server, viewport={"width": 1000, "height": height})
    page.wait_for_function("document.getElementById('model-info').textContent.startsWith('Model:')")
    yield page
    assert page.external_requests == []
    assert page.console_errors == []
    page.context.close()


@pytest.fixture
def page(browser, server):
    with checked_page(browser, server, 760) as page:
        yield page


def draw(page, strokes, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> None:
    box = page.locator("#canvas").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + (offset[0] + scale * x) * box["width"],
                   box["y"] + (offset[1] + scale * y) * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=6)
        page.mouse.up()


def touch_draw(page, strokes) -> None:
    """Strokes drawn with a finger (CDP touch events, 10 moves per segment), in fractions of the pad."""
    box = page.locator("#canvas").bounding_box()
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
            {"x": points[0][0], "y": points[0][1]}]})
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            for t in range(1, 11):
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                    {"x": x0 + (x1 - x0) * t / 10, "y": y0 + (y1 - y0) * t / 10}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def drop_file(page, path: Path) -> None:
    """`path` dropped on the pad, as a file dragged from the desktop."""
    page.evaluate("""([b64, name]) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, {type: 'image/png'}));
        document.getElementById('drop-zone').dispatchEvent(
            new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""", [base64.b64encode(path.read_bytes()).decode(), path.name])


def shown(page) -> dict:
    return page.evaluate("""() => ({
        state: document.getElementById('result').dataset.state,
        digit: document.getElementById('digit').textContent,
        status: document.getElementById('status').textContent,
        bars: document.querySelectorAll('#bars li').length,
        winners: [...document.querySelectorAll('#bars li.winner .label')].map(e => e.textContent),
        widths: [...document.querySelectorAll('#bars .fill')].map(e => parseFloat(e.style.width) || 0),
        seen: document.getElementById('seen').hidden ? 0 : document.getElementById('seen').naturalWidth,
    })""")


def wait_for_answer(page) -> dict:
    page.wait_for_function(ANSWERED, timeout=15_000)
    page.wait_for_function("document.getElementById('seen').naturalWidth === 28")
    return shown(page)


def assert_shows(result: dict, digit: int) -> None:
    assert result["digit"] == str(digit), result
    assert result["bars"] == 10
    assert result["winners"] == [str(digit)]
    assert max(result["widths"]) == result["widths"][digit] > 0
    assert sum(result["widths"]) == pytest.approx(100, abs=2)
    assert result["seen"] == 28  # "what the model saw" is the 28x28 input


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_drawn_digit_is_recognised(page, digit, tmp_path):
    draw(page, STROKES[digit])
    result = wait_for_answer(page)
    page.screenshot(path=tmp_path / f"drawn-{digit}.png")
    assert_shows(result, digit)


def test_small_digit_in_a_corner_is_recognised(page, tmp_path):
    draw(page, STROKES[7], scale=0.3, offset=(0.02, 0.02))
    result = wait_for_answer(page)
    page.screenshot(path=tmp_path / "small-corner-7.png")
    assert_shows(result, 7)


def test_prediction_is_live_while_drawing(page):
    box = page.locator("#canvas").bounding_box()
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    for x, y in [(0.75, 0.2), (0.42, 0.86)]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=6)
    page.wait_for_function(ANSWERED, timeout=15_000)  # the button is still down
    assert shown(page)["digit"] != ""
    page.mouse.up()


def test_blank_canvas_shows_no_digit(page, tmp_path):
    def assert_blank() -> None:
        result = shown(page)
        assert result["state"] == "empty" and result["digit"] == "", result
        assert "draw a digit" in result["status"].lower()
        assert result["winners"] == [] and max(result["widths"]) == 0 and result["seen"] == 0
        assert result["bars"] == 10

    assert_blank()
    page.screenshot(path=tmp_path / "blank.png")
    draw(page, STROKES[7])
    wait_for_answer(page)
    page.get_by_role("button", name="Clear").click()
    assert_blank()
    draw(page, STROKES[4])  # two strokes, undone one at a time with the keyboard
    wait_for_answer(page)
    page.keyboard.press("Control+z")
    # Half a 4 may be answered as a digit or as not one: either way, an answer
    page.wait_for_function(ANSWERED.replace("'unsure'", "'unsure', 'refused'"))
    page.keyboard.press("Control+z")
    assert_blank()
    page.screenshot(path=tmp_path / "cleared.png")


def mnist_upload(tmp_path: Path, index: int) -> tuple[Path, int]:
    """MNIST test digit `index` as a person's scan: dark ink on white, 4x larger, off-centre."""
    root = embedded_dir()
    images = read_verified((root / "t10k-images-idx3-ubyte.gz").read_bytes(), "test_images", "t10k")
    labels = read_verified((root / "t10k-labels-idx1-ubyte.gz").read_bytes(), "test_labels", "t10k")
    page = Image.new("L", (200, 160), 255)
    page.paste(Image.fromarray(255 - images[index]).resize((112, 112), Image.BICUBIC), (70, 10))
    path = tmp_path / f"mnist-{index}.png"
    page.save(path)
    return path, int(labels[index])


def test_uploaded_image_is_recognised(page, tmp_path):
    path, label = mnist_upload(tmp_path, 0)
    page.set_input_files("#file", path)
    result = wait_for_answer(page)
    page.screenshot(path=tmp_path / "uploaded.png")
    assert_shows(result, label)
    assert path.name in page.locator("#confidence").text_content()


def test_dropped_image_is_recognised(page, tmp_path):
    path, label = mnist_upload(tmp_path, 1)
    drop_file(page, path)
    assert_shows(wait_for_answer(page), label)


def test_unsure_answer_is_shown_as_unsure(page, tmp_path):
    # The server's answer is replaced by a fixed, doubtful one: this checks how the page shows it.
    probabilities = [0.01, 0.01, 0.02, 0.03, 0.45, 0.02, 0.02, 0.01, 0.03, 0.40]
    doubtful = {"digit": 4, "confidence": 0.45, "probabilities": probabilities,
                "preprocessed": png_data_url(np.eye(28, dtype=np.uint8) * 255)}
    page.route(re.compile(r"/api/predict(\?|$)"), lambda route: route.fulfill(json=doubtful))
    draw(page, STROKES[4])
    page.wait_for_function(ANSWERED)
    result = shown(page)
    page.screenshot(path=tmp_path / "unsure.png")
    assert result["state"] == "unsure" and result["digit"] == "4" and result["winners"] == ["4"]
    assert "not sure" in result["status"].lower() and "9" in result["status"]


def test_unreadable_upload_shows_the_servers_error(page, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    page.set_input_files("#file", broken)
    page.wait_for_function("document.getElementById('result').dataset.state === 'error'")
    result = shown(page)
    page.screenshot(path=tmp_path / "error.png")
    assert result["digit"] == "" and result["winners"] == []
    assert "broken.png" in result["status"]


def test_phone_touch_drawing_never_scrolls(browser, server, tmp_path):
    page = open_page(browser, server, viewport={"width": 390, "height": 700}, has_touch=True,
                     is_mobile=True, device_scale_factor=2)
    assert page.evaluate("document.documentElement.scrollHeight > innerHeight"), "page must be scrollable"
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "no sideways scrolling"
    page.wait_for_function("document.getElementById('model-info').textContent.startsWith('Model:')")
    page.evaluate("window.scrollTo(0, 40)")  # a swipe either way would now move the page
    scrolled = page.evaluate("scrollY")
    assert scrolled > 0
    touch_draw(page, STROKES[7])  # a downward finger swipe would scroll a normal page
    result = wait_for_answer(page)
    assert page.evaluate("scrollY") == scrolled  # before the full-page screenshot, which scrolls
    page.screenshot(path=tmp_path / "phone.png", full_page=True)
    assert_shows(result, 7)
    assert page.external_requests == [] and page.console_errors == []
    page.context.close()


def test_docs_page_works_offline(browser, server, tmp_path):
    page = open_page(browser, server, "/docs", viewport={"width": 1100, "height": 900})
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_text_contents()
    assert {"/api/predict", "/api/predict/batch", "/api/health", "/api/model"} <= {p.strip() for p in paths}
    page.screenshot(path=tmp_path / "docs.png")
    assert page.external_requests == []
    page.context.close()


def test_page_matches_the_api(page, server):
    model = get_json(server + "/api/model")
    info = page.locator("#model-info").text_content()
    assert model["name"] in info
    assert f"{model['test_accuracy'] * 100:.2f}%" in info
