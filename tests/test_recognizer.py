"""The Python API: `Recognizer` on every input type, batching, per-item errors, threads, and the shipped model."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitrec import Prediction, Recognizer
from digitrec.checkpoints import read_metadata, shipped_checkpoint
from digitrec.errors import DigitrecError
from fixtures import encode, font_digit, mnist_on_canvas, mnist_test

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


def test_shipped_model_runs_without_torch() -> None:
    code = ("import sys, numpy as np; from digitrec import Recognizer; from digitrec.data import load_mnist; "
            "p = Recognizer.load().predict(load_mnist().test_images[0], preprocess=False); "
            "print(p.digit, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7", "False"]


def test_every_input_type_gives_the_same_prediction(recognizer: Recognizer, tmp_path) -> None:
    image = font_digit(4, size=240)
    path = tmp_path / "four.png"
    image.save(path)
    inputs = [str(path), path, path.read_bytes(), Image.open(path), np.asarray(image)]
    predictions = [recognizer.predict(x) for x in inputs]
    for p in predictions[1:]:
        assert p == predictions[0]  # digit, confidence and all probabilities identical
        assert np.array_equal(p.preprocessed, predictions[0].preprocessed)


def test_prediction_object(recognizer: Recognizer) -> None:
    p = recognizer.predict(font_digit(3))
    assert isinstance(p, Prediction) and isinstance(p.digit, int) and 0 <= p.digit <= 9
    assert len(p.probabilities) == 10 and sum(p.probabilities) == pytest.approx(1.0)
    assert p.confidence == max(p.probabilities) == p.probabilities[p.digit]
    assert p.preprocessed.shape == (28, 28) and p.preprocessed.dtype == np.uint8
    top = p.top(3)
    assert top[0] == (p.digit, p.confidence) and top[0][1] >= top[1][1] >= top[2][1]
    as_dict = p.to_dict()
    assert set(as_dict) == {"digit", "verdict", "confidence", "probabilities"} and as_dict["verdict"] == "digit"
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_predict_batch_matches_predict(recognizer: Recognizer) -> None:
    inputs = [font_digit(d, size=160 + 20 * d) for d in range(10)] + [mnist_on_canvas(i) for i in range(5)]
    batch = recognizer.predict_batch(inputs)
    for x, p in zip(inputs, batch, strict=True):
        single = recognizer.predict(x)
        assert single.digit == p.digit
        np.testing.assert_allclose(single.probabilities, p.probabilities, rtol=0, atol=1e-6)


def test_mnist_array_batch_without_preprocessing(recognizer: Recognizer) -> None:
    images = mnist_test()[0][:64]
    batch = recognizer.predict_batch(images, preprocess=False)
    as_list = recognizer.predict_batch(list(images), preprocess=False)
    assert [p.digit for p in batch] == [p.digit for p in as_list]
    assert all(np.array_equal(p.preprocessed, x) for p, x in zip(batch, images, strict=True))
    assert recognizer.predict_batch([]) == []


def test_predict_batch_raises_on_a_bad_input(recognizer: Recognizer) -> None:
    with pytest.raises(DigitrecError) as info:
        recognizer.predict_batch([font_digit(1), Image.new("L", (50, 50), 255)])
    assert info.value.kind == "no-digit"


def test_predict_many_reports_each_failure_in_its_place(recognizer: Recognizer) -> None:
    inputs = [font_digit(2), b"", Image.new("L", (80, 80), 0), b"not an image", font_digit(5)]
    names = ["two.png", "empty.png", "black.png", "text.png", "five.png"]
    results = recognizer.predict_many(inputs, names=names)
    assert [type(r) for r in results] == [Prediction, DigitrecError, DigitrecError, DigitrecError, Prediction]
    assert [getattr(r, "kind", None) for r in results] == [None, "unreadable", "no-digit", "unreadable", None]
    for name, result in zip(names[1:4], results[1:4], strict=True):
        assert str(result).startswith(name + ": ")
    assert results[0] == recognizer.predict(inputs[0]) and results[4] == recognizer.predict(inputs[4])


def test_concurrent_predictions_equal_sequential_ones(recognizer: Recognizer) -> None:
    inputs = [mnist_on_canvas(i % 20, at=(10 * (i % 7), 5 * (i % 5))) for i in range(48)]
    sequential = [recognizer.predict(x) for x in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(recognizer.predict, inputs))
    assert concurrent == sequential


def test_concurrent_batches_equal_sequential_ones(recognizer: Recognizer) -> None:
    """Big batches are split over the recogniser's worker threads; several callers at once share them."""
    images = mnist_test()[0][:2400]
    batches = [images[i:i + 600] for i in range(0, 2400, 600)]
    sequential = [recognizer.predict_batch(b, preprocess=False) for b in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda b: recognizer.predict_batch(b, preprocess=False), batches))
    assert concurrent == sequential


def test_real_mnist_digits_recognised_inverted_and_off_centre(recognizer: Recognizer) -> None:
    """MNIST test digits drawn dark on light, enlarged and off-centre on a big canvas, saved as PNG:
    the model answers as it does for the original 28x28 (for all but a few borderline digits)."""
    images = mnist_test()[0][:60]
    originals = recognizer.predict_batch(images, preprocess=False)
    rng = np.random.default_rng(0)
    files = [encode(mnist_on_canvas(i, (500, 380), (int(rng.integers(0, 388)), int(rng.integers(0, 268)))), "PNG")
             for i in range(len(images))]
    moved = recognizer.predict_batch(files)
    same = sum(a.digit == b.digit for a, b in zip(originals, moved, strict=True))
    assert same >= 57


def test_load_errors(tmp_path) -> None:
    with pytest.raises(DigitrecError, match="no such model file"):
        Recognizer.load(tmp_path / "missing.onnx")
    with pytest.raises(DigitrecError, match="is a folder"):
        Recognizer.load(tmp_path)
    (tmp_path / "fake.onnx").write_text("not a model")
    with pytest.raises(DigitrecError, match="not a loadable ONNX model"):
        Recognizer.load(tmp_path / "fake.onnx")
    (tmp_path / "fake.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(DigitrecError, match="fake.safetensors"):
        Recognizer.load(tmp_path / "fake.safetensors")


def test_shipped_onnx_is_the_export_of_the_shipped_checkpoint(recognizer: Recognizer) -> None:
    checkpoint = shipped_checkpoint()
    assert recognizer.metadata == read_metadata(checkpoint)


def test_shipped_model_accuracy_on_mnist_test_set(recognizer: Recognizer) -> None:
    """The shipped model's digit is right for at least 99.6% of the 10,000 MNIST test images (its
    closest digit where it refuses one), and it refuses at most 0.3% of them as not a digit."""
    images, labels = mnist_test()
    predictions = recognizer.predict_batch(images, preprocess=False)
    accuracy = float(np.mean([p.closest_digit for p in predictions] == labels))
    assert accuracy >= 0.996, f"shipped model: {accuracy:.2%} on the MNIST test set"
    assert np.mean([not p.is_digit for p in predictions]) <= 0.003


def test_realistic_images_beat_the_naive_tutorial_preprocessing(recognizer: Recognizer, monkeypatch) -> None:
    """A small slice of the real-world benchmark (benchmarks/realworld_data.py): 3 images of each of
    its 17 kinds (fonts, pen strokes, photos, transparency, noise...)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import realworld_data

    samples = realworld_data.make_set(per_category=3, seed=1)
    ours = recognizer.predict_many([s.data for s in samples])
    correct = sum(isinstance(p, Prediction) and p.digit == s.label for p, s in zip(ours, samples, strict=True))
    naive = recognizer.classify(np.stack([np.asarray(Image.open(io.BytesIO(s.data)).convert("L").resize((28, 28)))
                                          for s in samples]))
    naive_correct = sum(p.digit == s.label for p, s in zip(naive, samples, strict=True))
    assert correct >= 0.95 * len(samples), f"{correct}/{len(samples)} recognised"
    assert naive_correct < 0.6 * len(samples)  # the failure the preprocessing exists to fix
