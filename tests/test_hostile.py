"""Hostile inputs, files, flags and outputs: each ends in one line naming what is wrong (a 4xx from
the API), never a traceback, a hang, a crash of the batch, or a half-written file.

Model files have their own table (test_hostile_models.py), the server's limits theirs (test_limits.py),
and random inputs are fuzzed in test_fuzz.py.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import socket
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitrec import Recognizer, fileio
from digitrec.cli import main
from digitrec.errors import DigitrecError
from digitrec.gray import gray_of
from digitrec.images import MAX_DECODE_BYTES, decode_cost, open_image
from digitrec.ink import WORK_SIDE
from digitrec.server import create_app
from digitrec.server.routes import STATUS
from fixtures import (
    POSTSCRIPT,
    encode,
    float_tiff,
    font_digit,
    mnist_on_canvas,
    png_declaring,
    png_with_text_bomb,
    rle_bmp,
    truncated,
    uniform_png,
    with_chunks,
)

with warnings.catch_warnings():  # starlette >= 1.x prefers the httpx2 fork; httpx still works
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


@pytest.fixture(scope="module")
def client(recognizer):
    with TestClient(create_app(recognizer)) as c:
        yield c


def _rotated_by_exif(png: bytes, orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return with_chunks(png, [(b"eXIf", exif.tobytes()[6:])])  # without its "Exif\0\0"


def _declaring(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF2: progressive) declaring another size."""
    at = jpeg.index(b"\xff\xc2") + 5  # marker, length, precision
    return jpeg[:at] + struct.pack(">HH", height, width) + jpeg[at + 4:]


def _lossless_webp(side: int) -> bytes:
    return encode(Image.new("RGB", (side, side), "white"), "WEBP", lossless=True)


# name: (bytes, words in the error, kind of error). Every one is refused from its header, before
# its pixels are decoded, except those decoded and then refused (NaN, truncated).
HOSTILE_IMAGES = {
    "empty": (lambda: b"", "empty", "unreadable"),
    "not an image": (lambda: b"hello, world", "not an image format", "unreadable"),
    "truncated": (lambda: truncated(encode(font_digit(3))), "truncated", "unreadable"),
    "pixel bomb": (lambda: png_declaring(30000, 30000), "limit of 50 M", "too-large"),
    "text-chunk bomb": (png_with_text_bomb, "text chunks", "unreadable"),
    "eps": (lambda: POSTSCRIPT["eps"], "Ghostscript", "unsupported"),
    "dos eps": (lambda: POSTSCRIPT["dos-eps"], "Ghostscript", "unsupported"),
    "pdf": (lambda: POSTSCRIPT["pdf"], "Ghostscript", "unsupported"),
    "nan tiff": (lambda: float_tiff(math.nan), "NaN or infinite", "unreadable"),
    "infinite tiff": (lambda: float_tiff(-math.inf), "NaN or infinite", "unreadable"),
    "webp over the decode budget": (lambda: _lossless_webp(4000), "to decode (WEBP", "too-large"),
    "progressive cmyk jpeg over it": (lambda: _declaring(encode(Image.new("CMYK", (64, 64)), "JPEG",
                                                                progressive=True), 6000, 6000),
                                      "to decode (JPEG CMYK 6000x6000)", "too-large"),
    "exif turn over it": (lambda: _rotated_by_exif(uniform_png(7000, 4000, 8, 6)), "turned by its EXIF",
                          "too-large"),
    "slow rle bmp": (lambda: rle_bmp(600, 250), "decodes slowly", "too-large"),
    "slow ascii pgm": (lambda: b"P2\n600 600\n255\n" + b"9 " * 360000, "decodes slowly", "too-large"),
}


@pytest.fixture(scope="module")
def hostile() -> dict[str, bytes]:
    return {name: make() for name, (make, _, _) in HOSTILE_IMAGES.items()}


@pytest.mark.parametrize("name", list(HOSTILE_IMAGES))
def test_hostile_images_get_one_line_errors_and_4xx(name, hostile, recognizer, client):
    _, words, kind = HOSTILE_IMAGES[name]
    with pytest.raises(DigitrecError) as info:
        recognizer.predict(hostile[name])
    assert words in str(info.value) and "\n" not in str(info.value)
    assert info.value.kind == kind
    response = client.post("/api/predict", content=hostile[name], headers={"Content-Type": "image/png"})
    assert response.status_code == STATUS.get(kind, 400), response.text
    assert words in response.json()["detail"]


def test_a_batch_of_hostile_images_answers_the_good_ones(hostile, recognizer, client):
    good = encode(mnist_on_canvas(0))
    names = list(hostile) + ["good"]
    outcomes = recognizer.predict_many([*hostile.values(), good], names=names)
    assert all(isinstance(o, DigitrecError) for o in outcomes[:-1])
    assert outcomes[-1].digit == recognizer.predict(good).digit
    files = [("files", (f"{i}.img", data, "image/png")) for i, data in enumerate([*hostile.values(), good])]
    results = client.post("/api/predict/batch", files=files).json()["results"]
    assert [r["status"] for r in results[:-1]] == [STATUS.get(kind, 400) for _, _, kind in HOSTILE_IMAGES.values()]
    assert results[-1]["digit"] == outcomes[-1].digit


def test_no_external_program_is_ever_started(tmp_path, monkeypatch, recognizer, client):
    # A `gs` on the PATH that leaves a mark. The control: plain Pillow runs it on an EPS; digitrec
    # never does, from the API, the CLI's reader or a batch, whatever the file claims to be.
    from PIL import EpsImagePlugin

    mark = tmp_path / "ghostscript-ran"
    gs = tmp_path / "bin" / "gs"
    gs.parent.mkdir()
    gs.write_text(f'#!/bin/sh\ntouch {mark}\n[ "$1" = --version ] && echo 10.0 && exit 0\nexit 1\n')
    gs.chmod(0o755)
    monkeypatch.setenv("PATH", f"{gs.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None, raising=False)
    with pytest.raises((OSError, subprocess.SubprocessError)):  # the fake gs makes no image
        Image.open(io.BytesIO(POSTSCRIPT["eps"])).load()
    assert mark.exists(), "the control: Pillow on its own runs gs"
    mark.unlink()
    for name, data in POSTSCRIPT.items():
        for disguise in (data, b"  \n" + data, data + encode(font_digit(1))):
            (tmp_path / f"{name}.png").write_bytes(disguise)
            for source in (disguise, tmp_path / f"{name}.png"):
                with pytest.raises(DigitrecError):
                    recognizer.predict(source)
            assert client.post("/api/predict", content=disguise).status_code in (400, 415)
    assert not mark.exists()


def test_refused_from_the_header_without_decoding(hostile):
    # open_image reads the header only: a refused image costs a few KB, however much it declares.
    for name in ("webp over the decode budget", "progressive cmyk jpeg over it", "pixel bomb"):
        with pytest.raises(DigitrecError, match="limit"):
            open_image(hostile[name])


@pytest.mark.parametrize("depth, color", [(1, 0), (8, 0), (16, 0), (8, 2), (16, 2), (8, 3), (8, 4), (16, 4),
                                          (8, 6), (16, 6)])
def test_the_png_fast_path_prices_like_pillow(depth, color):
    data = uniform_png(300, 200, depth, color)
    image, cost = open_image(data)
    assert decode_cost(data) == cost == len(data) + 300 * 200 * (1 if image.mode in ("1", "L", "P") else
                                                                  2 if image.mode == "I;16" else 4)


def test_the_largest_allowed_images_fit_the_budget():
    # A 50-megapixel RGBA PNG (the pixel limit) is still allowed: the budget refuses only what costs more.
    side = math.isqrt(50_000_000)
    assert decode_cost(uniform_png(side, side, 8, 6)) <= MAX_DECODE_BYTES


# -- the image-to-gray stage: tiles, transparency ----------------------------------------------------

def test_tiles_give_the_whole_image_reduction():
    # Oracle: Pillow's reduce of the whole image. Tiles of ~1024 px (multiples of the factor) must give
    # exactly its pixels, at any size that is not a multiple of anything.
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (1900, 2501, 3), dtype=np.uint8))
    gray, factor = gray_of(image, "noise", WORK_SIDE)
    expected = np.asarray(image.convert("L").reduce(factor), dtype=np.float32) / 255
    assert factor == 5 and gray.shape == expected.shape
    np.testing.assert_array_equal(gray, expected)


@pytest.mark.parametrize("colors", [2, 4, 16, 256])
def test_palette_png_with_paper_keyed_out_through_trns(recognizer, colors):
    # The red team's wrong answer: MNIST's first test digit (a 7) flattened on white paper, quantised
    # to a palette, with the paper's index transparent: its light anti-aliasing is opaque, and the
    # paper came out black, ringing the strokes: it read as 8.
    seven = mnist_on_canvas(0, (300, 300), (20, 20), scale=8)
    palette = seven.convert("P", palette=Image.Palette.ADAPTIVE, colors=colors)
    data = encode(palette, "PNG", transparency=palette.getpixel((0, 0)))
    assert Image.open(io.BytesIO(data)).info["transparency"] == palette.getpixel((0, 0))
    assert recognizer.predict(data).digit == recognizer.predict(seven).digit == 7


# -- files that are not regular files, names that are not UTF-8 --------------------------------------

def test_cli_reads_only_regular_files_and_escapes_names(tmp_path):
    # One `digitrec predict` over a FIFO (opening it would block), devices that never end, a socket,
    # and a good file with a name that is not UTF-8, printed on a strict-UTF-8 stdout.
    os.mkfifo(tmp_path / "fifo.png")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "socket.png"))
    good = os.fsencode(tmp_path) + b"/\xff\xfe-seven.png"
    mnist_on_canvas(0).save(os.fsdecode(good), "PNG")
    paths = [str(tmp_path / "fifo.png"), "/dev/zero", "/dev/urandom", str(tmp_path / "socket.png"),
             os.fsdecode(good)]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    try:
        result = subprocess.run([sys.executable, "-m", "digitrec", "predict", "--json", *paths], env=env,
                                capture_output=True, timeout=120)
    finally:
        server.close()
    assert result.returncode == 1 and b"Traceback" not in result.stderr, result.stderr
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line.get("error", "").split(" (")[0] for line in lines[:4]] == [
        "is not a regular file", "is not a regular file", "is not a regular file", "is not a regular file"]
    assert lines[4]["digit"] == 7 and os.fsencode(lines[4]["path"]) == good  # JSON escapes it
    text = subprocess.run([sys.executable, "-m", "digitrec", "predict", os.fsdecode(good)], env=env,
                          capture_output=True, timeout=120)
    assert text.returncode == 0 and text.stdout.decode().startswith(f"{tmp_path}/\\udcff\\udcfe-seven.png: 7 (")


def test_a_file_that_turns_into_a_fifo_is_not_waited_for(tmp_path, monkeypatch):
    # Checked by stat, then opened non-blocking: a FIFO swapped in between is refused, not waited on.
    os.mkfifo(tmp_path / "swapped.png")
    real_stat = Path.stat
    monkeypatch.setattr(Path, "stat", lambda self, **kw: real_stat(Path(__file__)) if self.name == "swapped.png"
                        else real_stat(self, **kw))
    with pytest.raises(DigitrecError, match="is not a regular file"):
        fileio.read_bounded(tmp_path / "swapped.png", 2**20)


# -- training flags, through the command line ----------------------------------------------------------

@pytest.mark.parametrize("flag, value", [
    ("--epochs", "0"), ("--epochs", "-1"), ("--lr", "-0.1"), ("--batch-size", "0"), ("--batch-size", "-8"),
    ("--weight-decay", "-1"), ("--label-smoothing", "5"), ("--label-smoothing", "nan"), ("--momentum", "-0.5"),
    ("--momentum", "1.5"), ("--step-size", "0"), ("--warmup", "nan"), ("--lr", "inf"), ("--gamma", "0"),
    ("--threads", "-2"), ("--val-size", "-1"), ("--train-limit", "70000"), ("--aug-strength", "nan"),
])
def test_every_bad_training_flag_is_one_line(flag, value, tmp_path, capsys):
    assert main(["train", flag, value, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"digitrec train: error: {flag} {value}"), err
    assert not (tmp_path / "run").exists()


# -- outputs that cannot be written ---------------------------------------------------------------------

def test_output_paths_in_the_way_are_one_line(tmp_path, capsys):
    image = tmp_path / "seven.png"
    mnist_on_canvas(0).save(image)
    (tmp_path / "file").write_text("in the way")
    cases = [
        (["train", "--out", str(tmp_path / "file"), "--epochs", "1"], "--out"),
        (["train", "--out", str(tmp_path / "file" / "run"), "--epochs", "1"], "--out"),
        (["predict", str(image), "--preview", str(tmp_path / "file")], "--preview"),
        (["predict", str(image), "--show", str(tmp_path / "file" / "show.png")], "--show"),
        (["predict", str(image), "--show", str(tmp_path)], "--show"),
        (["evaluate", "--plots", str(tmp_path / "file")], "--plots"),
        (["export", str(tmp_path / "none.safetensors"), str(tmp_path / "file")], "none.safetensors"),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "seven.png"]  # nothing half-written


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full"),
                                         (errno.EDQUOT, "quota")])
def test_a_failed_write_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, code, words):
    def fail(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fileio.os, "fsync", fail)
    with pytest.raises(DigitrecError, match=words) as info:
        fileio.atomic_write(tmp_path / "out.png", b"data")
    assert info.value.kind == "unwritable" and list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(fileio.tempfile, "TemporaryFile", read_only)
    with pytest.raises(DigitrecError, match=r"--out .*: cannot write here \(the file system is read-only\)"):
        fileio.writable_dir(tmp_path / "run", "--out")


# -- download flags -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "1e9", "soon"])
def test_bad_download_timeouts_are_one_line(value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "download", str(tmp_path / "mnist"), "--timeout", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("digitrec data download: error: argument --timeout")
    assert not (tmp_path / "mnist").exists()


@pytest.mark.parametrize("value", [-1.0, 0.0, math.nan, math.inf, "30"])
def test_the_library_checks_the_timeout_too(value, tmp_path):
    from digitrec.download import download_mnist

    with pytest.raises(DigitrecError, match="--timeout .*: must be a positive number of seconds"):
        download_mnist(tmp_path, timeout=value)  # type: ignore[arg-type]


# -- the command line's memory bound ------------------------------------------------------------------

CLI_BOUND_MB = 1024  # README: `digitrec predict` peaks at most at 1 GB on any folder of inputs


@pytest.mark.slow
def test_predict_on_a_folder_of_giants_stays_under_1_gb(tmp_path):
    # Two inputs decode at a time (the recogniser's worker threads): each at most its 200 MB budget.
    for i, (depth, color) in enumerate([(8, 6), (16, 0)] * 4):
        (tmp_path / f"giant{i}.png").write_bytes(uniform_png(7000, 7000, depth, color))
    probe = ("import resource, subprocess, sys; "
             "code = subprocess.run([sys.executable, '-m', 'digitrec', 'predict', sys.argv[1]]).returncode; "
             "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True,
                            timeout=600)
    code, peak_kb = map(int, result.stdout.split()[-2:])
    assert code == 1 and result.stderr.count("no digit found") == 8, result.stderr  # each its own line
    assert peak_kb / 1024 <= CLI_BOUND_MB, f"peak RSS {peak_kb / 1024:.0f} MB"
