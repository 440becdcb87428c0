"""The `digitrec` command line: argparse, a few lines per command, every import lazy.

`digitrec --help` imports neither torch nor numpy. Each handler turns flags into explicit arguments
of one library call. A `DigitrecError` is printed as one line and exits with status 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from .config import PRESETS, TrainConfig
from .errors import DigitrecError


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field; defaults stay None so a preset can fill what is not given."""
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        # argparse %-formats help strings: a literal % in the text must be doubled.
        help_text = f"{f.metadata['help']} (default: {f.default})".replace("%", "%%")
        if f.type in ("bool", bool):
            parser.add_argument(flag, dest=f.name, default=None, action=argparse.BooleanOptionalAction,
                                help=help_text)
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            parser.add_argument(flag, dest=f.name, type=kind, default=None,
                                choices=f.metadata.get("choices"), help=help_text)


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    from .config import preset_config

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                 if getattr(args, f.name) is not None}
    return preset_config(args.preset, **overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from .training import resume, train

    if args.resume:
        result = resume(args.resume, quiet=bool(args.quiet))
    else:
        result = train(_config_from_args(args))
    if not result.config.quiet:
        print(f"test accuracy {result.test_acc:.2%} (loss {result.test_loss:.4f}) after "
              f"{result.elapsed_seconds:.1f} s; checkpoints in {result.out_dir}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import run_evaluate

    return run_evaluate(model_path=args.model, data_dir=args.data_dir, as_json=args.json,
                        plots_dir=args.plots, device=args.device)


def cmd_models(args: argparse.Namespace) -> int:
    from .models import model_table

    rows = model_table()
    print(f"{'model':12s} {'parameters':>10s}  description")
    for name, params, description in rows:
        print(f"{name:12s} {params:>10,d}  {description}")
    return 0


def cmd_data_download(args: argparse.Namespace) -> int:
    from .download import DEFAULT_MIRRORS, download_mnist

    folder = download_mnist(args.dir, mirrors=args.mirror or DEFAULT_MIRRORS, timeout=args.timeout,
                            progress=print)
    print(f"MNIST is ready in {folder}: use it with --data-dir {folder}")
    return 0


def cmd_show_data(args: argparse.Namespace) -> int:
    from .plots import save_sample_grid

    path = save_sample_grid(args.out, data_dir=args.data_dir, count=args.count, split=args.split,
                            seed=args.seed)
    print(f"wrote {path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(host=args.host, port=args.port, model_path=args.model, max_upload_mb=args.max_upload_mb,
          workers=args.workers, access_log=args.access_log)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .predict import run_predict

    return run_predict(args.paths, model=args.model, as_json=args.json, show=args.show,
                       preview=args.preview, preprocess=args.preprocess)


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_onnx

    result = export_onnx(args.checkpoint, args.out_dir, name=args.name)
    print(f"wrote {result.onnx_path} and {result.checkpoint_path} (onnxruntime agrees with torch: "
          f"max |logit difference| {result.max_abs_diff:.1e})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitrec", description="Handwritten-digit recognition: train, evaluate, recognise, serve.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"digitrec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model on MNIST and report its test accuracy",
                       description="Train on MNIST. A preset sets a recipe; explicit flags override it.")
    p.add_argument("--preset", default="default", choices=list(PRESETS),
                   help="start from a named recipe (default: default)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue an interrupted run from RUN_DIR/last.safetensors with its own config")
    _add_config_flags(p)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("evaluate", help="test accuracy, per-class metrics and confusion matrix")
    p.add_argument("--model", default=None, help="checkpoint to evaluate (default: the shipped model)")
    p.add_argument("--data-dir", default="", help="MNIST folder (default: the embedded copy)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument("--plots", metavar="DIR", default=None,
                   help="write confusion-matrix and misclassified-digits PNGs into DIR")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("models", help="list the architectures with their parameter counts")
    p.set_defaults(handler=cmd_models)

    p = sub.add_parser("show-data", help="draw a grid of MNIST samples with their labels")
    p.add_argument("--out", default="samples.png", help="PNG to write (default: samples.png)")
    p.add_argument("--count", type=int, default=64, help="number of samples (default: 64)")
    p.add_argument("--split", choices=("train", "test"), default="train", help="(default: train)")
    p.add_argument("--seed", type=int, default=0, help="which random samples (default: 0)")
    p.add_argument("--data-dir", default="", help="MNIST folder (default: the embedded copy)")
    p.set_defaults(handler=cmd_show_data)

    # -- data download: see download.py ------------------------------------------------------
    p = sub.add_parser("data", help="download MNIST (not needed: an embedded copy ships with digitrec)")
    data_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = data_sub.add_parser("download", help="download and verify the four MNIST files into DIR",
                            description="Fetch the four MNIST files from the first mirror that serves a "
                            "valid copy, verify their SHA-256, and write DIR/<name>.gz atomically.")
    p.add_argument("dir", metavar="DIR", help="folder to write into (created if missing)")
    p.add_argument("--mirror", metavar="URL", action="append", default=None,
                   help="base URL to try instead of the standard public mirrors; repeat to try several "
                   "in order")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds allowed for connecting and for each read (default: 30)")
    p.set_defaults(handler=cmd_data_download)

    # -- predict, export: see recognizer.py / predict.py / export.py --------------------------
    p = sub.add_parser("predict", help="recognise the digit in image files, folders or globs",
                       description="Recognise the digit in each image (any format Pillow reads). "
                       "Exit code 1 if any input could not be read or holds no digit.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or glob patterns")
    p.add_argument("--model", default=None,
                   help="an .onnx export or a .safetensors checkpoint (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="print one JSON object per input")
    p.add_argument("--show", metavar="OUT.png", default=None,
                   help="draw each input beside the 28x28 the model saw, with the prediction")
    p.add_argument("--preview", metavar="DIR", default=None, help="save each preprocessed 28x28 as a PNG")
    p.add_argument("--no-preprocess", dest="preprocess", action="store_false",
                   help="inputs are already 28x28 MNIST form (white digit on black): pass them as they are")
    p.set_defaults(handler=cmd_predict)

    p = sub.add_parser("export", help="export a checkpoint to ONNX for fast, torch-free inference",
                       description="Write OUT_DIR/NAME.onnx (checkpoint metadata in its metadata_props) "
                       "and OUT_DIR/NAME.safetensors (weights only), after checking that onnxruntime "
                       "agrees with torch.")
    p.add_argument("checkpoint", help="a .safetensors checkpoint from `digitrec train`")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write into")
    p.add_argument("--name", default="model", help="file name stem (default: model)")
    p.set_defaults(handler=cmd_export)

    # -- serve: see server/ ------------------------------------------------------------------
    p = sub.add_parser("serve", help="the draw-a-digit web page and the REST API",
                       description="Serve the page at / and the API at /api (docs at /docs) with uvicorn.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--model", default=None, help="checkpoint or .onnx to serve (default: the shipped model)")
    p.add_argument("--max-upload-mb", type=float, default=5.0,
                   help="refuse request bodies larger than this, with 413 (default: 5)")
    p.add_argument("--workers", type=int, default=0,
                   help="server processes, each held to about one CPU core by the GIL "
                        "(default: 0, one per CPU core on Linux, 1 elsewhere)")
    p.add_argument("--access-log", action="store_true", help="log every request (default: off)")
    p.set_defaults(handler=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except DigitrecError as err:
        print(f"digitrec {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"digitrec {args.command}: interrupted", file=sys.stderr)
        return 130
