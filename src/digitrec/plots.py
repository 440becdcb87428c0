"""Matplotlib figures saved to PNG files (Agg backend: no screen needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
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


def save_sample_grid(path: str | Path, data_dir: str = "", count: int = 64, split: str = "train",
                     seed: int = 0) -> Path:
    """`digitrec show-data`: random MNIST samples with their labels."""
    from .data import load_mnist

    mnist = load_mnist(data_dir or None)
    images, labels = ((mnist.train_images, mnist.train_labels) if split == "train"
                      else (mnist.test_images, mnist.test_labels))
    chosen = np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False)
    return save_image_grid(images[chosen], [f"label {labels[i]}" for i in chosen], path, columns=8)
