"""One function per command: turn the parsed flags into explicit arguments of one library call, and
print its result. Imports are inside the functions, so that building the parser stays light."""

from __future__ import annotations

import argparse
import dataclasses
import json

from ..config import TrainConfig


def _explicit_flags(args: argparse.Namespace) -> dict:
    """The TrainConfig fields given on the command line (argparse leaves the others None)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if getattr(args, f.name) is not None}


def cmd_train(args: argparse.Namespace) -> int:
    from ..config import preset_config
    from ..distributed import launched
    from ..training import resume, train
    from ..training_state import restart_dir

    with launched():  # one process of a torchrun job, or a plain one
        flags = _explicit_flags(args)
        cfg = None if args.resume else preset_config(args.preset, **flags)
        run_dir = args.resume or restart_dir(cfg.out)  # torchrun --max-restarts continues from the last epoch
        result = resume(run_dir, flags) if run_dir else train(cfg)
    if not result.config.quiet:
        print(f"test accuracy {result.test_acc:.2%} (loss {result.test_loss:.4f}) after "
              f"{result.elapsed_seconds:.1f} s; checkpoints in {result.out_dir}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..checkpoints import shipped_checkpoint
    from ..evaluation import evaluate_checkpoint

    path = args.model or shipped_checkpoint()
    result, images, labels = evaluate_checkpoint(path, data_dir=args.data_dir, device=args.device)
    if args.plots:
        from ..fileio import writable_dir
        from ..plots import save_confusion_matrix, save_misclassified, save_reliability

        out = writable_dir(Path(args.plots), "--plots")
        save_confusion_matrix(result.confusion, out / "confusion_matrix.png")
        save_misclassified(images, labels, result.predictions, out / "misclassified.png")
        save_reliability(result.probabilities, labels, out / "reliability.png")
    if args.json:
        print(json.dumps({"model": str(path), **result.to_dict()}))
        return 0
    print(f"model {path}\n{result.to_text()}")
    if args.plots:
        print(f"plots written to {args.plots}/confusion_matrix.png, misclassified.png and reliability.png")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from ..models import model_table

    print(f"{'model':12s} {'parameters':>10s}  description")
    for name, params, description in model_table():
        print(f"{name:12s} {params:>10,d}  {description}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .insight import run_compare

    return run_compare(args.runs, as_json=args.json, out=args.out)


def cmd_explain(args: argparse.Namespace) -> int:
    from .insight import run_explain

    return run_explain(args.image, model=args.model, out=args.out, as_json=args.json,
                       tutorial=args.tutorial_preprocessing, preprocess=args.preprocess)


def cmd_data(args: argparse.Namespace) -> int:
    from ..download import DEFAULT_MIRRORS, download_mnist

    folder = download_mnist(args.dir, mirrors=args.mirror or DEFAULT_MIRRORS, timeout=args.timeout, progress=print)
    print(f"MNIST is ready in {folder}: use it with --data-dir {folder}")
    return 0


def cmd_show_data(args: argparse.Namespace) -> int:
    from ..data import load_split
    from ..plots import save_sample_grid

    images, labels = load_split(args.split, args.data_dir or None)
    print(f"wrote {save_sample_grid(images, labels, args.out, count=args.count, seed=args.seed)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import serve

    serve(host=args.host, port=args.port, model_path=args.model, max_upload_mb=args.max_upload_mb,
          workers=args.workers, access_log=args.access_log)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .recognize import run_predict

    return run_predict(args.paths, model=args.model, as_json=args.json, show=args.show, preview=args.preview,
                       preprocess=args.preprocess)


def cmd_read(args: argparse.Namespace) -> int:
    from .read import run_read

    return run_read(args.paths, model=args.model, as_json=args.json, show=args.show, preview=args.preview)


def cmd_export(args: argparse.Namespace) -> int:
    from ..export import export_onnx

    result = export_onnx(args.checkpoint, args.out_dir, name=args.name)
    print(f"wrote {result.onnx_path} and {result.checkpoint_path} (onnxruntime agrees with torch: "
          f"max |logit difference| {result.max_abs_diff:.1e})")
    return 0
