"""Honest answers: calibrated confidence and "not a digit". Oracles for the calibration maths, the
shipped model's calibration (temperature and novelty) carried from its checkpoint into its ONNX export,
evaluate's ECE against
a direct computation, and the shipped model's judgement: a letter and a scribble are refused by the
Python API, the CLI and the server, in the JSON contract, and MNIST test digits are not."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitrec import Recognizer
from digitrec.calibration import Calibration, fit_temperature, nll, refusal_threshold, softmax
from digitrec.checkpoints import read_metadata, shipped_checkpoint
from digitrec.cli.recognize import run_predict
from digitrec.evaluation import expected_calibration_error
from digitrec.judgement import GATE, SHIFTS, Judge, not_a_digit_probability, shifted, steadied
from fixtures import encode, mnist_test
from synth import make_digit, make_negative


def drawing(strokes: list[list[tuple[float, float]]], width: int = 18) -> Image.Image:
    """Black pen strokes (in fractions of the side) on a white 280x280 canvas, like the page's pad."""
    image = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        pen.line([(280 * x, 280 * y) for x, y in stroke], fill=0, width=width, joint="curve")
    return image


LETTER_K = [[(0.35, 0.15), (0.35, 0.85)], [(0.7, 0.15), (0.36, 0.52)], [(0.45, 0.45), (0.72, 0.85)]]
SCRIBBLE = [[(0.2 + 0.6 * (t / 40), 0.5 + 0.3 * math.sin(t * 1.9) * math.cos(t * 0.7)) for t in range(41)]]
NOT_DIGITS = {"letter K": LETTER_K, "scribble": SCRIBBLE}


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


# -- the maths, against oracles -------------------------------------------------------------------

def test_fit_temperature_recovers_the_temperature_labels_were_drawn_at() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20_000, 10))
    for true_t in (0.5, 1.0, 2.0):
        p = softmax(logits / true_t)
        labels = (p.cumsum(1) > rng.random((len(p), 1))).argmax(1)  # one draw from each row's softmax
        assert fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.05)
        assert nll(logits, labels, true_t) < nll(logits, labels, 2 * true_t)


def test_expected_calibration_error_by_hand() -> None:
    # Two bins in use: 0.9 confident (2 images, 1 right: |0.5 - 0.9| = 0.4) and 0.6 (2 images, both
    # right: |1 - 0.6| = 0.4), each half the images: ECE 0.4.
    probabilities = np.full((4, 10), 0.0)
    probabilities[0, 3] = probabilities[1, 3] = 0.9
    probabilities[2, 5] = probabilities[3, 5] = 0.6
    probabilities[:, 0] += 1 - probabilities.sum(1)
    assert expected_calibration_error(probabilities, np.array([3, 4, 5, 5])) == pytest.approx(0.4)
    assert expected_calibration_error(np.eye(10), np.arange(10)) == pytest.approx(0.0)


def test_refusal_threshold_refuses_the_fraction_asked() -> None:
    rng = np.random.default_rng(1)
    logits = np.concatenate([rng.normal(0, 2, (10_000, 10)), rng.normal(-3, 2, (10_000, 1))], axis=1)
    threshold = refusal_threshold(logits, 1.0, 0.01)
    e = np.exp(logits - logits.max(1, keepdims=True))
    assert np.mean(e[:, 10] / e.sum(1) >= threshold) == pytest.approx(0.01, abs=0.002)


def test_shifted_moves_each_image_one_pixel_each_way() -> None:
    x = np.zeros((2, 28, 28), np.uint8)
    x[0, 5, 7] = 200
    x[1, 0, 27] = 90  # at the corner: most shifts move it out of the image
    moved = shifted(x).reshape(2, len(SHIFTS), 28, 28)
    for k, (dy, dx) in enumerate(SHIFTS):
        assert moved[0, k, 5 + dy, 7 + dx] == 200 and moved[0, k].sum() == 200
        inside = 0 <= dy and dx <= 0
        assert moved[1, k].sum() == (90 if inside else 0)


def test_a_steadied_judgement_averages_the_shifts_of_images_over_the_gate() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    weights = rng.normal(0, 0.01, (28 * 28, 11))

    def logits_of(images: np.ndarray) -> np.ndarray:  # a linear "model", for an oracle
        return images.reshape(len(images), -1).astype(np.float64) @ weights

    own = not_a_digit_probability(logits_of(x))
    own[:3] = [0.0, GATE / 2, 0.02]  # under the gate: kept as they are
    out = steadied(x, own, logits_of)
    assert (out[:3] == own[:3]).all()
    for i in range(3, 6):
        views = [x[i]] + [np.roll(np.pad(x[i], 1), (dy, dx), (0, 1))[1:-1, 1:-1] for dy, dx in SHIFTS]
        p = not_a_digit_probability(logits_of(np.stack(views)))
        assert out[i] == pytest.approx((own[i] + p[1:].sum()) / 9) and own[i] == pytest.approx(p[0])


def test_the_judgement_is_steadied_where_its_metadata_says_so() -> None:
    assert Judge.of({"judgement": {"threshold": 0.2, "steadied": True}}, 11).steadied
    assert not Judge.of({"judgement": {"threshold": 0.2}}, 11).steadied  # checkpoints from before it
    assert not Judge.of({"judgement": {"threshold": 0.9, "steadied": True}}, 10).steadied  # no such output


# -- the shipped model's calibration, from checkpoint to export ------------------------------------

def by_hand(logits: np.ndarray, temperature: float, novelty: float) -> np.ndarray:
    """The calibrated digit probabilities written out: softmax of the 10 digit logits over
    T * (1 + novelty * P(not a digit)), P(not a digit) the 11th of the softmax of all 11 logits."""
    z = logits.astype(np.float64)
    every = np.exp(z - z.max(axis=1, keepdims=True))
    unusual = every[:, 10] / every.sum(axis=1) if z.shape[1] == 11 else np.zeros(len(z))
    return softmax(z[:, :10] / (temperature * (1 + novelty * unusual))[:, None])


def test_the_novelty_term_raises_the_temperature_of_unusual_inputs_only() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (200, 11))
    plain, novel = Calibration(0.6), Calibration(0.6, 4.0)
    np.testing.assert_allclose(plain.probabilities(logits), softmax(logits[:, :10] / 0.6))
    np.testing.assert_allclose(novel.probabilities(logits), by_hand(logits, 0.6, 4.0))
    labels = rng.integers(0, 10, len(logits))
    assert plain.nll(logits, labels) == pytest.approx(nll(logits[:, :10], labels, 0.6))
    # Softer, never sharper, and each image's answer is unchanged.
    assert (novel.probabilities(logits).max(1) <= plain.probabilities(logits).max(1) + 1e-12).all()
    assert (novel.probabilities(logits).argmax(1) == logits[:, :10].argmax(1)).all()
    # A 10-class model has no "not a digit" output: the novelty term has nothing to read.
    np.testing.assert_allclose(novel.probabilities(logits[:, :10]), softmax(logits[:, :10] / 0.6))


def test_the_calibration_travels_from_the_checkpoint_into_the_onnx_export(recognizer: Recognizer) -> None:
    checkpoint = read_metadata(shipped_checkpoint())
    t = checkpoint["calibration"]["temperature"]
    assert recognizer.metadata["calibration"] == checkpoint["calibration"]  # the ONNX file's own metadata
    assert recognizer.metadata["judgement"] == checkpoint["judgement"]
    assert recognizer.judge.steadied and checkpoint["judgement"]["steadied"] is True
    assert recognizer.temperature == t and 0.2 < t < 5
    assert recognizer.calibration == Calibration(t, checkpoint["calibration"].get("novelty", 0.0))


def test_confidences_are_the_calibrated_softmax_of_the_logits(recognizer: Recognizer) -> None:
    images, _ = mnist_test()
    logits = recognizer.logits(images[:64])
    c = recognizer.calibration
    expected = by_hand(logits, c.temperature, c.novelty)
    predictions = recognizer.predict_batch(images[:64], preprocess=False)
    np.testing.assert_allclose([p.probabilities for p in predictions], expected, atol=1e-6)


@pytest.mark.slow
def test_evaluate_reports_the_ece_of_a_direct_computation() -> None:
    from digitrec.evaluation import evaluate_checkpoint

    report, images, labels = evaluate_checkpoint(shipped_checkpoint(), device="cpu")
    recognizer = Recognizer.load(shipped_checkpoint())  # the checkpoint itself, in torch
    probabilities = by_hand(recognizer.logits(images), report.temperature, report.novelty)
    calibration = read_metadata(shipped_checkpoint())["calibration"]
    assert (report.temperature, report.novelty) == (calibration["temperature"], calibration.get("novelty", 0.0))
    assert report.ece == pytest.approx(expected_calibration_error(probabilities, labels), abs=1e-4)
    assert report.ece <= 0.01  # the calibration target on the MNIST test set


# -- the shipped model's judgement ---------------------------------------------------------------

@pytest.mark.parametrize("name", list(NOT_DIGITS))
def test_the_python_api_refuses_what_is_not_a_digit(recognizer: Recognizer, name: str) -> None:
    answer = recognizer.predict(drawing(NOT_DIGITS[name]))
    assert answer.verdict == "not-a-digit" and answer.digit is None and answer.confidence is None
    assert answer.reason and str(answer.closest_digit) in answer.reason
    assert sum(answer.probabilities) == pytest.approx(1.0)


def test_mnist_test_digits_are_not_refused(recognizer: Recognizer) -> None:
    images, labels = mnist_test()
    as_given = recognizer.predict_batch(images[:3000], preprocess=False)
    assert np.mean([not p.is_digit for p in as_given]) <= 0.003
    # Through the whole preprocessing path too, as a user's image: dark ink on white paper, larger.
    scans = [Image.fromarray(255 - x).resize((112, 112), Image.BICUBIC) for x in images[3000:3300]]
    answers = recognizer.predict_batch(scans)
    assert np.mean([not p.is_digit for p in answers]) <= 0.01
    assert np.mean([p.digit == y for p, y in zip(answers, labels[3000:3300], strict=True)]) >= 0.98


def test_a_clean_digit_is_confident(recognizer: Recognizer) -> None:
    one = drawing([[(0.46, 0.2), (0.55, 0.13), (0.55, 0.86)]])
    answer = recognizer.predict(one)
    assert answer.digit == 1 and answer.confidence >= 0.98


def test_the_cli_answers_not_a_digit_in_json_and_exits_0(tmp_path) -> None:
    drawing(LETTER_K).save(tmp_path / "k.png")
    drawing([[(0.46, 0.2), (0.55, 0.13), (0.55, 0.86)]]).save(tmp_path / "one.png")
    # "not a digit" is an answer, not a failure: the process exits 0
    done = subprocess.run([sys.executable, "-m", "digitrec", "predict", str(tmp_path / "k.png"),
                           str(tmp_path / "one.png"), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    refused, digit = (json.loads(line) for line in done.stdout.splitlines())
    assert refused["verdict"] == "not-a-digit" and refused["digit"] is None and "confidence" not in refused
    assert set(refused) == {"path", "digit", "verdict", "reason", "closest_digit", "closest_probability",
                            "probabilities"}
    assert digit["verdict"] == "digit" and digit["digit"] == 1 and 0.98 <= digit["confidence"] <= 1
    out = io.StringIO()
    assert run_predict([str(tmp_path / "k.png")], out=out, err=io.StringIO()) == 0
    assert "not a digit" in out.getvalue()


def test_the_server_answers_not_a_digit(recognizer: Recognizer) -> None:
    from fastapi.testclient import TestClient

    from digitrec.server.app import create_app

    with TestClient(create_app(recognizer)) as client:
        for name, strokes in NOT_DIGITS.items():
            response = client.post("/api/predict", content=encode(drawing(strokes)),
                                   headers={"Content-Type": "image/png"})
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["verdict"] == "not-a-digit" and body["digit"] is None, (name, body)
            assert body["reason"] and 0 <= body["closest_digit"] <= 9


def test_two_digits_read_as_one_are_several(recognizer: Recognizer) -> None:
    """Non-digits of seed 0: "20" and "72" written close together come out of preprocessing as one wide
    piece, which the model reads as a 0 and a 2 at 29% and 80%. Wider than tall, they are read
    as a number too, and it holds two digits alike in height, side by side."""
    for index in (42, 44):
        sample = make_negative("digit-pairs", index, 0)
        assert recognizer.predict(sample.data).verdict == "several-digits"


def test_a_wide_digit_and_a_digit_with_a_sliver_stay_one_digit(recognizer: Recognizer) -> None:
    """A 0 drawn wider than it is tall is read as a number too, but as one digit; a 7 with a neighbour's
    sliver low beside it reads as "71", but the 1 is under ALIKE of the 7's height: one digit."""
    zero = drawing([[(0.5, 0.3), (0.9, 0.4), (0.9, 0.6), (0.5, 0.7), (0.1, 0.6), (0.1, 0.4), (0.5, 0.3)]])
    assert recognizer.predict(encode(zero)).digit == 0
    sample = make_digit("neighbour-sliver", 37, 1)
    assert recognizer.predict(sample.data).digit == 7


BANG = [[(0.5, 0.12), (0.5, 0.66)]]  # a ! without its dot: a 1
QUERY = [[(0.3, 0.2), (0.45, 0.12), (0.65, 0.14), (0.68, 0.27), (0.52, 0.45), (0.5, 0.66)]]  # a ? without it: a 7


def dot(x: float, y: float, r: float = 0.035) -> list[tuple[float, float]]:
    return [(x - r, y), (x + r, y), (x, y - r), (x, y + r), (x - r, y)]


@pytest.mark.parametrize("strokes", [BANG, QUERY], ids=["!", "?"])
def test_a_dot_under_a_stroke_is_not_a_digit(recognizer: Recognizer, strokes: list) -> None:
    """Without its dot, a ! is a 1 and this ? a 7, and are read so; with the dot under the stroke's end,
    apart from it, they are symbols, for `predict` and `read` alike (the reader's segmenter drops the
    dot as a speck). A speck as small as dust, or a dot beside the stroke, is not."""
    assert recognizer.predict(drawing(strokes)).verdict == "digit"
    assert recognizer.read(drawing(strokes)).number is not None
    symbol = drawing(strokes + [dot(0.5, 0.82)])
    assert recognizer.predict(symbol).verdict == "not-a-digit"
    reading = recognizer.read(symbol)
    assert reading.number is None and reading.reason and [d.verdict for d in reading.digits] == ["not-a-digit"]
    dusty = drawing(strokes)
    ImageDraw.Draw(dusty).ellipse((138, 227, 142, 231), fill=0)  # 4 px across: a speck the pen did not make
    assert recognizer.predict(dusty).verdict == "digit"
    assert recognizer.predict(drawing(strokes + [dot(0.85, 0.62)])).verdict == "digit"


def test_a_flat_symbol_on_ruled_paper_is_generated() -> None:
    """The benchmarks' generator: symbol 4 of seed 2 on ruled paper, flatter than the margins the ruling
    keeps from a digit's top and bottom, once made the generator fail (a line between them)."""
    sample = make_negative("symbols", 3, 2)
    assert sample.label is None and sample.data
