"""Every figure digitrec draws, with matplotlib (Agg backend: no screen needed), saved atomically to PNG.

This is the one place that sets matplotlib up; it is imported only when a figure is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    import io

    from .fileio import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    fig.clf()
    _pyplot().close(fig)
    atomic_write(Path(path), buffer.getvalue())
    return Path(path)


# What each line of curves.png is: (metrics column, style, legend, what it measures). Train figures
# come from the training batches themselves (averaged while the weights change during the epoch);
# validation and test from the weights at the end of the epoch, on unaugmented images.
_LOSSES = (("train_clean_loss", "o-", "train",
            "train: plain cross-entropy on the {batches}, averaged during the epoch"),
           ("val_loss", "s--", "val", "val: plain cross-entropy on the held-out training images, end of epoch"),
           ("test_loss", "^-", "test", "test: plain cross-entropy on the 10,000 test images, end of epoch"))
_ACCURACIES = (("train_acc", "o-", "train ({batches}, during the epoch)"), ("val_acc", "s--", "val"),
               ("test_acc", "^-", "test"))


def _integer_epochs(*axes: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def save_curves(rows: list[dict], path: str | Path, objective: str = "the training loss",
                augmented: bool = False) -> Path:
    """Loss and accuracy per epoch: the plain cross-entropy of train, validation and test on one axis,
    where they are comparable; the training objective (`objective` names it: label smoothing or MSE
    make it another quantity) on an axis of its own; and accuracy. `augmented`: whether the training
    batches were augmented (the train figures come from them)."""
    plt = _pyplot()
    batches = "augmented training batches" if augmented else "training batches"
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_objective, ax_acc) = plt.subplots(1, 3, figsize=(15, 4.4))

    def column(key: str) -> list[float] | None:
        values = [r.get(key) for r in rows]
        return values if values and None not in values else None  # older runs lack train_clean_loss

    notes = []
    for key, style, legend, note in _LOSSES:
        if (values := column(key)) is not None:
            ax_loss.plot(epochs, values, style, label=legend)
            notes.append(note.format(batches=batches))
    for key, style, legend in _ACCURACIES:
        if (values := column(key)) is not None:
            ax_acc.plot(epochs, [100 * v for v in values], style, label=legend.format(batches=batches))
    if (values := column("train_loss")) is not None:
        ax_objective.plot(epochs, values, "o-", color="tab:purple", label="train")
    notes.append(f"objective: {objective}, on the {batches}; comparable with the test loss only when it is "
                 "plain cross-entropy")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss (plain cross-entropy: comparable)")
    ax_objective.set(xlabel="epoch", ylabel="training objective", title=f"what training minimised:\n{objective}")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_objective, ax_acc):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    _integer_epochs(ax_loss, ax_objective, ax_acc)
    fig.tight_layout()
    fig.text(0.01, 0.0, "\n".join(notes), fontsize=8, va="top")
    return _save(fig, path)


def save_confusion_matrix(confusion: np.ndarray, path: str | Path) -> Path:
    """The (10, 10) confusion matrix, rows true digits, columns predictions, off-diagonal counts highlighted."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    errors = confusion.copy()
    np.fill_diagonal(errors, 0)
    image = ax.imshow(errors, cmap="Reds")
    for (row, col), count in np.ndenumerate(confusion):
        ax.text(col, row, str(count), ha="center", va="center", fontsize=7,
                color="black" if row != col else "tab:blue")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit",
           title=f"confusion matrix ({int(errors.sum())} errors of {int(confusion.sum())})")
    fig.colorbar(image, ax=ax, label="errors")
    return _save(fig, path)


def save_image_grid(images: np.ndarray, titles: list[str], path: str | Path, columns: int = 10) -> Path:
    """A grid of (N, 28, 28) uint8 images, each with a short title."""
    plt = _pyplot()
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.25), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles, strict=False):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(title, fontsize=8)
    return _save(fig, path)


def save_misclassified(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                       path: str | Path, count: int = 50) -> Path:
    wrong = np.flatnonzero(predictions != labels)[:count]
    titles = [f"true {labels[i]} / pred {predictions[i]}" for i in wrong]
    return save_image_grid(images[wrong], titles, path)


def save_sample_grid(images: np.ndarray, labels: np.ndarray, path: str | Path, count: int = 64,
                     seed: int = 0) -> Path:
    """`digitrec show-data`: random samples of (N, 28, 28) images with their labels."""
    chosen = np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False)
    return save_image_grid(images[chosen], [f"label {labels[i]}" for i in chosen], path, columns=8)


def thumbnail(image: Image.Image, size: int = 256) -> Image.Image:
    """An RGB copy at most `size` px, transparent parts on a grey checkerboard so strokes of any
    colour stay visible."""
    from PIL import Image

    rgba = image.convert("RGBA")
    rgba.thumbnail((size, size))
    cells = (np.indices((rgba.height, rgba.width)) // 8).sum(0) % 2  # 8 px squares
    board = Image.fromarray(np.where(cells, 150, 200).astype(np.uint8)).convert("RGBA")
    return Image.alpha_composite(board, rgba).convert("RGB")


def save_inputs_figure(shown: Sequence[tuple[str, Image.Image, np.ndarray, str, bool]], path: str | Path,
                       title: str) -> Path:
    """Each input (a thumbnail) beside the 28x28 the model saw, titled with its answer (red when
    unsure). `shown`: (name, input image, 28x28 uint8, answer, sure) per input."""
    plt = _pyplot()
    per_row = 4  # (input, 28x28) pairs per row
    rows = max(1, -(-len(shown) // per_row))
    fig, axes = plt.subplots(rows, 2 * per_row, figsize=(2 * per_row * 1.5, rows * 1.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (name, image, x28, answer, sure) in enumerate(shown):
        left, right = axes[i // per_row, 2 * (i % per_row)], axes[i // per_row, 2 * (i % per_row) + 1]
        left.imshow(thumbnail(image))
        left.axis("on")  # a frame shows the canvas's extent
        left.set_xticks([])
        left.set_yticks([])
        left.set_title(name[:18], fontsize=7)
        right.imshow(x28, cmap="gray", vmin=0, vmax=255)
        right.set_title(answer, fontsize=9, color="black" if sure else "red")
    if not shown:
        axes[0, 0].set_title("nothing recognised")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def save_reliability(probabilities: np.ndarray, labels: np.ndarray, path: str | Path) -> Path:
    """A reliability diagram: accuracy against confidence per confidence bin, with the diagonal of
    perfect calibration and each bin's share of the images."""
    from .evaluation import expected_calibration_error, reliability

    plt = _pyplot()
    bins = reliability(probabilities, labels)
    fig, (ax, ax_count) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    ax.plot([b[0] for b in bins], [b[1] for b in bins], "o-", label="this model")
    ax.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.02),
           title=f"reliability (ECE {expected_calibration_error(probabilities, labels):.2%})")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    ax_count.bar([b[0] for b in bins], [b[2] / len(labels) for b in bins], width=0.05)
    ax_count.set(xlabel="confidence", ylabel="share of images", yscale="log")
    return _save(fig, path)


def save_readings_figure(shown: Sequence[tuple[str, Image.Image, Any]], path: str | Path) -> Path:
    """Each input with a box and the digit read drawn over each of its digits. `shown`: (name, image,
    reader.Reading) per input."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(shown) or 1, 1, figsize=(7, 2.2 * max(1, len(shown))), squeeze=False)
    for ax, (name, image, reading) in zip(axes[:, 0], shown, strict=False):
        ax.imshow(thumbnail(image, 1024 if image.width < 4096 else 512), extent=(0, image.width, image.height, 0))
        for d in reading.digits:
            x0, y0, x1, y1 = d.box
            colour = "tab:green" if d.verdict == "digit" else "tab:red"
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=colour, lw=1.5))
            ax.text(x0, y0, "?" if d.digit is None else str(d.digit), color=colour, fontsize=11,
                    va="bottom", weight="bold")
        ax.set_title(f"{name}: {reading.number if reading.number is not None else 'not a number'}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(shown):, 0]:
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def _saliency_panel(ax: Any, x28: np.ndarray, saliency: np.ndarray) -> None:
    """The 28x28 in grey with the saliency over it in red-yellow, strongest opaque."""
    ax.imshow(x28, cmap="gray", vmin=0, vmax=255)
    top = float(saliency.max())
    if top > 0:
        ax.imshow(np.ma.masked_where(saliency <= 0.02 * top, saliency), cmap="autumn_r", vmin=0, vmax=top, alpha=0.75)


def save_explanation(explanation: Any, image: Image.Image | None, path: str | Path) -> Path:
    """`digitrec explain`: the input, the 28x28 the model saw, the saliency over it, the tutorials'
    28x28 (when asked), the probabilities, and each shown layer's activations (explain.tile)."""
    from .explain import tile

    plt = _pyplot()
    p, naive = explanation.prediction, explanation.tutorial
    top_panels = ["input"] * (image is not None) + ["seen", "saliency"] + ["tutorial"] * (naive is not None)
    tiles = [tile(layer.values) for layer in explanation.layers]
    # Inches per layer row: its grid drawn about half the figure wide, plus its title.
    heights = [2.4] + [0.4 + min(max(5.5 * t.shape[0] / t.shape[1], 0.3), 2.2) for t in tiles]
    fig = plt.figure(figsize=(11, sum(heights)))
    grid = fig.add_gridspec(len(heights), len(top_panels) + 2, height_ratios=heights)
    axes = {name: fig.add_subplot(grid[0, i]) for i, name in enumerate(top_panels)}
    if image is not None:
        axes["input"].imshow(thumbnail(image))
        axes["input"].set_title("your image", fontsize=9)
    axes["seen"].imshow(p.preprocessed, cmap="gray", vmin=0, vmax=255)
    axes["seen"].set_title(f"what it saw: {p.summary()}", fontsize=9)
    _saliency_panel(axes["saliency"], p.preprocessed, explanation.saliency)
    axes["saliency"].set_title("saliency: the ink that\nmattered most", fontsize=9)
    if naive is not None:
        axes["tutorial"].imshow(naive.preprocessed, cmap="gray", vmin=0, vmax=255)
        axes["tutorial"].set_title(f"tutorial preprocessing:\n{naive.summary()}", fontsize=9,
                                   color="black" if naive.digit == p.digit else "red")
    bars = fig.add_subplot(grid[0, len(top_panels):])
    bars.barh(range(10), [100 * q for q in p.probabilities],
              color=["tab:blue" if d == p.closest_digit else "tab:gray" for d in range(10)])
    bars.set(yticks=range(10), xlim=(0, 100), xlabel="probability (%)", title="softmax output")
    bars.invert_yaxis()
    for ax in axes.values():
        ax.set_xticks([])
        ax.set_yticks([])
    cmap = plt.get_cmap("gray").with_extremes(bad="#d8d8d8")  # the gaps between feature maps
    for row, (layer, tiled) in enumerate(zip(explanation.layers, tiles, strict=True), start=1):
        ax = fig.add_subplot(grid[row, :])
        ax.imshow(tiled, cmap=cmap, vmin=0, vmax=max(float(layer.values.max()), 1e-9),
                  interpolation="nearest")
        ax.set_title(f"{layer.info.name} · {' x '.join(map(str, layer.info.shape))}: {layer.info.description}",
                     fontsize=9, loc="left")
        ax.axis("off")
    fig.suptitle(f"inside {explanation.model}: each layer's response to this input (white: its strongest)",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def save_comparison(runs: Sequence[Any], path: str | Path) -> Path:
    """`digitrec compare --out`: the test accuracy of each run per epoch and against wall time, and
    its test loss (plain cross-entropy), overlaid. `runs`: compare.RunSummary objects."""
    plt = _pyplot()
    fig, (ax_acc, ax_time, ax_loss) = plt.subplots(1, 3, figsize=(15, 4.6))
    for run in runs:
        epochs = [r["epoch"] for r in run.rows]
        label = f"{run.name} ({run.model})"
        ax_acc.plot(epochs, [100 * r["test_acc"] for r in run.rows], "o-", label=label)
        ax_time.plot([r["elapsed_seconds"] for r in run.rows], [100 * r["test_acc"] for r in run.rows], "o-",
                     label=label)
        ax_loss.plot(epochs, [r["test_loss"] for r in run.rows], "o-", label=label)
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy per epoch")
    ax_time.set(xlabel="seconds since the process started", ylabel="test accuracy (%)",
                title="test accuracy against wall time")
    ax_loss.set(xlabel="epoch", ylabel="test cross-entropy", title="test loss (plain cross-entropy)")
    for ax in (ax_acc, ax_time, ax_loss):
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    _integer_epochs(ax_acc, ax_loss)
    fig.tight_layout()
    return _save(fig, path)
