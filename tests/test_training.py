import csv
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from digitrec import checkpoints, models
from digitrec.config import TrainConfig, preset_config
from digitrec.errors import DigitrecError
from digitrec.optim import learning_rate, make_optimizer
from digitrec.speedups import time_training_steps
from digitrec.training import resume, train

QUICK = dict(model="digitnet-s", train_limit=2000, batch_size=32, epochs=2, augment=False, quiet=True,
             threads=2)


def _weights(path):
    return {k: v for k, v in load_file(str(path)).items() if k.startswith("model.")}


def test_short_run_clearly_learns_and_writes_its_run_directory(tmp_path):
    result = train(TrainConfig(**QUICK, out=str(tmp_path)))
    assert result.test_acc > 0.90  # chance is 0.10; 2,000 images for 2 epochs reach ~95%
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for column in ("train_loss", "train_acc", "test_loss", "test_acc", "epoch_seconds", "elapsed_seconds",
                   "images_per_second"):
        assert float(rows[-1][column]) > 0
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert float(rows[1]["elapsed_seconds"]) > float(rows[0]["elapsed_seconds"])
    assert json.loads((tmp_path / "config.json").read_text())["model"] == "digitnet-s"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "best.safetensors").is_file() and (tmp_path / "last.safetensors").is_file()


def test_overfits_one_batch():
    torch.manual_seed(0)
    from digitrec.data import MNIST_NORMALIZATION, load_split

    images, labels = load_split("train")
    x = torch.from_numpy(MNIST_NORMALIZATION.from_uint8(images[:64]))
    y = torch.from_numpy(labels[:64]).long()
    model = models.build("cnn")
    optimizer = make_optimizer(TrainConfig(optimizer="adam", lr=3e-3, weight_decay=0), model.parameters())
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.01
    assert (model(x).argmax(1) == y).all()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_same_seed_same_weights_other_seed_other_weights(tmp_path, precision):
    cfg = TrainConfig(**{**QUICK, "epochs": 1, "augment": True}, precision=precision)
    train(cfg.replace(out=str(tmp_path / "a")))
    train(cfg.replace(out=str(tmp_path / "b")))
    train(cfg.replace(out=str(tmp_path / "c"), seed=1))
    a, b, c = (_weights(tmp_path / run / "last.safetensors") for run in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(tmp_path, ema):
    # One precision for both runs: on a CPU with AVX-512 BF16, "auto" chooses by timing a few steps,
    # and the uninterrupted and the interrupted run could each choose another. With --ema the saved
    # weights are the average's, and the weights being trained travel beside them.
    cfg = TrainConfig(**{**QUICK, "epochs": 3, "augment": True, "train_limit": 1000}, precision="fp32", ema=ema)
    full = train(cfg.replace(out=str(tmp_path / "full")))

    def interrupt_after_first_epoch(row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg.replace(out=str(tmp_path / "cut")), on_epoch=interrupt_after_first_epoch)
    resumed = resume(tmp_path / "cut", {"quiet": True})
    for name in ("last", "best"):
        a = _weights(tmp_path / "full" / f"{name}.safetensors")
        b = _weights(tmp_path / "cut" / f"{name}.safetensors")
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert resumed.test_acc == full.test_acc
    assert len(list(csv.DictReader((tmp_path / "cut" / "metrics.csv").open()))) == 3
    with pytest.raises(DigitrecError, match="already finished"):
        resume(tmp_path / "cut", {"quiet": True})


def test_ema_saves_and_evaluates_the_average_of_the_weights(tmp_path):
    from digitrec.evaluation import evaluate_checkpoint

    result = train(TrainConfig(**{**QUICK, "epochs": 1}, precision="fp32", ema=0.9, out=str(tmp_path)))
    saved = load_file(str(tmp_path / "last.safetensors"))
    averaged = {k[len("model."):]: v for k, v in saved.items() if k.startswith("model.")}
    trained = {k[len("optimizer.training."):]: v for k, v in saved.items() if k.startswith("optimizer.training.")}
    assert averaged.keys() <= trained.keys()
    assert not all(torch.equal(averaged[k], trained[k]) for k in averaged)  # the average lags the last step
    report, _, _ = evaluate_checkpoint(tmp_path / "last.safetensors", device="cpu")
    assert report.accuracy == pytest.approx(result.test_acc, abs=1e-4)  # the recorded figure is the average's
    assert result.test_acc > 0.85


def test_auto_precision_is_decided_once_and_recorded(tmp_path):
    train(TrainConfig(**{**QUICK, "epochs": 1}, out=str(tmp_path)))  # precision="auto"
    chosen = json.loads((tmp_path / "config.json").read_text())["precision"]
    assert chosen in ("fp32", "bf16")  # what --resume and a rerun from config.json will use
    assert checkpoints.read_metadata(tmp_path / "last.safetensors")["config"]["precision"] == chosen


def test_timing_the_precisions_leaves_the_model_and_the_random_stream_alone():
    torch.manual_seed(0)
    model = models.build("digitnet-s")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    fp32_seconds, bf16_seconds = time_training_steps(model, models.get_spec("digitnet-s"), 16, rounds=1)
    assert 0 < fp32_seconds < 10 and 0 < bf16_seconds < 10
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_best_checkpoint_is_chosen_on_the_validation_split_never_the_test_set(tmp_path, monkeypatch):
    """Validation peaks at epoch 2, test at epoch 3: best.safetensors must hold epoch 2."""
    from digitrec import training

    real_evaluate = training.evaluate
    scores = {"val": iter([0.5, 0.9, 0.7]), "test": iter([0.6, 0.7, 0.95])}

    def scripted(model, images, labels, cfg, spec, bf16):
        loss, _, logits = real_evaluate(model, images, labels, cfg, spec, bf16)  # the real pass, a scripted score
        return loss, next(scores["val" if len(images) == cfg.val_size else "test"]), logits

    monkeypatch.setattr(training, "evaluate", scripted)
    result = train(TrainConfig(**{**QUICK, "val_size": 5000, "epochs": 3}, out=str(tmp_path)))
    assert [r["val_acc"] for r in result.rows] == [0.5, 0.9, 0.7]
    assert [r["test_acc"] for r in result.rows] == [0.6, 0.7, 0.95]
    best = checkpoints.read_metadata(tmp_path / "best.safetensors")
    assert best["epoch"] == 2 and best["metrics"]["val_acc"] == 0.9
    assert checkpoints.read_metadata(tmp_path / "last.safetensors")["epoch"] == 3
    weights_best, weights_last = _weights(tmp_path / "best.safetensors"), _weights(tmp_path / "last.safetensors")
    assert not all(torch.equal(weights_best[k], weights_last[k]) for k in weights_best)


@pytest.mark.parametrize("name, expected_class, expected", [
    ("sgd", torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)),
    ("adam", torch.optim.Adam, dict(lr=0.1, betas=(0.9, 0.999), weight_decay=5e-4)),
    ("adamw", torch.optim.AdamW, dict(lr=0.1, betas=(0.9, 0.999), weight_decay=5e-4)),
    ("adadelta", torch.optim.Adadelta, dict(lr=0.1, weight_decay=5e-4)),
])
def test_the_optimizer_is_the_one_the_config_names(name, expected_class, expected):
    optimizer = make_optimizer(TrainConfig(optimizer=name), models.build("mlp").parameters())
    assert type(optimizer) is expected_class
    for key, value in expected.items():
        assert optimizer.defaults[key] == value, key
    plain = make_optimizer(TrainConfig(optimizer="sgd", momentum=0.0), models.build("mlp").parameters())
    assert plain.defaults["nesterov"] is False  # Nesterov needs momentum


def test_resume_with_more_epochs_extends_the_run_and_refuses_other_changes(tmp_path):
    cfg = TrainConfig(**{**QUICK, "epochs": 1, "train_limit": 1000}, out=str(tmp_path))
    train(cfg)
    with pytest.raises(DigitrecError, match="already finished all 1 epochs; nothing to resume"):
        resume(tmp_path, {"quiet": True})
    with pytest.raises(DigitrecError, match=r"--lr 0.5: cannot change on --resume \(the run was started with 0.1\)"):
        resume(tmp_path, {"lr": 0.5, "epochs": 2})
    resume(tmp_path, {"model": "digitnet-s", "epochs": 2, "quiet": True})  # the same value is no change
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert checkpoints.read_metadata(tmp_path / "last.safetensors")["config"]["epochs"] == 2


def test_resume_of_a_checkpoint_without_its_rows_is_one_line(tmp_path):
    train(TrainConfig(**{**QUICK, "epochs": 1, "train_limit": 1000}, out=str(tmp_path)))
    (tmp_path / "best.safetensors").replace(tmp_path / "last.safetensors")  # an ordinary checkpoint
    with pytest.raises(DigitrecError, match="no valid training rows"):
        resume(tmp_path, {"epochs": 3})


@pytest.mark.parametrize("change, words", [
    (dict(epochs=0), "--epochs 0: must be between 1"), (dict(epochs=-1), "--epochs -1"),
    (dict(lr=-0.1), "--lr -0.1: must be positive"), (dict(batch_size=0), "--batch-size 0"),
    (dict(batch_size=-8), "--batch-size -8"), (dict(weight_decay=-1.0), "--weight-decay -1.0"),
    (dict(label_smoothing=5.0), "--label-smoothing 5.0"), (dict(momentum=-0.5), "--momentum -0.5"),
    (dict(momentum=1.5), "--momentum 1.5"), (dict(step_size=0), "--step-size 0"),
    (dict(warmup=float("nan")), "--warmup nan"), (dict(label_smoothing=float("nan")), "--label-smoothing nan"),
    (dict(lr=float("inf")), "--lr inf"), (dict(aug_strength=-1.0), "--aug-strength -1.0"),
    (dict(seed=-1), "--seed -1"), (dict(optimizer="rmsprop"), "--optimizer 'rmsprop'"),
    (dict(epochs="3"), "--epochs '3': must be an integer"), (dict(val_size=60000), "--val-size 60000"),
    (dict(blur=1.5), "--blur 1.5: must be between 0 and 1"), (dict(flagged_ones=-3), "--flagged-ones -3"),
])
def test_every_bad_training_value_is_one_line_naming_its_flag(change, words):
    with pytest.raises(DigitrecError) as info:
        TrainConfig(**change)
    assert str(info.value).startswith(words) and "\n" not in str(info.value)
    assert info.value.kind == "bad-option"


def test_checkpoint_round_trip_rebuilds_the_same_model(tmp_path):
    train(TrainConfig(**{**QUICK, "epochs": 1}, out=str(tmp_path)))
    model, metadata = checkpoints.load_model(tmp_path / "best.safetensors")
    assert metadata["model"] == {"name": "digitnet-s", "kwargs": {"width": 16}}
    assert metadata["input"]["normalization"] == {"mean": 0.1307, "std": 0.3081}
    assert metadata["config"]["train_limit"] == 2000
    assert set(metadata["versions"]) >= {"digitrec", "torch"}
    assert 0.5 < metadata["metrics"]["test_acc"] <= 1
    x = torch.randn(8, 1, 28, 28)
    again, _ = checkpoints.load_model(tmp_path / "best.safetensors")
    assert torch.equal(model(x), again(x))


def test_schedules():
    cfg = TrainConfig(lr=1.0, warmup=0.1)
    onecycle = [learning_rate(cfg, s, 100, 10) for s in range(100)]
    assert max(onecycle) == pytest.approx(1.0) and onecycle.index(max(onecycle)) == 9
    assert onecycle[-1] < 0.02
    cosine = [learning_rate(cfg.replace(schedule="cosine"), s, 100, 10) for s in range(100)]
    assert cosine[0] == 1.0 and cosine == sorted(cosine, reverse=True)
    step = [learning_rate(cfg.replace(schedule="step", gamma=0.5, step_size=2), s, 100, 10) for s in (0, 19, 20, 40)]
    assert step == [1.0, 1.0, 0.5, 0.25]
    assert learning_rate(cfg.replace(schedule="constant"), 57, 100, 10) == 1.0


def test_presets_reproduce_the_tutorials():
    assert preset_config("tutorial-mlp").model == "mlp"
    lenet = preset_config("tutorial-lenet")
    assert (lenet.optimizer, lenet.lr, lenet.momentum, lenet.batch_size, lenet.epochs) == ("sgd", 0.01, 0.5, 32, 5)
    cbn = preset_config("tutorial-convnet-bn")
    assert (cbn.model, cbn.optimizer, cbn.lr, cbn.batch_size, cbn.epochs) == ("convnet-bn", "adam", 1e-3, 100, 5)
    cnn = preset_config("tutorial-cnn")
    assert (cnn.model, cnn.optimizer, cnn.batch_size, cnn.epochs) == ("cnn", "adam", 50, 1)
    assert preset_config("speedrun", epochs=3).epochs == 3
    with pytest.raises(DigitrecError, match="unknown preset"):
        preset_config("fastest")


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "adadelta"])
def test_every_optimizer_trains(tmp_path, optimizer):
    lr = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "adadelta": 1.0}[optimizer]
    result = train(TrainConfig(**{**QUICK, "epochs": 1, "model": "mlp"}, optimizer=optimizer, lr=lr,
                               schedule="cosine", out=str(tmp_path)))
    assert result.test_acc > 0.75


def test_bad_options_are_user_errors(tmp_path):
    with pytest.raises(DigitrecError, match="train-limit"):
        train(TrainConfig(**{**QUICK, "train_limit": 10}, out=str(tmp_path)))
    with pytest.raises(DigitrecError, match="no such checkpoint"):
        resume(tmp_path / "nothing")


def test_raw_pixel_recipe_round_trips_through_its_checkpoint(tmp_path):
    result = train(preset_config("tutorial-mlp", train_limit=12800, epochs=1, out=str(tmp_path), quiet=True))
    assert result.test_acc > 0.8  # lr 0.8 on standardised pixels would diverge
    _, metadata = checkpoints.load_model(tmp_path / "best.safetensors")
    assert metadata["input"]["normalization"] == {"mean": 0.0, "std": 1.0}  # the model sees raw pixels
    from digitrec import Recognizer
    from fixtures import mnist_test

    images, labels = mnist_test()
    recognized = Recognizer.load(tmp_path / "best.safetensors").predict_batch(images[:500], preprocess=False)
    accuracy = sum(p.digit == y for p, y in zip(recognized, labels, strict=False)) / 500
    assert abs(accuracy - result.test_acc) < 0.03  # normalised as it was trained, not as MNIST-standardised


def test_flagged_ones_join_the_training_images_as_ones_and_nothing_else():
    from digitrec.training import load_splits

    plain = load_splits(TrainConfig(**QUICK), torch.device("cpu"))
    more = load_splits(TrainConfig(**QUICK, flagged_ones=50), torch.device("cpu"))
    assert len(more.train_images) == len(plain.train_images) + 50
    assert torch.equal(more.train_images[:len(plain.train_images)], plain.train_images)
    assert (more.train_labels[-50:] == 1).all()
    assert torch.equal(more.val_images, plain.val_images) and torch.equal(more.test_images, plain.test_images)


def test_drawn_digits_join_the_training_images_with_their_labels():
    from digitrec.training import load_splits

    plain = load_splits(TrainConfig(**QUICK), torch.device("cpu"))
    more = load_splits(TrainConfig(**QUICK, drawn_digits=30), torch.device("cpu"))
    assert len(more.train_images) == len(plain.train_images) + 30
    assert torch.equal(more.train_images[:len(plain.train_images)], plain.train_images)
    assert more.train_labels[-30:].tolist() == [i % 10 for i in range(30)]
    assert torch.equal(more.val_images, plain.val_images) and torch.equal(more.test_images, plain.test_images)


def test_drawn_digits_are_legible_digits_in_mnist_form():
    from digitrec import Recognizer
    from digitrec.positives import drawn_digits

    images, labels = drawn_digits(200, seed=3)
    again, _ = drawn_digits(200, seed=3)
    assert np.array_equal(images, again) and images.dtype == np.uint8 and images.shape == (200, 28, 28)
    rows, cols = np.indices((28, 28))
    mass = images.reshape(200, -1).sum(1)
    centre_y = (images * rows).reshape(200, -1).sum(1) / mass
    centre_x = (images * cols).reshape(200, -1).sum(1) / mass
    assert np.abs(centre_y - 13.5).max() < 1.5 and np.abs(centre_x - 13.5).max() < 1.5  # centred as MNIST's
    # The model trained before these digits existed reads nearly all of them as their label: each
    # really is the digit it is labelled, in a hand or font MNIST holds little of.
    read = Recognizer.load(None).predict_batch(images, preprocess=False)
    assert np.mean([p.closest_digit == y for p, y in zip(read, labels, strict=True)]) > 0.9


def test_init_starts_from_the_checkpoint_weights_and_refuses_another_architecture(tmp_path):
    train(TrainConfig(**{**QUICK, "epochs": 1}, out=str(tmp_path / "a")))
    start = tmp_path / "a" / "best.safetensors"
    # A learning rate of ~0 leaves the weights where --init put them (batch-norm statistics still move).
    train(TrainConfig(**{**QUICK, "epochs": 1}, lr=1e-9, init=str(start), out=str(tmp_path / "b")))
    before, after = _weights(start), _weights(tmp_path / "b" / "best.safetensors")
    learnt = [k for k in before if k.endswith("weight")]
    assert learnt and all(torch.allclose(before[k], after[k], atol=1e-6) for k in learnt)
    fresh = _weights(train(TrainConfig(**{**QUICK, "epochs": 1}, lr=1e-9, out=str(tmp_path / "c"))).out_dir
                     / "best.safetensors")
    assert not all(torch.allclose(before[k], fresh[k], atol=1e-3) for k in learnt)
    with pytest.raises(DigitrecError) as err:
        train(TrainConfig(**{**QUICK, "model": "lenet"}, init=str(start), out=str(tmp_path / "d")))
    assert err.value.input.startswith("--init") and "digitnet-s" in err.value.problem
