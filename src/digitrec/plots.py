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


def save_curves(rows: list[dict], path: str | Path) -> Path:
    """Loss and accuracy per epoch, train and test (and validation when held out)."""
    plt = _pyplot()
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split, style in (("train", "o-"), ("val", "s--"), ("test", "^-")):
        if rows and rows[0].get(f"{split}_loss") is not None:
            ax_loss.plot(epochs, [r[f"{split}_loss"] for r in rows], style, label=split)
            ax_acc.plot(epochs, [100 * r[f"{split}_acc"] for r in rows], style, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
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
