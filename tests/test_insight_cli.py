"""`digitrec explain` and `digitrec compare` as users run them (subprocesses): their text, JSON and
PNG, partial failures and one-line errors. compare's oracle is what the runs wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from digitrec import checkpoints, models
from digitrec.compare import parameter_count, read_run
from digitrec.config import TrainConfig, preset_config
from digitrec.data import MNIST_NORMALIZATION
from digitrec.metadata import build_metadata
from digitrec.runlog import write_metrics
from fixtures import mnist_on_canvas

PNG = b"\x89PNG\r\n\x1a\n"
pytestmark = pytest.mark.slow  # a dozen fresh processes and one short training run


def digitrec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digitrec", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def seven(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("images") / "seven.png"
    mnist_on_canvas(0).save(path)
    return path


def test_explain_writes_the_figure_and_prints_the_answer(seven: Path, tmp_path: Path) -> None:
    result = digitrec("explain", str(seven), "--out", str(tmp_path / "fig.png"), "--tutorial-preprocessing")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{seven}: 7 (") and "by shipped" in lines[0]
    assert "of it on or within 2 px of the ink" in lines[1] and "conv1 16x14x14" in lines[2]
    assert lines[3].startswith("  tutorial preprocessing (grey, resize to 28x28): ")
    figure = Image.open(tmp_path / "fig.png")
    assert (tmp_path / "fig.png").read_bytes()[:8] == PNG and figure.width > 800 and figure.height > 800


def test_explain_json_is_what_the_api_answers(seven: Path, tmp_path: Path) -> None:
    result = digitrec("explain", str(seven), "--json", "--out", str(tmp_path / "fig.png"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["path"] == str(seven) and out["model"] == "shipped" and out["digit"] == 7
    assert len(out["saliency"]) == 28 and all(len(row) == 28 and min(row) >= 0 for row in out["saliency"])
    assert [layer["name"] for layer in out["layers"]] == ["conv1", "conv2", "conv3", "conv4"]
    assert out["preprocessed"].startswith("data:image/png;base64,")
    assert (tmp_path / "fig.png").read_bytes()[:8] == PNG and "wrote" in result.stderr


def test_explain_errors_are_one_line(seven: Path, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    (tmp_path / "file").write_text("in the way")
    for args, words in (([str(blank)], "no digit found"), ([str(tmp_path / "none.png")], "no such"),
                        ([str(seven), "--out", str(tmp_path / "file" / "fig.png")], "--out"),
                        ([str(seven), "--model", str(tmp_path / "none.onnx")], "no such model file")):
        result = digitrec("explain", *args)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """A real short run of the tutorial MLP, and a run folder written by hand with known numbers."""
    import torch

    from digitrec.training import train

    root = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()  # one thread: quick even on a busy machine; restored for later tests
    train(preset_config("tutorial-mlp", epochs=2, train_limit=1000, precision="fp32", threads=1,
                        out=str(root / "mlp"), quiet=True))
    torch.set_num_threads(threads)
    made = root / "made"
    cfg = TrainConfig(model="digitnet-s", epochs=3, out=str(made))
    made.mkdir()
    (made / "config.json").write_text(json.dumps(cfg.to_dict()))
    write_metrics([{"epoch": e, "train_loss": 0.5, "train_acc": 0.9, "test_loss": 0.1 / e, "test_acc": acc,
                    "epoch_seconds": 10.0, "elapsed_seconds": 12.0 + 10 * e, "images_per_second": 6000.0 * e}
                   for e, acc in ((1, 0.98), (2, 0.991))], made / "metrics.csv")
    torch.manual_seed(0)
    checkpoints.save(made / "best.safetensors", build_metadata("digitnet-s", {"width": 16}, MNIST_NORMALIZATION,
                                                                cfg.to_dict(), {}, 2),
                     models.build("digitnet-s").state_dict())
    return [root / "mlp", made]


def test_compare_prints_a_table_and_draws_the_curves(runs: list[Path], tmp_path: Path) -> None:
    result = digitrec("compare", *map(str, runs), "--out", str(tmp_path / "compare.png"))
    assert result.returncode == 0, result.stderr
    header, rule, mlp, made = result.stdout.splitlines()
    assert header.split()[:3] == ["run", "model", "parameters"] and set(rule) <= {"-", " "}
    assert mlp.split()[:3] == ["mlp", "mlp", "218,058"] and "sgd lr 0.8, batch 64, raw 0..1 pixels" in mlp
    assert made.split()[:3] == ["made", "digitnet-s", "29,178"]
    assert "99.10% (ep 2)" in made and " 2/3 " in made and "32.0 s" in made and "9,000" in made
    assert (tmp_path / "compare.png").read_bytes()[:8] == PNG


def test_compare_json_holds_what_the_runs_wrote(runs: list[Path]) -> None:
    result = digitrec("compare", *map(str, runs), "--json")
    assert result.returncode == 0, result.stderr
    mlp, made = json.loads(result.stdout)["runs"]
    assert made == {"name": "made", "path": str(runs[1]), "model": "digitnet-s", "parameters": 29178,
                    "recipe": "sgd Nesterov lr 0.1, onecycle, batch 128, label smoothing 0.1, augmented",
                    "epochs": 2, "planned_epochs": 3, "best_test_acc": 0.991, "best_epoch": 2, "last_test_acc": 0.991,
                    "wall_seconds": 32.0, "images_per_second": 9000.0}
    rows = (runs[0] / "metrics.csv").read_text().splitlines()
    assert mlp["epochs"] == 2 and mlp["last_test_acc"] == pytest.approx(float(rows[-1].split(",")[7]))


def test_compare_reports_a_bad_run_and_compares_the_others(runs: list[Path], tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    result = digitrec("compare", str(runs[1]), str(tmp_path / "missing"), str(tmp_path / "broken"), "--json")
    assert result.returncode == 1
    good, missing, broken = json.loads(result.stdout)["runs"]
    assert good["name"] == "made" and "no such run folder" in missing["error"] and "not valid JSON" in broken["error"]
    assert len(result.stderr.strip().splitlines()) == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", list(models.REGISTRY))
def test_parameters_from_the_checkpoint_header(name: str, tmp_path: Path) -> None:
    model = models.build(name)
    path = checkpoints.save(tmp_path / "m.safetensors", build_metadata(name, models.check_kwargs(name, {}),
                                                                       MNIST_NORMALIZATION, {}, {}, 1),
                            model.state_dict())
    assert parameter_count(path) == models.parameter_count(model)  # BatchNorm's statistics left out


def test_read_run_of_a_folder_without_checkpoint(runs: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "early"
    folder.mkdir()
    for name in ("config.json", "metrics.csv"):
        (folder / name).write_bytes((runs[1] / name).read_bytes())
    assert read_run(folder).parameters is None


def test_explaining_the_shipped_model_imports_no_torch(seven: Path) -> None:
    code = ("import sys; from digitrec import Recognizer; from digitrec.explain import explain; "
            f"e = explain(Recognizer.load(), {str(seven)!r}); "
            "print(e.prediction.digit, len(e.layers), 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7", "4", "False"]


def test_a_recipe_names_its_real_world_training_options() -> None:
    from digitrec.compare import recipe_text
    from digitrec.config import preset_config

    plain = dict(blur=0.0, flagged_ones=0, negative_halves=False, ema=0.0)
    assert recipe_text(preset_config("shipped", **plain)).endswith("augmented x1.25, 12.5% not-a-digit")
    text = recipe_text(preset_config("shipped"))
    assert "(25% blurred)" in text and "not-a-digit with joined halves" in text and "3000 flagged 1s" in text
    assert "drawn digits" not in text
    assert "16000 drawn digits" in recipe_text(preset_config("shipped", drawn_digits=16000))
    paper = recipe_text(preset_config("shipped", paper_digits=16000, paper_negatives=16000))
    assert "16000 digits on paper" in paper and "16000 non-digits on paper" in paper
    assert text.endswith("weights averaged (EMA 0.999)")
    assert recipe_text(preset_config("shipped", init="runs/a/best.safetensors")).endswith(
        "fine-tuned from best.safetensors")
