"""The argument parser of every command. Building it imports neither torch nor numpy.

`train`'s flags are generated from TrainConfig's fields, one flag per field, with the field's help
and default; their defaults stay None so that a preset fills what is not given, and so that
`--resume` knows which flags were given. Every other numeric flag is range-checked by argparse
itself, so a bad value is argparse's one-line usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable

from ..config import PRESETS, TrainConfig, flag


def _number(kind: type, low: float | None = None, high: float | None = None,
            low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number of `kind` in [low, high] (or (low, high] when low_open)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"{text} must be {'above' if low_open else 'at least'} {low:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} must be at most {high:g}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    for f in dataclasses.fields(TrainConfig):
        # argparse %-formats help strings: a literal % in the text must be doubled.
        help_text = f"{f.metadata['help']} (default: {f.default if f.default != '' else 'none'})".replace("%", "%%")
        if str(f.type) == "bool":
            parser.add_argument(flag(f.name), dest=f.name, default=None, action=argparse.BooleanOptionalAction,
                                help=help_text)
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            parser.add_argument(flag(f.name), dest=f.name, type=kind, default=None,
                                choices=f.metadata.get("choices"), help=help_text)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on MNIST and report its test accuracy",
                       description="Train on MNIST. A preset sets a recipe; explicit flags override it. "
                       "Under torchrun, every process trains its share of each batch (see the README).")
    p.add_argument("--preset", default="default", choices=list(PRESETS),
                   help="start from a named recipe (default: default)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue an interrupted run from RUN_DIR/last.safetensors with its own config; "
                   "a larger --epochs extends it, --threads and --quiet may change, other flags are refused")
    _add_config_flags(p)


def _add_inputs(p: argparse.ArgumentParser, show: str) -> None:
    """The arguments `predict` and `read` share: inputs, model, JSON, and a figure."""
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or glob patterns")
    p.add_argument("--model", default=None,
                   help="an .onnx export or a .safetensors checkpoint (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="print one JSON object per input")
    p.add_argument("--show", metavar="OUT.png", default=None, help=show)


def _add_recognition(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="recognise the digit in image files, folders or globs",
                       description="Recognise the digit in each image (PNG, JPEG, BMP, GIF, WebP, TIFF, PNM). "
                       "Exit code 1 if any input could not be read or holds no digit.")
    _add_inputs(p, "draw each input beside the 28x28 the model saw, with the prediction")
    p.add_argument("--preview", metavar="DIR", default=None, help="save each preprocessed 28x28 as a PNG")
    p.add_argument("--no-preprocess", dest="preprocess", action="store_false",
                   help="inputs are already 28x28 MNIST form (white digit on black): pass them as they are")

    p = sub.add_parser("read", help="read the whole number in image files, folders or globs",
                       description="Read the number in each image, left to right (amounts, years, postcodes). "
                       "Exit code 1 if any input could not be read or holds no digit.")
    _add_inputs(p, "draw each input with a box and the digit read over each of its digits")
    p.add_argument("--preview", metavar="DIR", default=None,
                   help="save each digit's 28x28 as a PNG (NAME-1.png, NAME-2.png... left to right)")



def _add_insight_and_serving(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="inside a model: each layer's activations and a saliency map for one image",
                       description="Recognise the digit in IMAGE and show how: the 28x28 the model saw, which "
                       "pixels drove its answer (occlusion saliency), each layer's activations and the "
                       "probabilities, in one figure (--out) or as JSON (--json).")
    p.add_argument("image", metavar="IMAGE", help="an image file")
    p.add_argument("--model", default=None,
                   help="an .onnx export or a .safetensors checkpoint (default: the shipped model)")
    p.add_argument("--out", metavar="FIG.png", default=None, help="write the figure here")
    p.add_argument("--json", action="store_true", help="print the explanation as one JSON object (as "
                   "POST /api/explain answers)")
    p.add_argument("--tutorial-preprocessing", action="store_true",
                   help="also show the 28x28 a tutorial's 'grey, resize to 28x28' hands the model, and its answer")
    p.add_argument("--no-preprocess", dest="preprocess", action="store_false",
                   help="IMAGE is already 28x28 MNIST form (white digit on black)")

    p = sub.add_parser("export", help="export a checkpoint to ONNX for fast, torch-free inference",
                       description="Write OUT_DIR/NAME.onnx (checkpoint metadata in its metadata_props) "
                       "and OUT_DIR/NAME.safetensors (weights only), after checking that onnxruntime "
                       "agrees with torch.")
    p.add_argument("checkpoint", help="a .safetensors checkpoint from `digitrec train`")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write into")
    p.add_argument("--name", default="model", help="file name stem (default: model)")

    p = sub.add_parser("serve", help="the draw-a-digit web page and the REST API",
                       description="Serve the page at / and the API at /api (docs at /docs) with uvicorn.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--model", action="append", default=None, metavar="[NAME=]MODEL",
                   help="a checkpoint (.safetensors), an .onnx export, a run folder (its best.safetensors) or "
                   "`shipped`; repeat to serve several side by side, the first the default; NAME= names one "
                   "(default: the shipped model)")
    p.add_argument("--max-upload-mb", type=float, default=5.0,
                   help="refuse request bodies larger than this, with 413 (default: 5)")
    p.add_argument("--workers", type=int, default=0,
                   help="server processes, each held to about one CPU core by the GIL "
                        "(default: 0, one per CPU core on Linux, 1 elsewhere)")
    p.add_argument("--access-log", action="store_true", help="log every request (default: off)")


def _add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="test accuracy, calibration, per-class metrics and confusion matrix")
    p.add_argument("--model", default=None, help="checkpoint to evaluate (default: the shipped model)")
    p.add_argument("--data-dir", default="", help="MNIST folder (default: the embedded copy)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument("--plots", metavar="DIR", default=None,
                   help="write confusion-matrix, misclassified-digits and reliability-diagram PNGs into DIR")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")

    sub.add_parser("models", help="list the architectures with their parameter counts")

    p = sub.add_parser("compare", help="training runs side by side: recipe, accuracy, time, curves",
                       description="A table of runs (model, parameters, recipe, epochs, best and last test "
                       "accuracy, wall time, images/s) from each RUN_DIR's config.json, metrics.csv and "
                       "best.safetensors. Exit code 1 if any RUN_DIR could not be read.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="--out folders of `digitrec train`")
    p.add_argument("--json", action="store_true", help="print the table as one JSON object")
    p.add_argument("--out", metavar="COMPARE.png", default=None,
                   help="also draw the runs' test accuracy and loss curves, overlaid")

    p = sub.add_parser("show-data", help="draw a grid of MNIST samples with their labels")
    p.add_argument("--out", default="samples.png", help="PNG to write (default: samples.png)")
    p.add_argument("--count", type=_number(int, 1, 1000), default=64, help="number of samples (default: 64)")
    p.add_argument("--split", choices=("train", "test"), default="train", help="(default: train)")
    p.add_argument("--seed", type=_number(int, 0, 2**31 - 1), default=0, help="which random samples (default: 0)")
    p.add_argument("--data-dir", default="", help="MNIST folder (default: the embedded copy)")

    p = sub.add_parser("data", help="download MNIST (not needed: an embedded copy ships with digitrec)")
    data_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = data_sub.add_parser("download", help="download and verify the four MNIST files into DIR",
                            description="Fetch the four MNIST files from the first mirror that serves a "
                            "valid copy, verify their SHA-256, and write DIR/<name>.gz atomically.")
    p.add_argument("dir", metavar="DIR", help="folder to write into (created if missing)")
    p.add_argument("--mirror", metavar="URL", action="append", default=None,
                   help="base URL to try instead of the standard public mirrors; repeat to try several in order")
    p.add_argument("--timeout", type=_number(float, 0, 3600, low_open=True), default=30.0,
                   help="seconds allowed for connecting and for each read; each file also has an overall "
                   "deadline of 20 x this (default: 30)")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from . import commands

    parser = argparse.ArgumentParser(
        prog="digitrec", description="Handwritten-digit recognition: train, evaluate, recognise, serve.")
    parser.add_argument("--version", action="version", version=f"digitrec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_data(sub)
    _add_recognition(sub)
    _add_insight_and_serving(sub)
    for name, command in sub.choices.items():
        command.set_defaults(handler=getattr(commands, "cmd_" + name.replace("-", "_")))
    return parser
