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
        help_text = f"{f.metadata['help']} (default: {f.default})"
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


def cmd_show_data(args: argparse.Namespace) -> int:
    from .plots import save_sample_grid

    path = save_sample_grid(args.out, data_dir=args.data_dir, count=args.count, split=args.split,
                            seed=args.seed)
    print(f"wrote {path}")
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
    # -- predict, export: see recognizer.py / predict.py / export.py --------------------------
    # -- serve: see server/ ------------------------------------------------------------------
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
