"""`digitrec explain IMAGE` and `digitrec compare RUN_DIR...`: what they print and draw.

explain prints the answer, how much of the saliency lies on the ink, the layers shown and (when
asked) the tutorials' answer; `--json` prints what `POST /api/explain` answers. compare prints a
table of runs, or `--json`; a run folder that cannot be read gets its own error line and the exit
code 1, and every other run is still compared. Figures are written only after the work succeeded,
into a folder checked before it started.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import DigitrecError
from ..fileio import writable_dir

if TYPE_CHECKING:
    from ..explain import Explanation


def explanation_lines(path: str, explanation: Explanation) -> list[str]:
    from ..saliency import NEAR, PATCH, ink_share

    p = explanation.prediction
    top = ", ".join(f"{d} {q:.1%}" for d, q in p.top(3))
    share = ink_share(explanation.saliency, p.preprocessed)
    shown = ", ".join(f"{v.info.name} {'x'.join(map(str, v.info.shape))}" for v in explanation.layers)
    lines = [f"{path}: {p.summary(1)} by {explanation.model}  top 3: {top}",
             f"  saliency (occlusion by {PATCH}x{PATCH} squares): {share:.0%} of it on or within {NEAR} px of the ink",
             f"  layers: {shown or 'none in this model file (export it again with `digitrec export`)'}"]
    if explanation.tutorial is not None:
        naive = explanation.tutorial
        lines.append(f"  tutorial preprocessing (grey, resize to 28x28): {naive.summary(1)}")
    return lines


def _check_out(out: str | None, flag: str) -> None:
    if out:
        writable_dir(Path(out).resolve().parent, flag)


def run_explain(image: str, model: str | None = None, out: str | None = None, as_json: bool = False,
                tutorial: bool = False, preprocess: bool = True, stdout: TextIO | None = None,
                stderr: TextIO | None = None) -> int:
    """Explain the model's answer for IMAGE; print it, and draw it into `out`. Raises DigitrecError."""
    from ..explain import explain
    from ..images import load_image
    from ..recognizer import Recognizer

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    _check_out(out, "--out")
    explanation = explain(Recognizer.load(model), image, preprocess=preprocess, tutorial=tutorial, name=image,
                          model_name=str(model) if model else "shipped")
    if as_json:
        print(json.dumps({"path": image, **explanation.to_dict()}), file=stdout)
    else:
        print("\n".join(explanation_lines(image, explanation)), file=stdout)
    if out:
        from ..plots import save_explanation

        print(f"wrote {save_explanation(explanation, load_image(image, name=image), out)}", file=stderr)
    return 0


def run_compare(run_dirs: Sequence[str], as_json: bool = False, out: str | None = None,
                stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Compare the runs; 0, or 1 if any run folder could not be read."""
    from ..compare import read_runs, table

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    _check_out(out, "--out")
    results = read_runs(run_dirs)
    runs = [r for r in results if not isinstance(r, DigitrecError)]
    if as_json:
        print(json.dumps({"runs": [{"run": path, "error": r.detail()} if isinstance(r, DigitrecError) else r.to_dict()
                                   for path, r in zip(run_dirs, results, strict=True)]}), file=stdout)
    elif runs:
        print(table(runs), file=stdout)
    for err in results:
        if isinstance(err, DigitrecError):
            print(f"digitrec compare: error: {err}", file=stderr)
    if out and runs:
        from ..plots import save_comparison

        print(f"wrote {save_comparison(runs, out)}", file=stderr)
    return 0 if len(runs) == len(results) else 1
