"""Inside one model, for one input: the 28x28 it saw, which pixels drove its answer (saliency.py),
what each layer made of the input, and what a tutorial's preprocessing would have handed it.

`explain(recognizer, image)` works for any Recognizer: the shipped ONNX model (its export holds the
activations as extra outputs, so no torch is imported) and torch checkpoints alike. The activations
shown are each ReLU's output (`probes.py`): a convolutional stage as a grid of feature maps, a fully
connected layer as a strip of units. `to_dict()` is the JSON of `POST /api/explain` and of
`digitrec explain --json`: images as PNG data URLs, which the page draws as they are.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from .images import ImageSource, encode_png, load_image
from .recognizer import Prediction
from .runtimes import LayerInfo
from .saliency import METHOD, occlusion

DENSE_COLUMNS = 64  # units per row of a fully connected layer's strip
GAP = 1  # px between the feature maps of a stage's grid


@dataclass(frozen=True)
class LayerView:
    """One shown layer's activations for this input."""

    info: LayerInfo
    values: np.ndarray  # float32 (*info.shape): ReLU outputs, >= 0

    @property
    def kind(self) -> str:
        return "conv" if len(self.info.shape) == 3 else "dense"


@dataclass(frozen=True)
class Explanation:
    model: str  # the name the model is known by (in the server: its --model name)
    prediction: Prediction  # the answer, its probabilities and the 28x28 the model saw
    saliency: np.ndarray  # (28, 28) float64 >= 0: drop in the answer's log-odds when covered
    layers: tuple[LayerView, ...]  # empty for an ONNX export without activation outputs
    tutorial: Prediction | None = None  # the answer for the tutorials' preprocessing, when asked

    def to_dict(self) -> dict[str, Any]:
        out = {"model": self.model, **self.prediction.to_dict(), "preprocessed": data_url(self.prediction.preprocessed),
               "saliency": np.round(self.saliency, 5).tolist(), "saliency_method": METHOD,
               "layers": [layer_json(layer) for layer in self.layers]}
        if self.tutorial is not None:
            out["tutorial_preprocessing"] = {**self.tutorial.to_dict(),
                                             "preprocessed": data_url(self.tutorial.preprocessed)}
        return out


def tutorial_preprocess(source: ImageSource, name: str | None = None) -> np.ndarray:
    """What MNIST tutorials do with "your own image": grey, squashed to 28x28, nothing else (no
    inversion to white on black, no cropping, no centring, no stroke width). uint8 (28, 28)."""
    return np.asarray(load_image(source, name=name).convert("L").resize((28, 28)), dtype=np.uint8)


def explain(recognizer: Any, source: ImageSource, preprocess: bool = True, tutorial: bool = False,
            name: str | None = None, model_name: str | None = None) -> Explanation:
    """The Explanation of `recognizer`'s answer for one image (DigitrecError as `predict` raises)."""
    x28 = recognizer.prepare(source, preprocess, name)
    prediction = recognizer.classify(x28[None])[0]
    _, activations = recognizer.activations(x28[None])
    layers = tuple(LayerView(info, values[0]) for info, values in zip(recognizer.layers, activations, strict=True))
    naive = recognizer.classify(tutorial_preprocess(source, name)[None])[0] if tutorial else None
    best = prediction.top(1)[0][0]  # the most probable digit, the answer's saliency
    return Explanation(model_name or recognizer.name, prediction, occlusion(recognizer, x28, best), layers, naive)


def grid_of(values: np.ndarray) -> tuple[int, int]:
    """(rows, columns) of the tiles `tile` lays out: a stage's feature maps 8 to a row (16 for more
    than 64 maps), a dense layer's units 64 to a row."""
    count = values.shape[0]
    columns = min(count, DENSE_COLUMNS if values.ndim == 1 else 8 if count <= 64 else 16)
    return math.ceil(count / columns), columns


def tile(values: np.ndarray) -> np.ndarray:
    """A layer's activations, (C, H, W) feature maps or (N,) units, as one 2-D float image with NaN
    between and after the tiles."""
    rows, columns = grid_of(values)
    if values.ndim == 1:
        grid = np.full(rows * columns, np.nan, dtype=np.float32)
        grid[:len(values)] = values
        return grid.reshape(rows, columns)
    channels, height, width = values.shape
    # Every map with a NaN row and column after it, NaN maps after the last: then the grid is a reshape.
    padded = np.full((rows * columns, height + GAP, width + GAP), np.nan, dtype=np.float32)
    padded[:channels, :height, :width] = values
    grid = padded.reshape(rows, columns, height + GAP, width + GAP).transpose(0, 2, 1, 3)
    return grid.reshape(rows * (height + GAP), columns * (width + GAP))[:-GAP, :-GAP]


def to_png(grid: np.ndarray, top: float) -> bytes:
    """A tiled layer as a grey PNG, black 0 to white `top`, with transparent gaps."""
    gaps = np.isnan(grid)
    grey = np.rint(np.clip(np.nan_to_num(grid) / top, 0, 1) * 255) if top > 0 else np.zeros(grid.shape)
    pixels = np.stack([grey.astype(np.uint8), np.where(gaps, 0, 255).astype(np.uint8)], axis=-1)
    buffer = io.BytesIO()
    # zlib's fastest level: these PNGs are a few kB either way, and level 6 took 1.6 ms each.
    Image.fromarray(pixels, "LA").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def data_url(image: np.ndarray) -> str:
    """A uint8 image as a PNG data URL (what /api/predict's "preprocessed" holds)."""
    return _url(encode_png(image))


def layer_json(layer: LayerView) -> dict[str, Any]:
    """A shown layer for the page: its name, what computes it, its shape, and its activations as a PNG
    (white: the layer's largest activation for this input, `max`)."""
    top = float(layer.values.max()) if layer.values.size else 0.0
    grid = tile(layer.values)
    out = {"name": layer.info.name, "description": layer.info.description, "kind": layer.kind,
           "shape": list(layer.info.shape), "grid": list(grid_of(layer.values)),
           "tile": list(layer.info.shape[1:]) if layer.kind == "conv" else [1, 1], "max": top,
           "image": _url(to_png(grid, top))}
    if layer.kind == "dense":
        out["values"] = np.round(layer.values.astype(np.float64), 4).tolist()
    return out

