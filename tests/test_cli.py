"""The `digitrec` command run as a subprocess: help without torch, `models`, and bad arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from digitrec import models

HEAVY = ("torch", "numpy")  # `--help` must import neither


def _run(*args: str, cwd: Path | None = None, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *python_flags, "-m", "digitrec", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def _imported(importtime_log: str) -> set[str]:
    """Top-level packages named in a `python -X importtime` log (lines: self | cumulative | name)."""
    names = set()
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_console_script_help_lists_the_commands() -> None:
    script = Path(sys.executable).with_name("digitrec")
    if not script.exists():
        pytest.skip("the digitrec console script is not installed beside this Python")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("train", "evaluate", "models", "show-data", "data"):
        assert command in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["data", "download", "--help"],
                                  ["--version"]], ids=" ".join)
def test_help_imports_neither_torch_nor_numpy(args: list[str]) -> None:
    result = _run(*args, python_flags=("-X", "importtime"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(("usage: digitrec", "digitrec "))
    imported = _imported(result.stderr)
    assert "digitrec" in imported  # the log is real: it does list what was imported
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_building_every_parser_imports_neither_torch_nor_numpy() -> None:
    code = (
        "import argparse, sys\n"
        "from digitrec.cli import build_parser\n"
        "def walk(parser):\n"
        "    parser.format_help()\n"
        "    for action in parser._actions:\n"
        "        if isinstance(action, argparse._SubParsersAction):\n"
        "            for sub in action.choices.values():\n"
        "                walk(sub)\n"
        "walk(build_parser())\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_models_lists_every_architecture_with_its_parameter_count() -> None:
    result = _run("models")
    assert result.returncode == 0, result.stderr
    rows = [line.split(maxsplit=2) for line in result.stdout.splitlines()[1:]]
    listed = {name: int(count.replace(",", "")) for name, count, _ in rows}
    assert list(listed) == list(models.REGISTRY) and len(listed) == 8
    for name, count in listed.items():
        assert count == models.parameter_count(models.build(name)), name
    # The classic MLP, counted by hand: weights and biases of 784-256, 256-64, 64-10.
    assert listed["mlp"] == 784 * 256 + 256 + 256 * 64 + 64 + 64 * 10 + 10


BAD_ARGUMENTS = {
    "unknown command": (["frobnicate"], "invalid choice: 'frobnicate'"),
    "unknown flag": (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    "not a number": (["train", "--epochs", "abc"], "invalid int value: 'abc'"),
    "unknown choice": (["train", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    "unknown preset": (["train", "--preset", "nope"], "invalid choice: 'nope'"),
    "missing folder argument": (["data", "download"], "required: DIR"),
    "unknown data action": (["data", "upload", "x"], "invalid choice: 'upload'"),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_exit_2_with_an_error_line(case: str, tmp_path: Path) -> None:
    args, expected = BAD_ARGUMENTS[case]
    result = _run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("digitrec") and ": error: " in lines[-1] and expected in lines[-1]
    assert sum(": error: " in line for line in lines) == 1  # usage lines above it, one error


@pytest.mark.parametrize("args, expected", [
    (["train", "--model", "nope"], "unknown model 'nope': not an architecture digitrec knows; choose one of mlp,"),
    (["train", "--data-dir", "no-such-folder"], "no-such-folder: no such folder; run `digitrec data download"),
], ids=["unknown model", "missing data folder"])
def test_bad_values_are_one_line_without_traceback(args: list[str], expected: str, tmp_path: Path) -> None:
    result = _run(*args, "--epochs", "1", "--train-limit", "256", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("digitrec train: error: ") and expected in result.stderr
