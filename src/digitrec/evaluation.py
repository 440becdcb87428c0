"""Evaluation: loss and accuracy of a model on uint8 images, per-class metrics, the confusion matrix."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .config import MNIST_MEAN, MNIST_STD
from .layers import memory_format_of


def normalize(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) in 0..255 -> float32 normalised exactly as in training."""
    return (images_u8.float() * (1 / 255) - MNIST_MEAN) / MNIST_STD


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images_u8: torch.Tensor, bf16: bool = False,
                   batch_size: int = 256) -> torch.Tensor:
    """Float32 logits (N, 10) for uint8 images (N, 1, 28, 28) already on the model's device.
    Batches of 256 keep a conv net's activations cache-sized: digitnet evaluated the 10,000 test
    images in 1.3 s on 2 CPU cores, against 2.2 s in batches of 2,000."""
    was_training = model.training
    model.eval()
    memory_format = memory_format_of(model)
    outputs = []
    for start in range(0, len(images_u8), batch_size):
        batch = normalize(images_u8[start:start + batch_size]).contiguous(memory_format=memory_format)
        with torch.autocast(images_u8.device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs.append(model(batch).float())
    model.train(was_training)
    return torch.cat(outputs)


def loss_and_accuracy(model: torch.nn.Module, images_u8: torch.Tensor, labels: torch.Tensor,
                      bf16: bool = False) -> tuple[float, float]:
    logits = predict_logits(model, images_u8, bf16)
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return loss, accuracy


@dataclass(frozen=True)
class Report:
    accuracy: float
    loss: float
    confusion: np.ndarray  # (10, 10) counts, rows = true digit, columns = predicted digit
    predictions: np.ndarray  # (N,) predicted digits

    @property
    def precision(self) -> np.ndarray:
        return np.diag(self.confusion) / np.maximum(self.confusion.sum(axis=0), 1)

    @property
    def recall(self) -> np.ndarray:
        return np.diag(self.confusion) / np.maximum(self.confusion.sum(axis=1), 1)

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "errors": int(self.confusion.sum() - np.trace(self.confusion)),
            "count": int(self.confusion.sum()),
            "per_class": {str(d): {"precision": float(self.precision[d]), "recall": float(self.recall[d]),
                                   "support": int(self.confusion[d].sum())} for d in range(10)},
            "confusion_matrix": self.confusion.tolist(),
        }

    def to_text(self) -> str:
        lines = [f"accuracy {self.accuracy:.2%}  loss {self.loss:.4f}  "
                 f"errors {self.to_dict()['errors']} of {int(self.confusion.sum())}", "",
                 "digit  precision  recall  support"]
        for d in range(10):
            lines.append(f"{d:5d}  {self.precision[d]:9.2%}  {self.recall[d]:6.2%}  {int(self.confusion[d].sum()):7d}")
        lines += ["", "confusion matrix (rows: true digit, columns: predicted)",
                  "      " + "".join(f"{d:>6d}" for d in range(10))]
        for d in range(10):
            lines.append(f"{d:>6d}" + "".join(f"{c:>6d}" for c in self.confusion[d]))
        return "\n".join(lines)


def report(model: torch.nn.Module, images_u8: torch.Tensor, labels: torch.Tensor, bf16: bool = False) -> Report:
    logits = predict_logits(model, images_u8, bf16)
    predictions = logits.argmax(1)
    confusion = torch.zeros(10, 10, dtype=torch.int64, device=labels.device)
    confusion.index_put_((labels, predictions), torch.ones_like(labels), accumulate=True)
    return Report(accuracy=(predictions == labels).float().mean().item(),
                  loss=F.cross_entropy(logits, labels).item(),
                  confusion=confusion.cpu().numpy(), predictions=predictions.cpu().numpy())


def run_evaluate(model_path: str | None, data_dir: str, as_json: bool, plots_dir: str | None,
                 device: str = "auto") -> int:
    """`digitrec evaluate`: print the test-set report of a checkpoint (default: the shipped model)."""
    from . import checkpoints, data
    from .devices import resolve_device

    dev = resolve_device(device)
    path = model_path or checkpoints.shipped_checkpoint()
    model, _ = checkpoints.load_model(path, dev)
    mnist = data.load_mnist(data_dir or None)
    images = torch.from_numpy(mnist.test_images).unsqueeze(1).to(dev)
    labels = torch.from_numpy(mnist.test_labels).long().to(dev)
    result = report(model, images, labels)
    if plots_dir:
        from .plots import save_confusion_matrix, save_misclassified

        out = Path(plots_dir)
        save_confusion_matrix(result.confusion, out / "confusion_matrix.png")
        save_misclassified(mnist.test_images, mnist.test_labels, result.predictions, out / "misclassified.png")
    if as_json:
        print(json.dumps({"model": str(path), **result.to_dict()}))
    else:
        print(f"model {path}\n{result.to_text()}")
        if plots_dir:
            print(f"plots written to {plots_dir}/confusion_matrix.png and misclassified.png")
    return 0
