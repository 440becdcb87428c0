"""`digitrec predict`: output formats, exit codes, folders and globs, --preview, --show, --no-preprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitrec import Recognizer
from digitrec.checkpoints import shipped_checkpoint
from digitrec.cli.recognize import run_predict
from fixtures import font_digit, mnist_on_canvas, mnist_test, png_declaring

PREDICTION_KEYS = {"path", "digit", "verdict", "confidence", "probabilities"}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """A folder of good and bad inputs."""
    folder = tmp_path_factory.mktemp("inputs")
    font_digit(3).save(folder / "three.png")
    font_digit(8, ink=255, paper=0).convert("RGB").save(folder / "eight.jpg", quality=90)
    mnist_on_canvas(0).save(folder / "mnist_seven.webp")
    (folder / "sub").mkdir()
    font_digit(5).save(folder / "sub" / "five.bmp")
    Image.new("L", (120, 90), 255).save(folder / "blank.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("I am not an image")
    (folder / "bomb.png").write_bytes(png_declaring(30000, 30000))
    (folder / "notes.txt").write_text("not an input: wrong suffix")
    return folder


def run(*args: str, **kwargs) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_predict(list(args), out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_json_lines_for_a_folder(images: Path) -> None:
    code, out, _ = run(str(images), as_json=True)
    lines = [json.loads(line) for line in out.splitlines()]
    by_name = {Path(line["path"]).name: line for line in lines}
    assert set(by_name) == {"three.png", "eight.jpg", "mnist_seven.webp", "five.bmp", "blank.png", "empty.png",
                            "text.png", "bomb.png"}  # recursive, image suffixes only
    for name in ("three.png", "eight.jpg", "mnist_seven.webp", "five.bmp"):
        line = by_name[name]
        assert set(line) == PREDICTION_KEYS
        assert isinstance(line["digit"], int) and len(line["probabilities"]) == 10
        assert line["confidence"] == max(line["probabilities"])
    for name, words in [("blank.png", "no digit found"), ("empty.png", "empty file"), ("text.png", "not an image"),
                        ("bomb.png", "limit")]:
        assert set(by_name[name]) == {"path", "error"} and words in by_name[name]["error"]
    assert code == 1  # some inputs failed, all others were still recognised


def test_all_good_inputs_exit_0_and_text_output(images: Path) -> None:
    code, out, err = run(str(images / "three.png"), str(images / "sub" / "five.bmp"))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{images / 'three.png'}: ")
    assert "top 3: " in lines[0] and lines[0].count("%") == 4


def test_errors_go_to_stderr_in_text_mode(images: Path) -> None:
    code, out, err = run(str(images / "three.png"), str(images / "blank.png"), str(images / "missing.png"))
    assert code == 1 and len(out.splitlines()) == 1
    assert f"{images / 'blank.png'}: error: no digit found" in err
    assert f"{images / 'missing.png'}: error: no such image file" in err


def test_globs(images: Path) -> None:
    code, out, _ = run(str(images / "*.png"), str(images / "**" / "*.bmp"), str(images / "*.gif"), as_json=True)
    names = [Path(json.loads(line)["path"]).name for line in out.splitlines()]
    assert names == ["blank.png", "bomb.png", "empty.png", "text.png", "three.png", "five.bmp", "*.gif"]
    assert json.loads(out.splitlines()[-1])["error"] == "no file matches this pattern"
    assert code == 1


def test_api_and_cli_give_identical_results(images: Path) -> None:
    files = [images / "three.png", images / "eight.jpg", images / "mnist_seven.webp"]
    result = subprocess.run([sys.executable, "-m", "digitrec", "predict", "--json", *map(str, files)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    recognizer = Recognizer.load()
    for line, path in zip(result.stdout.splitlines(), files, strict=True):
        assert json.loads(line) == {"path": str(path), **recognizer.predict(path).to_dict()}


def test_cli_exit_codes_and_no_torch(images: Path) -> None:
    command = [sys.executable, "-X", "importtime", "-m", "digitrec", "predict", str(images / "three.png")]
    good = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0
    assert not any(line.rsplit("|", 1)[-1].strip().startswith("torch") for line in good.stderr.splitlines())
    bad = subprocess.run(command[:-1] + [str(images / "text.png")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "text.png: error: not an image" in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "digitrec", "predict"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2


def test_preview_saves_what_the_model_saw(images: Path, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    font_digit(2).save(tmp_path / "a" / "digit.png")
    font_digit(6).save(tmp_path / "b" / "digit.png")  # same name in another folder
    code, _, _ = run(str(tmp_path / "a" / "digit.png"), str(tmp_path / "b" / "digit.png"),
                     preview=str(tmp_path / "preview"))
    assert code == 0
    recognizer = Recognizer.load()
    for saved, source in [("digit.png", "a"), ("digit-2.png", "b")]:
        x = np.asarray(Image.open(tmp_path / "preview" / saved))
        assert x.shape == (28, 28)
        assert np.array_equal(x, recognizer.predict(tmp_path / source / "digit.png").preprocessed)


def test_show_draws_a_figure(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "figure" / "show.png"
    code, _, err = run(str(images / "three.png"), str(images / "eight.jpg"), str(images / "empty.png"),
                       show=str(out))
    assert code == 1 and f"wrote {out}" in err
    figure = Image.open(out)
    assert figure.width > 300 and figure.height > 100


def test_no_preprocess_passes_mnist_form_through(tmp_path: Path) -> None:
    digits = mnist_test()[0][:3]
    for i, digit in enumerate(digits):
        Image.fromarray(digit).save(tmp_path / f"mnist{i}.png")
    code, out, _ = run(str(tmp_path / "mnist*.png"), as_json=True, preprocess=False)
    assert code == 0
    recognizer = Recognizer.load()
    for line, digit in zip(out.splitlines(), digits, strict=True):
        assert json.loads(line)["probabilities"] == list(recognizer.predict(digit, preprocess=False).probabilities)
    font_digit(1).save(tmp_path / "big.png")
    code, _, err = run(str(tmp_path / "big.png"), preprocess=False)
    assert code == 1 and "28x28" in err


def test_model_option(images: Path) -> None:
    code, out, _ = run(str(images / "three.png"), model=str(shipped_checkpoint().with_suffix(".onnx")), as_json=True)
    assert code == 0 and set(json.loads(out)) == PREDICTION_KEYS


def test_empty_folder(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path))
    assert code == 1 and "no image files" in err

