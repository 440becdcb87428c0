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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import reader
from .calibration import Calibration
from .checkpoints import shipped_checkpoint
from .errors import DigitrecError
from .images import ImageSource, describe
from .judgement import Judge, Verdict, may_hold_several, not_a_digit_probability, reason, steadied
from .malloc import tune_malloc
from .metadata import classes_of, normalization_of
from .preprocess import Selection, as_mnist
from .reader import ALIKE, Reading
from .runtimes import LayerInfo, Loaded, Probe, Runner, onnx_runner, torch_runner
from .views import clearest, views

CHUNK = 256  # images per inference call: large enough for full speed, small enough for memory


@dataclass(frozen=True)
class Prediction:
    """What the model answered for one image: a digit, or why not."""

    digit: int | None  # None when the image is not one digit
    confidence: float | None  # the calibrated probability of `digit`; None with it
    probabilities: tuple[float, ...]  # the 10 digits' calibrated probabilities, summing to 1
    preprocessed: np.ndarray = field(repr=False, compare=False)  # (28, 28) uint8: what the model saw
    verdict: Verdict = "digit"
    # The probability that it is not a digit (models with that output), as judged: steadied over one-pixel
    # shifts where the model's judgement is (`judgement.steadied`).
    not_a_digit: float | None = None

    @property
    def is_digit(self) -> bool:
        return self.verdict == "digit"

    @property
    def closest_digit(self) -> int:
        """The most probable digit, even when the image is not one."""
        return max(range(10), key=lambda d: self.probabilities[d])

    @property
    def closest_probability(self) -> float:
        return self.probabilities[self.closest_digit]

    @property
    def reason(self) -> str | None:
        return reason(self.verdict, self.closest_digit)

    def summary(self, digits: int = 0) -> str:
        """The answer in a few words: "7 (98%)", or "not a digit (closest: 8, 12%)"."""
        if self.is_digit:
            return f"{self.digit} ({self.confidence:.{digits}%})"
        words = "not a digit" if self.verdict == "not-a-digit" else "several digits"
        return f"{words} (closest: {self.closest_digit}, {self.closest_probability:.{digits}%})"

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most probable digits with their probabilities, best first."""
        order = sorted(range(len(self.probabilities)), key=lambda d: -self.probabilities[d])
        return [(d, self.probabilities[d]) for d in order[:k]]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digit": self.digit, "verdict": self.verdict}
        if self.is_digit:
            out["confidence"] = self.confidence
        else:
            out.update(reason=self.reason, closest_digit=self.closest_digit,
                       closest_probability=self.closest_probability)
        out["probabilities"] = list(self.probabilities)
        return out

    def refused(self, verdict: Verdict) -> Prediction:
        """This prediction, answered as not one digit."""
        return replace(self, digit=None, confidence=None, verdict=verdict)


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
        self.calibration = Calibration.of(metadata)
        self.temperature = self.calibration.temperature  # T for a usual image (see `calibration`)
        self.judge = Judge.of(metadata, classes_of(metadata))
        # Threads that run the chunks of one big batch side by side; they hold no state.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="digitrec") if workers > 1 else None
        tune_malloc()  # a recogniser serves many images: their arrays' memory is reused (`malloc`)

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
        """The (28, 28) uint8 image the model sees for input `x`: of several views of a small digit in a big
        image, the one it reads most surely (`views`)."""
        if not preprocess:
            return as_mnist(x, name=name)
        shown = [x28 for x28, _ in views(x, name)]
        return shown[clearest(self.classify(np.stack(shown)))] if len(shown) > 1 else shown[0]

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
        logits = self.logits(x28)
        probs = self.calibration.probabilities(logits)  # float64: the 10 sum to 1 exactly enough
        not_digit = not_a_digit_probability(logits)
        if not_digit is not None and self.judge.steadied:
            not_digit = steadied(x28, not_digit, self.logits)
        refused = self.judge.refuse(probs, not_digit)
        answers = []
        for i, (d, row, image) in enumerate(zip(probs.argmax(1).tolist(), probs.tolist(), x28, strict=True)):
            p = Prediction(d, row[d], tuple(row), image, not_a_digit=None if not_digit is None else float(not_digit[i]))
            answers.append(p.refused("not-a-digit") if refused[i] else p)
        return answers

    def predict(self, x: ImageSource, preprocess: bool = True, name: str | None = None) -> Prediction:
        """Recognise one digit, or say why it is none. Raises DigitrecError (kind "no-digit" for a blank
        image)."""
        [prediction] = self.predict_many([x], preprocess, [name or describe(x)])
        if isinstance(prediction, DigitrecError):
            raise prediction
        return prediction

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
        good = [i for i, r in enumerate(results) if not isinstance(r, DigitrecError)]
        shown = [x28 for i in good for x28, _ in results[i]]
        answers = self.classify(np.stack(shown)) if shown else []
        start = 0
        for i in good:
            # Of several views of one image, the one read most surely.
            seen = answers[start:start + len(results[i])]
            start += len(seen)
            whole, prediction = seen[0], seen[clearest(seen)]
            # Digits side by side, or an image that reads as a number of 2+ digits: one refused, or one as
            # wide as two digits squeezed into one that reads as digits alike in height, side by side. (As
            # the whole image shows them: a closer view holds one digit alone.)
            aside = results[i][0][1] or ("several-digits" if preprocess and (
                (not whole.is_digit and self._several_digits(xs[i], names[i]))
                or (may_hold_several(whole.preprocessed) and self._several_digits(xs[i], names[i], alike=True)))
                else None)
            results[i] = prediction.refused(aside) if aside else prediction
        return results

    def read(self, x: ImageSource, name: str | None = None) -> Reading:
        """Read the number in one image, left to right. Raises DigitrecError (kind "no-digit" when blank)."""
        [reading] = self.read_many([x], names=[name or describe(x)])
        if isinstance(reading, DigitrecError):
            raise reading
        return reading

    def read_many(self, xs: Sequence[ImageSource | DigitrecError],
                  names: Sequence[str] | None = None) -> list[Reading | DigitrecError]:
        """The number in each image, all their digits recognised in one batch; an input that fails
        gives its DigitrecError in its place."""
        xs = list(xs)
        names = list(names) if names is not None else [describe(x) for x in xs]

        def attempt(item: tuple[ImageSource | DigitrecError, str]) -> Any:
            if isinstance(item[0], DigitrecError):
                return item[0].detached()
            try:
                return reader.plan(item[0], item[1])
            except DigitrecError as err:
                return err.detached()

        plans = self._map(attempt, list(zip(xs, names, strict=True)))
        crops = [c for p in plans if not isinstance(p, DigitrecError)
                 for options in p.crops for option in options for c in option]
        predictions = self.classify(np.stack(crops)) if crops else []
        out: list[Reading | DigitrecError] = []
        start = 0
        for p in plans:
            if isinstance(p, DigitrecError):
                out.append(p)
                continue
            out.append(reader.assemble(p, lambda i, at=start: predictions[at + i]))
            start += sum(len(option) for options in p.crops for option in options)
        return self._as_predicted(xs, names, plans, out)

    def _as_predicted(self, xs: list[ImageSource | DigitrecError], names: list[str], plans: list[Any],
                      readings: list[Reading | DigitrecError]) -> list[Reading | DigitrecError]:
        """The readings, with each one that refuses a part read as `predict` reads the image where
        preprocessing sees one digit in it and the model reads that as a digit: one digit broken into
        parts that look like nothing (a 4 cut by a ruling line, a 5 and its flag), or found among a
        photo's speckle that `predict` drops. Not where two or more parts read as digits on their own:
        that is a number with a part that is not a digit (or a digit read too small), and one digit
        for it all would hide the number (a small "11oo86" in a photo, whose o's were refused, read "8")."""
        redo = [i for i, r in enumerate(readings) if isinstance(r, Reading) and r.number is None
                and sum(d.verdict == "digit" and not d.doubted for d in r.digits) < 2
                and not plans[i].choice()[1]]
        shown = self._map(lambda i: self._attempt(xs[i], True, names[i]), redo)
        one = [(i, seen) for i, seen in zip(redo, shown, strict=True)
               if not isinstance(seen, DigitrecError) and not seen[0][1]]
        answers = self.classify(np.stack([x28 for _, seen in one for x28, _ in seen])) if one else []
        start = 0
        for i, seen in one:  # of each image's views, the one read most surely, as `predict_many` takes it
            views_read = answers[start:start + len(seen)]
            start += len(seen)
            prediction = views_read[clearest(views_read)]
            if prediction.is_digit:
                readings[i] = reader.one_digit(plans[i], prediction)
        return readings

    def _several_digits(self, x: ImageSource, name: str, alike: bool = False) -> bool:
        """Whether an image reads as two or more digits; `alike`: digits level with the tallest and at
        least ALIKE of its height (not a sliver or a speck beside one digit)."""
        try:
            reading = self.read(x, name)
        except DigitrecError:
            return False
        if reading.number is None or len(reading.digits) < 2 or any(d.doubted for d in reading.digits):
            return False
        boxes = [d.box for d in reading.digits]  # x0, y0, x1, y1
        top, bottom = max(boxes, key=lambda b: b[3] - b[1])[1::2]
        return not alike or all(b[3] - b[1] >= ALIKE * (bottom - top)
                                and min(b[3], bottom) - max(b[1], top) >= 0.5 * (b[3] - b[1]) for b in boxes)

    def _attempt(self, x: ImageSource | DigitrecError, preprocess: bool,
                 name: str) -> list[Selection] | DigitrecError:
        """Per view of the image (`views`), (the 28x28, `select_digit`'s verdict on the ink beside the
        digit); or the error."""
        if isinstance(x, DigitrecError):
            return x.detached()
        try:
            return views(x, name) if preprocess else [(as_mnist(x, name=name), None)]
        except DigitrecError as err:
            return err.detached()  # no frames: they would keep this input's decoded pixels alive

    def _map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """fn over items, on the worker threads when there are several (decoding and numpy release
        the GIL: 1.5x faster preprocessing on 2 cores), in order."""
        if self._pool is None or len(items) < 2:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))
