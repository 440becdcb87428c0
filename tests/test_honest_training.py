"""The tutorial-mlp-deep recipe is the tutorial's, its MSE loss is the softmax against one-hot
targets, and curves.png says what each of its lines is."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from digitrec import models
from digitrec.config import preset_config
from digitrec.plots import save_curves
from digitrec.training import normalization_for, objective_text, training_loss


def test_tutorial_mlp_deep_is_the_tutorials_recipe() -> None:
    cfg = preset_config("tutorial-mlp-deep")
    assert (cfg.model, cfg.loss, cfg.optimizer, cfg.lr, cfg.batch_size) == ("mlp-deep", "mse", "adam", 1e-3, 512)
    assert cfg.momentum == 0.9  # Adam's beta1, Keras' default
    assert not cfg.augment and cfg.label_smoothing == 0 and cfg.weight_decay == 0 and cfg.schedule == "constant"
    assert normalization_for(cfg).to_dict() == {"mean": 0.0, "std": 1.0}  # x / 255: raw 0..1 pixels
    last = list(models.build("mlp-deep"))[-1]
    assert isinstance(last, torch.nn.Linear) and last.out_features == 10  # logits; the loss applies the softmax


def test_mse_loss_is_the_softmax_against_one_hot_targets() -> None:
    logits = torch.randn(7, 10, generator=torch.Generator().manual_seed(0)) * 3
    target = torch.tensor([0, 3, 9, 9, 1, 5, 2])
    p = logits.softmax(1)
    one_hot = torch.zeros(7, 10)
    one_hot[torch.arange(7), target] = 1
    expected = ((p - one_hot) ** 2).mean()  # Keras' "mse": mean over the 10 outputs, then the batch
    cfg = preset_config("tutorial-mlp-deep")
    assert training_loss(logits, target, cfg).item() == pytest.approx(expected.item(), rel=1e-6)
    cross_entropy = preset_config("tutorial-mlp")
    assert training_loss(logits, target, cross_entropy).item() == pytest.approx(F.cross_entropy(logits, target).item())


def test_objective_says_what_training_minimised() -> None:
    assert objective_text(preset_config("tutorial-mlp-deep")) == \
        "mean squared error of the softmax against one-hot targets"
    assert objective_text(preset_config("default")) == "cross-entropy with label smoothing 0.1"
    assert objective_text(preset_config("tutorial-cnn")) == "cross-entropy"


@pytest.mark.parametrize("with_clean", [True, False], ids=["this-version", "older-run"])
def test_curves_draw_old_and_new_metrics(tmp_path, with_clean: bool) -> None:
    rows = [{"epoch": e, "train_loss": 0.6 - e / 20, "train_acc": 0.9, "test_loss": 0.2, "test_acc": 0.98,
             "val_loss": None, "val_acc": None, **({"train_clean_loss": 0.3} if with_clean else {})}
            for e in (1, 2, 3)]
    path = save_curves(rows, tmp_path / "curves.png", "cross-entropy with label smoothing 0.1", augmented=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stitched_negatives_join_different_digits_and_never_read_as_one() -> None:
    import numpy as np

    from digitrec import negatives
    from digitrec.data import load_split

    images, labels = load_split("train")
    images, labels = images[:6000], labels[:6000]
    digit_like = negatives.DigitLikeness(images, np.random.default_rng(0))
    held_out = images[-200:]
    # the reader without a model knows real digits: nearly every held-out training digit reads as one
    assert np.mean([digit_like(x) for x in held_out]) > 0.9
    made = [negatives.stitched(np.random.default_rng(i), images, labels, digit_like) for i in range(40)]
    for x in made:
        assert x.shape == (28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
        assert (x > 0.4).sum() >= 40
        assert not digit_like((x * 255).astype(np.uint8))
    for groups in negatives._HALF_GROUPS.values():  # every digit in exactly one group of each half
        assert sorted("".join(groups)) == list("0123456789")


def test_flagged_ones_add_a_flag_down_to_the_left_of_the_top() -> None:
    import numpy as np

    from digitrec import positives
    from digitrec.data import load_split

    images, labels = load_split("train")
    one = images[np.flatnonzero(labels == 1)[0]]
    rng = np.random.default_rng(0)
    flagged = positives.flagged_one(one, rng)
    added = (flagged > 0.5) & ~(one > 128)
    ys, xs = np.nonzero(added)
    rows = np.flatnonzero((one > 128).any(1))
    top_cols = np.flatnonzero(one[rows[0]] > 128)
    assert added.sum() >= 10  # a flag, not a speck
    assert xs.mean() < top_cols.mean() and ys.mean() < rows.mean()  # left of the top, in the upper half
    made = positives.flagged_ones(30, 0, images[:3000], labels[:3000])
    assert made.shape == (30, 28, 28) and made.dtype == np.uint8
    assert np.array_equal(made, positives.flagged_ones(30, 0, images[:3000], labels[:3000]))
    total = made.sum((1, 2)).astype(float)  # in MNIST form: centred by the centre of mass, as MNIST's are
    cy = (made.sum(2) * np.arange(28)).sum(1) / total
    assert np.all(np.abs(cy - 13.5) < 1.5)


def test_negative_halves_change_the_pool_only_when_asked() -> None:
    import numpy as np

    from digitrec.data import load_split
    from digitrec.negatives import generate

    images, labels = load_split("train")
    images, labels = images[:3000], labels[:3000]
    plain, again = generate(26, 0, images, labels), generate(26, 0, images, labels, halves=False)
    with_halves = generate(26, 0, images, labels, halves=True)
    assert np.array_equal(plain, again) and plain.shape == with_halves.shape == (26, 28, 28)
    assert np.array_equal(plain[:11], with_halves[:11])  # the first round of kinds is the same
    assert not np.array_equal(plain[11:13], with_halves[11:13])  # then two stitched halves come in


def test_the_pools_letters_and_symbols_are_all_drawn_and_none_reads_as_a_digit() -> None:
    """Every character of the not-a-digit pool comes out as ink (STIX lacks some symbols: DejaVu, which
    has them all, draws them then), and no letter a person could read as a digit is among them."""
    import numpy as np

    from digitrec.negatives import FONTS, LETTERS, SYMBOLS, glyph, render

    assert not set(LETTERS + SYMBOLS) & set("OoQDlIijSsZzBbgq|/")
    for char in LETTERS + SYMBOLS:
        assert render(char, FONTS[0]).getbbox(), char
        assert all(glyph(char, np.random.default_rng(seed)).max() > 0.5 for seed in range(8)), char


def test_training_fits_a_steadied_judgement_on_the_validation_split(tmp_path, monkeypatch) -> None:
    import numpy as np

    from digitrec import Recognizer, checkpoints, training
    from digitrec.calibration import refusal_threshold
    from digitrec.config import TrainConfig
    from digitrec.data import load_split
    from digitrec.judgement import not_a_digit_probability, steadied

    monkeypatch.setattr(training, "NEGATIVE_POOL", 64)  # the pool's own images: not what is tested here
    quick = dict(model="mlp", epochs=1, train_limit=512, val_size=400, negatives=0.125, seed=0, quiet=True)
    training.train(TrainConfig(**quick, out=str(tmp_path)))
    judgement = checkpoints.read_metadata(tmp_path / "best.safetensors")["judgement"]
    assert judgement["steadied"] is True
    # The threshold refuses the fraction asked of the validation digits as the recogniser judges them.
    recognizer = Recognizer.load(tmp_path / "best.safetensors")
    val = load_split("train")[0][-400:]
    logits = recognizer.logits(val)
    judged = steadied(val, not_a_digit_probability(logits), recognizer.logits)
    expected = refusal_threshold(logits, 1.0, training.FALSE_REFUSALS, judged)
    assert judgement["threshold"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert recognizer.judge.steadied
    # Without a validation split the augmented stand-ins are judged as they are.
    training.train(TrainConfig(**{**quick, "val_size": 0}, out=str(tmp_path / "plain")))
    assert checkpoints.read_metadata(tmp_path / "plain" / "best.safetensors")["judgement"]["steadied"] is False
    assert np.isfinite(expected)
