"""End to end: the page's number mode on a real `digitrec serve` in headless Chromium. A number is
written with the mouse (and with a finger on a phone-sized page) on the wide pad, read live through
/api/read, and shown with a box over the pad per digit; uploads and drops are read too. Screenshots
go to each test's tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_browser import (  # noqa: F401  (browser and server: fixtures)
    STROKES,
    browser,
    checked_page,
    draw,
    drop_file,
    open_page,
    server,
    touch_draw,
)

from digitrec.data import embedded_dir, read_verified
from digitrec.server.encoding import png_data_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAD_RATIO = 3  # the number pad's width over its height: a digit's square is a third of it
ANSWERED = "['ok', 'unsure', 'refused'].includes(document.getElementById('result').dataset.state)"


def number_strokes(number: str) -> list[list[tuple[float, float]]]:
    """The digits of `number` (from STROKES) side by side on the wide pad, each in its own square, the
    row centred; in fractions of the pad."""
    first = (PAD_RATIO - len(number)) / 2
    return [[((first + i + x) / PAD_RATIO, y) for x, y in stroke]
            for i, digit in enumerate(number) for stroke in STROKES[int(digit)]]


def digit_spans(number: str) -> list[tuple[float, float]]:
    """Where each digit's ink lies across the pad (x from, x to), in fractions of its width."""
    first = (PAD_RATIO - len(number)) / 2
    spans = []
    for i, digit in enumerate(number):
        xs = [x for stroke in STROKES[int(digit)] for x, _ in stroke]
        spans.append(((first + i + min(xs)) / PAD_RATIO, (first + i + max(xs)) / PAD_RATIO))
    return spans


def reading(page) -> dict:
    return page.evaluate("""() => {
        const pad = document.getElementById('canvas').getBoundingClientRect();
        return {
            mode: document.body.dataset.mode,
            state: document.getElementById('result').dataset.state,
            number: document.getElementById('digit').textContent,
            headline: document.getElementById('confidence').textContent,
            status: document.getElementById('status').textContent,
            ratio: pad.width / pad.height,
            pad: [pad.left, pad.top, pad.right, pad.bottom],
            boxes: [...document.querySelectorAll('#boxes .box')].map(b => {
                const r = b.getBoundingClientRect();
                return {left: (r.left - pad.left) / pad.width, right: (r.right - pad.left) / pad.width,
                        label: b.textContent, notDigit: b.classList.contains('not-digit')};
            }),
            digits: [...document.querySelectorAll('#reading li')].map(li => ({
                answer: li.querySelector('.read-answer').textContent,
                sure: li.querySelector('.read-sure').textContent,
                seen: li.querySelector('img').naturalWidth, notDigit: li.classList.contains('not-digit')})),
            barsShown: document.getElementById('bars').getBoundingClientRect().height > 0,
            readingShown: document.getElementById('reading').getBoundingClientRect().height > 0,
        };
    }""")


def wait_for_reading(page, number: str | None = None) -> dict:
    """The page's answer once it is shown (and, given `number`, once it is that number)."""
    condition = ANSWERED + (f" && document.getElementById('digit').textContent === '{number}'" if number else "")
    try:
        page.wait_for_function(condition, timeout=20_000)
        page.wait_for_function("[...document.querySelectorAll('#reading img')].every(i => i.naturalWidth > 0)")
    except Exception as err:  # say what the page showed instead
        raise AssertionError(f"the page shows {reading(page)}") from err
    return reading(page)


def choose(page, mode: str) -> None:
    page.get_by_label(mode, exact=True).check()
    expected = "number" if mode == "A number" else "digit"
    page.wait_for_function(f"document.body.dataset.mode === '{expected}'")


def assert_reads(shown: dict, number: str, spans: list[tuple[float, float]]) -> None:
    assert shown["mode"] == "number" and shown["state"] in ("ok", "unsure"), shown
    assert shown["number"] == number
    assert "% sure" in shown["headline"]
    assert [d["answer"] for d in shown["digits"]] == list(number)
    assert all(d["seen"] == 28 and "% sure" in d["sure"] for d in shown["digits"])  # each digit's 28x28
    assert len(shown["boxes"]) == len(number)  # one box per digit, over its ink, left to right
    for box, digit, (x0, x1) in zip(shown["boxes"], number, spans, strict=True):
        assert box["label"].startswith(digit) and not box["notDigit"]
        assert box["left"] < (x0 + x1) / 2 < box["right"], (box, x0, x1)
        assert box["left"] > x0 - 0.05 and box["right"] < x1 + 0.05, (box, x0, x1)


@pytest.fixture
def page(browser, server):  # noqa: F811
    with checked_page(browser, server, 800) as page:
        yield page


@pytest.mark.parametrize("number", ["42", "307"])
def test_written_number_is_read_with_a_box_per_digit(page, number, tmp_path):
    reads = []
    page.on("request", lambda r: reads.append(r.url) if "/api/read" in r.url else None)
    choose(page, "A number")
    assert reading(page)["ratio"] == pytest.approx(PAD_RATIO, rel=0.02)
    assert "write a number" in reading(page)["status"].lower()
    draw(page, number_strokes(number))
    shown = wait_for_reading(page, number)
    page.screenshot(path=tmp_path / f"number-{number}.png")
    assert_reads(shown, number, digit_spans(number))
    assert reads and not shown["barsShown"]

    choose(page, "One digit")  # the drawing stays, shrunk to the square pad, and is judged as one digit
    page.wait_for_function("['ok', 'unsure', 'refused'].includes(document.getElementById('result').dataset.state)"
                           " && document.getElementById('seen').naturalWidth === 28", timeout=20_000)
    back = reading(page)
    page.screenshot(path=tmp_path / f"number-{number}-as-one-digit.png")
    assert back["ratio"] == pytest.approx(1, rel=0.02)
    assert back["boxes"] == [] and not back["readingShown"] and back["barsShown"]


def test_tools_and_keys_work_on_the_number_pad(page, tmp_path):
    choose(page, "A number")
    page.keyboard.press("]")  # a wider brush, by key
    assert page.locator("#brush-value").text_content() == "26"
    draw(page, number_strokes("42"))
    wait_for_reading(page, "42")
    page.keyboard.press("Control+z")  # the 2 was one stroke
    shown = wait_for_reading(page, "4")
    assert len(shown["boxes"]) == 1
    for _ in range(2):  # and the 4 two
        page.get_by_role("button", name="Undo").click()
    assert_blank(reading(page))
    draw(page, number_strokes("42"))
    wait_for_reading(page, "42")
    page.get_by_role("button", name="Clear").click()
    shown = reading(page)
    page.screenshot(path=tmp_path / "number-cleared.png")
    assert_blank(shown)


def assert_blank(shown: dict) -> None:
    assert shown["state"] == "empty" and shown["number"] == "" and "write a number" in shown["status"].lower()
    assert shown["boxes"] == [] and shown["digits"] == []


def mnist_number(tmp_path: Path, indices: list[int]) -> tuple[Path, str, list[tuple[float, float]]]:
    """MNIST test digits side by side as one scan (dark ink on white, 3x larger, 40 px apart): the
    file, its number, and each digit's span across the image in fractions of its width."""
    root = embedded_dir()
    images = read_verified((root / "t10k-images-idx3-ubyte.gz").read_bytes(), "test_images", "t10k")
    labels = read_verified((root / "t10k-labels-idx1-ubyte.gz").read_bytes(), "test_labels", "t10k")
    side, gap = 84, 40
    width = len(indices) * (side + gap) + gap
    scan = Image.new("L", (width, side + 2 * gap), 255)
    spans = []
    for i, index in enumerate(indices):
        left = gap + i * (side + gap)
        scan.paste(Image.fromarray(255 - images[index]).resize((side, side), Image.BICUBIC), (left, gap))
        cols = np.flatnonzero(images[index].max(axis=0) > 64)  # the ink's columns, in 28ths
        spans.append(((left + cols[0] * 3) / width, (left + (cols[-1] + 1) * 3) / width))
    path = tmp_path / f"number-{'-'.join(map(str, indices))}.png"
    scan.save(path)
    return path, "".join(str(int(labels[i])) for i in indices), spans


def on_the_pad(spans: list[tuple[float, float]], image: Path) -> list[tuple[float, float]]:
    """Spans across an image (fractions of its width) as spans across the number pad it is fitted in."""
    width, height = Image.open(image).size
    scale = min(PAD_RATIO * 336 / width, 336 / height)
    left = (PAD_RATIO * 336 - width * scale) / 2
    return [((left + x0 * width * scale) / (PAD_RATIO * 336), (left + x1 * width * scale) / (PAD_RATIO * 336))
            for x0, x1 in spans]


def test_uploaded_and_dropped_numbers_are_read(page, tmp_path):
    reads = []
    page.on("request", lambda r: reads.append(r.headers["content-type"]) if "/api/read" in r.url else None)
    choose(page, "A number")
    path, number, spans = mnist_number(tmp_path, [0, 1, 2])
    page.set_input_files("#file", path)
    shown = wait_for_reading(page, number)
    page.screenshot(path=tmp_path / "uploaded-number.png")
    assert_reads(shown, number, on_the_pad(spans, path))
    assert path.name in shown["headline"]
    assert reads[-1].startswith("multipart/form-data")  # the file itself, as it was chosen

    path, number, spans = mnist_number(tmp_path, [3, 4])
    drop_file(page, path)
    assert_reads(wait_for_reading(page, number), number, on_the_pad(spans, path))


def test_reading_without_a_number_shows_why_and_marks_the_parts(page, tmp_path):
    # The server's answer is replaced by one where part of the ink is not a digit: how the page shows it.
    seen = png_data_url(np.eye(28, dtype=np.uint8) * 255)
    refused = {"number": None, "confidence": 0.0,
               "reason": "Part 2 of 2 (counting from the left) does not look like a digit.",
               "digits": [{"digit": 4, "confidence": 0.93, "box": [170, 40, 320, 290], "preprocessed": seen},
                          {"digit": None, "confidence": 0.21, "box": [520, 30, 680, 300], "preprocessed": seen}]}
    page.route(re.compile(r"/api/read(\?|$)"), lambda route: route.fulfill(json=refused))
    choose(page, "A number")
    draw(page, number_strokes("42"))
    page.wait_for_function("document.getElementById('result').dataset.state === 'refused'", timeout=20_000)
    shown = reading(page)
    page.screenshot(path=tmp_path / "not-a-number.png")
    assert shown["number"] == "" and shown["headline"] == refused["reason"]
    assert "marked ?" in shown["status"]
    assert [d["answer"] for d in shown["digits"]] == ["4", "?"]
    assert [d["notDigit"] for d in shown["digits"]] == [False, True] and shown["digits"][1]["sure"] == "not a digit"
    assert [b["notDigit"] for b in shown["boxes"]] == [False, True]
    # the canvas is sent at half size: a box in its pixels covers twice as much of the pad
    assert shown["boxes"][1]["left"] == pytest.approx(2 * 520 / 1008, abs=0.01)
    assert shown["boxes"][1]["right"] == pytest.approx(2 * 680 / 1008, abs=0.01)
    assert shown["boxes"][1]["label"] == "?"


def test_phone_number_pad_fits_and_drawing_never_scrolls(browser, server, tmp_path):  # noqa: F811
    page = open_page(browser, server, viewport={"width": 390, "height": 700}, has_touch=True,
                     is_mobile=True, device_scale_factor=2)
    page.wait_for_function("document.getElementById('model-info').textContent.startsWith('Model:')")
    page.get_by_label("A number", exact=True).tap()
    page.wait_for_function("document.body.dataset.mode === 'number'")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "no sideways scrolling"
    left, top, right, bottom = reading(page)["pad"]
    assert left >= 0 and right <= 390 and right - left > 300, "the pad fits the width, and uses it"
    assert bottom - top < 700 / 2, "the pad leaves room for its answer on the screen"
    page.evaluate("window.scrollTo(0, 40)")  # a swipe either way would now move the page
    scrolled = page.evaluate("scrollY")
    assert scrolled > 0
    touch_draw(page, number_strokes("42"))
    shown = wait_for_reading(page, "42")
    assert page.evaluate("scrollY") == scrolled  # before the full-page screenshot, which scrolls
    page.screenshot(path=tmp_path / "phone-number.png", full_page=True)
    assert_reads(shown, "42", digit_spans("42"))
    assert page.external_requests == [] and page.console_errors == []
    page.context.close()
