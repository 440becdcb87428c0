"""End to end: models side by side and the view inside one, on the page of a real `digitrec serve`
with two models (the shipped ONNX model and a tutorial MLP checkpoint trained here), in headless
Chromium. Screenshots go to each test's tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_browser import STROKES, browser, draw, get_json, open_page, serving  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSIDE_SHOWN = "document.getElementById('inside').dataset.state === 'ok'"


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory) -> Path:
    """A second model with fully connected layers: the tutorial MLP, one epoch on 6,000 images."""
    import torch

    from digitrec.config import preset_config
    from digitrec.training import train

    out = tmp_path_factory.mktemp("runs") / "tutorial-mlp"
    threads = torch.get_num_threads()  # one thread: quick even on a busy machine; restored for later tests
    train(preset_config("tutorial-mlp", epochs=1, train_limit=6000, precision="fp32", threads=1, out=str(out),
                        quiet=True))
    torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def two_models(mlp_run, tmp_path_factory):
    with serving(["--model", "shipped", "--model", str(mlp_run)], tmp_path_factory.mktemp("server") / "log") as url:
        yield url


def state(page) -> dict:
    return page.evaluate("""() => ({
        info: document.getElementById('model-info').textContent,
        inside: document.getElementById('inside-model').textContent,
        cards: [...document.querySelectorAll('#cards .card')].map(c => ({
            name: c.querySelector('.card-name').textContent, state: c.dataset.state,
            digit: c.querySelector('.card-digit').textContent, chosen: c.classList.contains('chosen')})),
        layers: [...document.querySelectorAll('#layers .layer')].map(l => ({
            name: l.querySelector('.layer-name').textContent, kind: l.className,
            width: l.querySelector('img') ? l.querySelector('img').naturalWidth : 0,
            caption: l.querySelector('.caption').textContent})),
        heat: (() => {  // saliency pixels: red well above green and blue
            const d = document.getElementById('saliency').getContext('2d').getImageData(0, 0, 28, 28).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] > d[i + 1] + 60 && d[i] > d[i + 2] + 60) n++;
            return n;
        })(),
    })""")


def wait_for_everything(page, cards: int) -> dict:
    page.wait_for_function(f"[...document.querySelectorAll('#cards .card')].filter(c => c.dataset.state === 'ok')"
                           f".length === {cards}", timeout=20_000)
    page.wait_for_function(INSIDE_SHOWN, timeout=20_000)
    page.wait_for_function("[...document.querySelectorAll('#layers img')].every(i => i.naturalWidth > 0)")
    return state(page)


def test_two_models_side_by_side_and_inside_each(browser, two_models, tmp_path):  # noqa: F811
    page = open_page(browser, two_models, viewport={"width": 1000, "height": 900})
    page.wait_for_function("document.querySelectorAll('#cards .card').length === 2")
    served = get_json(two_models + "/api/models")
    assert [m["name"] for m in served["models"]] == ["shipped", "tutorial-mlp"]

    draw(page, STROKES[7])
    shown = wait_for_everything(page, 2)
    page.screenshot(path=tmp_path / "side-by-side-shipped.png", full_page=True)
    assert [c["name"] for c in shown["cards"]] == ["shipped", "tutorial-mlp"]
    assert shown["cards"][0]["digit"] == "7" and shown["cards"][0]["chosen"]
    assert shown["cards"][1]["digit"] in "0123456789" and shown["cards"][1]["digit"]
    assert "shipped" in shown["info"] and shown["inside"] == "shipped"
    assert [layer["name"] for layer in shown["layers"]] == ["conv1", "conv2", "conv3", "conv4", "softmax"]
    assert all(layer["width"] > 0 for layer in shown["layers"][:4])  # each stage's grid of feature maps
    assert all(layer["caption"] for layer in shown["layers"])
    assert shown["heat"] > 10  # the saliency overlay is drawn

    page.locator("#cards .card-pick").nth(1).click()  # look inside the MLP
    page.wait_for_function("document.getElementById('inside-model').textContent === 'tutorial-mlp'")
    page.wait_for_function("document.querySelector('#layers .layer-name') && "
                           "document.querySelector('#layers .layer-name').textContent === 'fc1'", timeout=20_000)
    shown = wait_for_everything(page, 2)
    page.screenshot(path=tmp_path / "side-by-side-mlp.png", full_page=True)
    assert shown["cards"][1]["chosen"] and "tutorial-mlp" in shown["info"]
    assert [layer["name"] for layer in shown["layers"]] == ["fc1", "fc2", "softmax"]
    assert all("layer-dense" in layer["kind"] and layer["width"] > 0 for layer in shown["layers"][:2])

    page.get_by_label("What a tutorial's preprocessing would show").check()
    page.wait_for_function("!document.getElementById('tutorial-view').hidden && "
                           "document.getElementById('tutorial-seen').naturalWidth === 28", timeout=20_000)
    assert page.locator("#tutorial-answer").text_content()[0] in "0123456789"
    page.screenshot(path=tmp_path / "tutorial-preprocessing.png", full_page=True)
    assert page.external_requests == [] and page.console_errors == []
    page.context.close()


def test_insight_views_fit_a_phone(browser, two_models, tmp_path):  # noqa: F811
    page = open_page(browser, two_models, viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True,
                     device_scale_factor=2)
    page.wait_for_function("document.querySelectorAll('#cards .card').length === 2")
    draw(page, STROKES[3])
    wait_for_everything(page, 2)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "no sideways scrolling"
    widths = page.evaluate("[...document.querySelectorAll('#layers img, #cards .card')]"
                           ".map(e => e.getBoundingClientRect().right)")
    assert max(widths) <= 390
    page.screenshot(path=tmp_path / "phone-insight.png", full_page=True)
    assert page.external_requests == [] and page.console_errors == []
    page.context.close()
