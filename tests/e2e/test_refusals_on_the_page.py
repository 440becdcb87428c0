"""End to end: what the one-digit pad shows when the drawing is not one digit. The page's logic is
checked against fixed answers (route-mocked /api/predict), and the shipped model's own judgement
against drawings: a K and a scribble are refused, several digits side by side are sent to the
number mode, and a plain digit is still a digit. Screenshots go to each test's tmp_path.
"""

# ruff: noqa: F811  (the tests take the imported fixtures by name)
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from test_browser import STROKES, browser, draw, server  # noqa: F401  (browser, server: fixtures)
from test_number_mode import page, reading, wait_for_reading  # noqa: F401  (page: the fixture)

from digitrec.server.encoding import png_data_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ANSWERED = "['ok', 'unsure', 'refused'].includes(document.getElementById('result').dataset.state)"
LETTER_K = [[(0.35, 0.15), (0.35, 0.85)], [(0.7, 0.15), (0.36, 0.52)], [(0.45, 0.45), (0.72, 0.85)]]
SCRIBBLE = [[(0.2 + 0.6 * (t / 40), 0.5 + 0.3 * math.sin(t * 1.9) * math.cos(t * 0.7)) for t in range(41)]]


def small(strokes: list, scale: float, dx: float) -> list:
    """`strokes` shrunk by `scale` and moved right by `dx` (fractions of the pad)."""
    return [[(dx + scale * x, 0.5 + scale * (y - 0.5)) for x, y in stroke] for stroke in strokes]


def answered(page) -> dict:
    page.wait_for_function(ANSWERED, timeout=20_000)
    page.wait_for_function("document.getElementById('seen').naturalWidth === 28")
    return page.evaluate("""() => ({
        state: document.getElementById('result').dataset.state,
        digit: document.getElementById('digit').textContent,
        headline: document.getElementById('confidence').textContent,
        status: document.getElementById('status').textContent,
        toNumber: !document.getElementById('to-number').hidden,
        winners: [...document.querySelectorAll('#bars li.winner')].length,
    })""")


def refusal(verdict: str, closest: int) -> dict:
    probabilities = [0.02] * 10
    probabilities[closest] = 0.12
    return {"digit": None, "verdict": verdict, "reason": "the drawing is not one digit", "closest_digit": closest,
            "closest_probability": 0.12, "confidence": None, "probabilities": probabilities,
            "preprocessed": png_data_url(np.eye(28, dtype=np.uint8) * 255)}


def test_a_not_a_digit_answer_is_said_in_place_of_a_digit(page, tmp_path):
    # A fixed answer from the server: this checks how the page shows it, whatever the model.
    page.route(re.compile(r"/api/predict(\?|$)"), lambda route: route.fulfill(json=refusal("not-a-digit", 8)))
    draw(page, LETTER_K)
    shown = answered(page)
    page.screenshot(path=tmp_path / "mocked-not-a-digit.png")
    assert shown["state"] == "refused" and shown["digit"] == ""
    assert "doesn't look like a digit" in shown["headline"] and "closest digit is 8" in shown["status"]
    assert shown["winners"] == 0 and not shown["toNumber"]


def test_a_several_digits_answer_offers_the_number_mode(page, tmp_path):
    page.route(re.compile(r"/api/predict(\?|$)"), lambda route: route.fulfill(json=refusal("several-digits", 4)))
    draw(page, small(STROKES[4], 0.4, 0.1) + small(STROKES[2], 0.4, 0.5))
    shown = answered(page)
    page.screenshot(path=tmp_path / "mocked-several.png")
    assert shown["state"] == "refused" and "several digits" in shown["headline"] and shown["toNumber"]
    page.unroute(re.compile(r"/api/predict(\?|$)"))
    page.get_by_role("button", name="Read it as a number").click()
    assert reading(page)["mode"] == "number"


@pytest.mark.parametrize("name, strokes", [("letter-K", LETTER_K), ("scribble", SCRIBBLE)])
def test_the_shipped_model_refuses_what_is_not_a_digit(page, name, strokes, tmp_path):
    """Needs the shipped model's "not a digit" judgement (an 11-class model with its threshold)."""
    draw(page, strokes)
    shown = answered(page)
    page.screenshot(path=tmp_path / f"real-{name}.png")
    assert shown["state"] == "refused" and shown["digit"] == "", shown
    assert "doesn't look like a digit" in shown["headline"], shown


def test_the_shipped_model_sends_several_digits_to_the_number_mode(page, tmp_path):
    draw(page, small(STROKES[4], 0.45, 0.03) + small(STROKES[7], 0.45, 0.52))
    shown = answered(page)
    page.screenshot(path=tmp_path / "real-several.png")
    assert shown["state"] == "refused" and "several digits" in shown["headline"] and shown["toNumber"], shown
    page.get_by_role("button", name="Read it as a number").click()
    assert wait_for_reading(page, "47")["number"] == "47"


def test_a_plain_digit_is_still_a_digit(page):
    draw(page, STROKES[3])
    shown = answered(page)
    assert shown["state"] in ("ok", "unsure") and shown["digit"] == "3", shown

