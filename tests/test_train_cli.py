"""`digitrec train` and `digitrec evaluate` run as real subprocesses, as a user would."""

import json
import subprocess
import sys


def digitrec(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "digitrec", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_tiny_train_then_evaluate_with_plots(tmp_path):
    run = tmp_path / "run"
    result = digitrec("train", "--model", "digitnet-s", "--train-limit", "2000", "--epochs", "1",
                      "--no-augment", "--batch-size", "32", "--out", str(run))
    assert result.returncode == 0, result.stderr
    assert "epoch   1/1" in result.stdout and "test accuracy" in result.stdout
    assert "\r" not in result.stdout  # no progress bar when the output is not a terminal

    result = digitrec("evaluate", "--model", str(run / "best.safetensors"), "--json", "--plots", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert 0.85 < metrics["accuracy"] <= 1 and metrics["loss"] > 0
    assert sum(map(sum, metrics["confusion_matrix"])) == 10000
    assert (tmp_path / "p" / "confusion_matrix.png").stat().st_size > 1000
    assert (tmp_path / "p" / "misclassified.png").stat().st_size > 1000

    text = digitrec("evaluate", "--model", str(run / "best.safetensors"))
    assert text.returncode == 0 and "confusion matrix" in text.stdout and "precision" in text.stdout


def test_quiet_prints_nothing(tmp_path):
    result = digitrec("train", "--model", "mlp", "--train-limit", "1000", "--epochs", "1", "--quiet",
                      "--out", str(tmp_path))
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_show_data(tmp_path):
    result = digitrec("show-data", "--out", str(tmp_path / "grid.png"), "--count", "16")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_user_errors_are_one_line(tmp_path):
    (tmp_path / "junk.safetensors").write_text("not a model")
    for args in (["evaluate", "--model", str(tmp_path / "junk.safetensors")],
                 ["train", "--resume", str(tmp_path / "nothing")],
                 ["train", "--train-limit", "10", "--out", str(tmp_path / "r")],
                 ["train", "--data-dir", str(tmp_path / "missing")]):
        result = digitrec(*args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and "error:" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
