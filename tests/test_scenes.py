"""Training digits and non-digits on generated pages, brought to MNIST form by the real preprocessing
(`scenes.py`, `train --paper-digits/--paper-negatives`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitrec import Recognizer
from digitrec.config import TrainConfig
from digitrec.errors import DigitrecError
from digitrec.scenes import page, paper_digits, paper_negatives
from fixtures import mnist_test


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    images, labels = mnist_test()
    return images[:2000], labels[:2000]


def test_a_page_holds_the_writing_on_paper(mnist) -> None:
    images, _ = mnist
    for seed in range(10):
        image, written = page(images[seed].astype(np.float32) / 255, np.random.default_rng(seed))
        pixels = np.asarray(image.convert("L"), np.float32)
        assert image.mode == "RGB" and pixels.shape[0] >= written.shape[0] and pixels.shape[1] > written.shape[1]
        assert np.median(pixels) > 150 and pixels.min() < np.median(pixels) - 40  # light paper, darker writing


def test_paper_digits_are_deterministic_centred_and_legible(mnist) -> None:
    images, labels = mnist
    digits, wanted = paper_digits(60, 4, images, labels)
    again, _ = paper_digits(60, 4, images, labels)
    assert np.array_equal(digits, again) and digits.dtype == np.uint8 and digits.shape == (60, 28, 28)
    assert wanted.tolist() == [i % 10 for i in range(60)]
    rows, cols = np.indices((28, 28))
    mass = digits.reshape(60, -1).sum(1)
    assert (np.abs((digits * rows).reshape(60, -1).sum(1) / mass - 13.5) < 2).all()
    assert (np.abs((digits * cols).reshape(60, -1).sum(1) / mass - 13.5) < 2).all()
    # What preprocessing left of each page is still its digit: the shipped model reads nearly all.
    read = Recognizer.load(None).predict_batch(digits, preprocess=False)
    assert np.mean([p.closest_digit == y for p, y in zip(read, wanted, strict=True)]) > 0.9


def test_paper_negatives_are_deterministic_and_mostly_refused(mnist) -> None:
    images, labels = mnist
    negatives = paper_negatives(40, 4, images, labels)
    assert np.array_equal(negatives, paper_negatives(40, 4, images, labels)) and negatives.shape == (40, 28, 28)
    read = Recognizer.load(None).predict_batch(negatives, preprocess=False)
    assert np.mean([not p.is_digit for p in read]) > 0.5


def test_paper_flags_join_the_training_data(monkeypatch) -> None:
    from digitrec import training

    monkeypatch.setattr(training, "NEGATIVE_POOL", 40)  # the pool's own images: not what is tested here
    quick = dict(model="mlp", epochs=1, train_limit=512, val_size=0, negatives=0.125, seed=0)
    plain = training.load_splits(TrainConfig(**quick), torch.device("cpu"))
    more = training.load_splits(TrainConfig(**quick, paper_digits=20, paper_negatives=16), torch.device("cpu"))
    assert len(more.train_images) == len(plain.train_images) + 20
    assert more.train_labels[-20:].tolist() == [i % 10 for i in range(20)]
    assert len(more.negatives) == len(plain.negatives) + 16
    assert torch.equal(more.test_images, plain.test_images)


@pytest.mark.parametrize("flag", ["paper_digits", "paper_negatives"])
def test_paper_flags_are_checked(flag: str) -> None:
    with pytest.raises(DigitrecError, match=flag.replace("_", "-")):
        TrainConfig(**{flag: -1})


def test_paper_negatives_need_a_not_a_digit_pool() -> None:
    with pytest.raises(DigitrecError, match="without --negatives"):
        TrainConfig(paper_negatives=100)
    assert TrainConfig(paper_negatives=100, negatives=0.125).paper_negatives == 100
