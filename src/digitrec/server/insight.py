"""Several models in one server and the view inside one: `digitrec serve --model A --model B`,
`GET /api/models`, and `POST /api/explain`.

A served model is a checkpoint (.safetensors), an ONNX export, a run folder (its best.safetensors)
or `shipped`; `NAME=PATH` names it, otherwise it is named after its file, or after its folder when
the file has a generic name (runs/tutorial-mlp/best.safetensors is "tutorial-mlp"). The first one is
the default of every endpoint; `?model=NAME` picks another (`routes.recognizer_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..errors import DigitrecError
from .encoding import prediction_json
from .routes import MODEL_QUERY, answer_one, model_name, recognizer_for
from .schemas import MODEL_ERRORS, PredictionOut, request_body

router = APIRouter(prefix="/api", tags=["api"])

SHIPPED = "shipped"  # the --model value that names the model that comes with digitrec
GENERIC_STEMS = ("best", "last", "model")  # file names that say less than their folder's name
RUN_CHECKPOINT = "best.safetensors"  # the model of a run folder


# What the answers look like, for the OpenAPI docs (the handlers build their JSON directly).
class LayerOut(BaseModel):
    name: str = Field(description="the layer, e.g. conv2 or fc1: the ReLU output after that weighted layer")
    description: str = Field(description="what computes it from the previous shown layer")
    kind: str = Field(description="conv (a grid of feature maps) or dense (a strip of units)")
    shape: list[int] = Field(description="(channels, height, width) or (units,), per image")
    grid: list[int] = Field(description="(rows, columns) of tiles in the image")
    tile: list[int] = Field(description="(height, width) of one tile in px; tiles are 1 px apart for conv layers")
    max: float = Field(description="the largest activation, drawn white (0 is black)")
    image: str = Field(description="the activations as a PNG data URL, transparent between tiles")
    values: list[float] | None = Field(None, description="a dense layer's activations")


class ExplanationOut(PredictionOut):
    model: str = Field(description="the served model's name")
    saliency: list[list[float]] = Field(description="28 rows of 28 numbers >= 0 aligned with the 28x28: how much "
                                        "covering each pixel lowers the answer's log-odds")
    saliency_method: str
    layers: list[LayerOut] = Field(description="each ReLU's output, input to output; empty for an export "
                                   "without activation outputs")
    tutorial_preprocessing: PredictionOut | None = Field(
        None, description="with ?tutorial_preprocessing=true: the answer for the tutorials' 28x28 (grey, resized)")


class ServedModelOut(BaseModel):
    name: str = Field(description="what ?model=NAME takes")
    architecture: str
    file: str
    test_accuracy: float | None
    layers: list[dict[str, Any]] = Field(description="the layers /api/explain shows: name, description, shape")
    metadata: dict[str, Any]


class ModelsOut(BaseModel):
    default: str = Field(description="the model that answers without ?model=")
    models: list[ServedModelOut]


def model_specs(specs: Sequence[str]) -> list[tuple[str, str | None]]:
    """(name, path; None for the shipped model) for each --model value, in order; none: the shipped
    model alone. Two models with one name are refused."""
    chosen: list[tuple[str, str | None]] = []
    for spec in specs or [SHIPPED]:
        name, sep, path_text = str(spec).partition("=")
        if not sep or not name or "/" in name or not path_text:
            name, path_text = "", str(spec)
        if path_text == SHIPPED:
            chosen.append((name or SHIPPED, None))
            continue
        path = Path(path_text)
        if path.is_dir():
            path = path / RUN_CHECKPOINT
        default = path.parent.name if path.stem in GENERIC_STEMS and path.parent.name else path.stem
        chosen.append((name or default or str(path), str(path)))
    names = [name for name, _ in chosen]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise DigitrecError(f"--model {twice}", "two models have this name",
                            "name each one with NAME=PATH, e.g. --model cnn=runs/cnn/best.safetensors")
    return chosen


def load_recognizers(specs: Sequence[str], threads: int = 1) -> dict[str, Any]:
    """The Recognizer of each --model value by its name, in order (the first is the default)."""
    from ..recognizer import Recognizer

    chosen = model_specs(specs)
    for _, path in chosen:
        if path is not None and Path(path).name == RUN_CHECKPOINT and Path(path).parent.is_dir() \
                and not Path(path).exists():
            raise DigitrecError(str(Path(path).parent), f"is a folder without {RUN_CHECKPOINT}",
                                "pass a model file, or the folder of a training run", kind="unreadable")
    return {name: Recognizer.load(path, threads=threads) for name, path in chosen}


def model_summary(name: str, recognizer: Any) -> dict[str, Any]:
    """What the page shows of a model: its name, architecture, accuracy, layers, and its metadata."""
    metadata = recognizer.metadata
    return {"name": name, "architecture": model_name(recognizer), "file": recognizer.name,
            "test_accuracy": (metadata.get("metrics") or {}).get("test_acc"),
            "layers": [{"name": layer.name, "description": layer.description, "shape": list(layer.shape)}
                       for layer in recognizer.layers],
            "metadata": metadata}


@router.get("/models", response_model=ModelsOut, summary="The served models, the default first")
async def models(request: Request) -> JSONResponse:
    """Every model this server was started with (`digitrec serve --model A --model B`), by the name
    that `?model=NAME` takes, with its architecture, test accuracy, shown layers and metadata."""
    served = request.app.state.recognizers
    return JSONResponse({"default": next(iter(served)),
                         "models": [model_summary(name, r) for name, r in served.items()]})


def _explain_one(recognizer: Any, name: str, data: bytes, model: str, tutorial: bool) -> dict[str, Any]:
    from ..explain import explain

    explanation = explain(recognizer, data, tutorial=tutorial, name=name, model_name=model)
    answer = {**explanation.to_dict(), **prediction_json(explanation.prediction)}
    if explanation.tutorial is not None:
        answer["tutorial_preprocessing"] = prediction_json(explanation.tutorial)
    return answer


@router.post("/explain", response_model=ExplanationOut, responses=MODEL_ERRORS,
             openapi_extra=request_body(False), summary="Inside one model: activations and saliency")
async def explain(request: Request, model: str | None = MODEL_QUERY,
                  tutorial_preprocessing: bool = Query(False, description="also answer for the tutorials' "
                                                       "preprocessing (grey, resized to 28x28)")) -> JSONResponse:
    """The same inputs as /api/predict. Answers like /api/predict plus the saliency of each pixel of
    the 28x28 (occlusion: how much covering it lowers the answer's log-odds) and each layer's
    activations as a PNG (a grid of feature maps per convolutional stage, a strip for a dense layer)."""
    recognizer = recognizer_for(request, model)
    served = model or next(iter(request.app.state.recognizers))
    return await answer_one(request, lambda name, data: _explain_one(recognizer, name, data, served,
                                                                     tutorial_preprocessing))
