"""The Python API: `Recognizer.load()` and `predict(x)` on a path, bytes, a PIL image or an array.

The shipped model runs in onnxruntime, so recognising a digit never imports torch. A user's
`.safetensors` checkpoint from `digitrec train` runs in torch; `digitrec export` turns it into an
`.onnx` file that runs here as fast as the shipped model (runtimes.py).

`predict_many` is the one implementation of "recognise what can be recognised and keep each
failure in its place": the CLI, the server and programs all use it. An input may arrive already
failed (a DigitrecError from reading it); it stays in its place.

Inference is thread-safe: a Recognizer holds no mutable state, and both runtimes allow concurrent
calls on one model. A big batch is split into chunks that run side by side, one core each, on the
recogniser's worker threads (`threads`, default one per core), which also preprocess many inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoints import shipped_checkpoint
from .errors import DigitrecError
from .images import ImageSource, describe
from .metadata import normalization_of, temperature_of
from .preprocess import as_mnist, to_mnist
from .runtimes import LayerInfo, Loaded, Probe, Runner, onnx_runner, torch_runner

CHUNK = 256  # images per inference call: large enough for full speed, small enough for memory


@dataclass(frozen=True)
class Prediction:
    """What the model answered for one image."""

    digit: int
    confidence: float  # the probability of `digit`
    probabilities: tuple[float, ...]  # 10 class probabilities summing to 1
    preprocessed: np.ndarray = field(repr=False, compare=False)  # (28, 28) uint8: what the model saw

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most probable digits with their probabilities, best first."""
        order = sorted(range(len(self.probabilities)), key=lambda d: -self.probabilities[d])
        return [(d, self.probabilities[d]) for d in order[:k]]

    def to_dict(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": self.confidence, "probabilities": list(self.probabilities)}


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Recognizer:
    """A digit recogniser: a model plus the one preprocessing path. Build it with `Recognizer.load`."""

    def __init__(self, run: Runner, metadata: dict[str, Any], name: str, workers: int = 1,
                 probe: Probe | None = None, layers: tuple[LayerInfo, ...] = ()):
        self._run = run
        self._probe = probe
        self.metadata = metadata
        self.name = name
        self.layers = layers  # the layers `activations` returns (none for an export without them)
        self.normalization = normalization_of(metadata)
        self.temperature = temperature_of(metadata)
        # Threads that run the chunks of one big batch side by side; they hold no state.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="digitrec") if workers > 1 else None

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int = 0) -> Recognizer:
        """The shipped model (path None), an `.onnx` export, or a `.safetensors` checkpoint (needs
        torch). `threads`: CPU threads for inference (0: one per available core)."""
        shipped = path is None
        if path is None:
            path = shipped_checkpoint().with_suffix(".onnx")  # its export, run without torch
            if not path.is_file():
                raise DigitrecError(str(path), "the shipped model is missing", "reinstall digitrec or pass a "
                                    "model with --model", kind="bad-model")
        path = Path(path)
        loaded: Loaded = (onnx_runner if path.suffix == ".onnx" else torch_runner)(str(path), threads)
        return cls(loaded.run, loaded.metadata, "shipped" if shipped else path.stem, loaded.workers, loaded.probe,
                   loaded.layers)

    def __repr__(self) -> str:
        return f"Recognizer({self.name!r}, model={self.metadata.get('model', {}).get('name', '?')!r})"

    def prepare(self, x: ImageSource, preprocess: bool = True, name: str | None = None) -> np.ndarray:
        """The (28, 28) uint8 image the model sees for input `x`."""
        return to_mnist(x, name=name) if preprocess else as_mnist(x, name=name)

    def logits(self, x28: np.ndarray) -> np.ndarray:
        """Raw logits (N, classes) of MNIST-form uint8 images (N, 28, 28), in chunks side by side."""
        parts = np.array_split(x28, -(-len(x28) // CHUNK))  # equal chunks of at most CHUNK images
        pool = self._pool if len(parts) > 1 else None

        def run(part: np.ndarray) -> np.ndarray:
            return self._run(self.normalization.from_uint8(part))

        logits = np.concatenate(list(pool.map(run, parts)) if pool else [run(p) for p in parts])
        if not np.isfinite(logits).all():
            raise DigitrecError(f"model {self.name}", "gave NaN or infinite outputs", "retrain or re-export it",
                                kind="bad-model")
        return logits

    def activations(self, x28: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(logits (N, classes), the activations (N, *layer.shape) of each of `self.layers`) of
        MNIST-form uint8 images (N, 28, 28), in one run; no activations for a model without them."""
        batch = self.normalization.from_uint8(x28)
        if self._probe is None:
            return self._run(batch), []
        return self._probe(batch)

    def classify(self, x28: np.ndarray) -> list[Prediction]:
        """Predictions for MNIST-form uint8 images (N, 28, 28), batched."""
        x28 = np.asarray(x28, dtype=np.uint8).reshape(-1, 28, 28)
        if not len(x28):
            return []
        # float64: the 10 probabilities sum to 1 exactly enough. The temperature calibrates them.
        probs = softmax(self.logits(x28)[:, :10].astype(np.float64) / self.temperature)
        return [Prediction(d, row[d], tuple(row), image)
                for d, row, image in zip(probs.argmax(1).tolist(), probs.tolist(), x28, strict=True)]

    def predict(self, x: ImageSource, preprocess: bool = True, name: str | None = None) -> Prediction:
        """Recognise one digit. Raises DigitrecError (kind "no-digit" for a blank image)."""
        return self.classify(self.prepare(x, preprocess, name))[0]

    def predict_batch(self, xs: Iterable[ImageSource] | np.ndarray, preprocess: bool = True) -> list[Prediction]:
        """Recognise many digits in batched inference; raises on the first unreadable input. An
        array (N, 28, 28) uint8 with preprocess=False goes straight to the model."""
        if isinstance(xs, np.ndarray) and not preprocess and xs.ndim == 3 and xs.shape[1:] == (28, 28):
            return self.classify(xs)
        images = self._map(lambda x: self.prepare(x, preprocess), list(xs))
        return self.classify(np.stack(images)) if images else []

    def predict_many(self, xs: Sequence[ImageSource | DigitrecError], preprocess: bool = True,
                     names: Sequence[str] | None = None) -> list[Prediction | DigitrecError]:
        """Like predict_batch, but an input that fails gives its DigitrecError in its place and every
        other input is still recognised. An input that is already a DigitrecError stays as it is.
        `names` label the inputs in error messages."""
        xs = list(xs)
        names = list(names) if names is not None else [describe(x) for x in xs]
        results = self._map(lambda item: self._attempt(item[0], preprocess, item[1]),
                            list(zip(xs, names, strict=True)))
        good = [i for i, r in enumerate(results) if isinstance(r, np.ndarray)]
        predictions = self.classify(np.stack([results[i] for i in good])) if good else []
        for i, prediction in zip(good, predictions, strict=True):
            results[i] = prediction
        return results

    def _attempt(self, x: ImageSource | DigitrecError, preprocess: bool, name: str) -> np.ndarray | DigitrecError:
        if isinstance(x, DigitrecError):
            return x.detached()
        try:
            return self.prepare(x, preprocess, name)
        except DigitrecError as err:
            return err.detached()  # no frames: they would keep this input's decoded pixels alive

    def _map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """fn over items, on the worker threads when there are several (decoding and numpy release
        the GIL: 1.5x faster preprocessing on 2 cores), in order."""
        if self._pool is None or len(items) < 2:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))
