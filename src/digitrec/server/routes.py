"""The REST API: predict one image or a batch, health, and the model's metadata. `?model=NAME`
picks one of the served models (server/insight.py); without it, the first.

Handlers read the raw request (bodies.py) so that one endpoint takes every input form and the upload
limit holds while streaming. Decoding, preprocessing, inference and PNG encoding run in worker threads,
off the event loop, in the light or the heavy lane by what the images cost to decode (limits.py): more
threads than cores only fight over the GIL, and a full lane answers 503 rather than growing. The
recogniser is thread-safe, so concurrent requests cannot mix their answers.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from ..errors import DigitrecError
from .bodies import Item, read_items
from .encoding import prediction_json, reading_json
from .limits import HEAVY_BYTES, Lanes, price
from .schemas import MODEL_ERRORS, BatchOut, HealthOut, ModelOut, PredictionOut, ReadingOut, request_body

router = APIRouter(prefix="/api", tags=["api"])

# The HTTP status of each kind of user error; any other kind is a 400. A model that gives NaN for an
# image ("bad-model") cannot process it: 422, like an image with no digit.
STATUS = {"no-digit": 422, "too-large": 413, "unsupported": 415, "busy": 503, "bad-model": 422}


def error_status(err: DigitrecError) -> int:
    return STATUS.get(err.kind, 400)


MODEL_QUERY = Query(None, description="which served model answers (GET /api/models); default: the first")


def recognizer_for(request: Request, name: str | None) -> Any:
    """The served model called `name` (404 if there is none), or the default one for None."""
    served = request.app.state.recognizers
    if name is None:
        return request.app.state.recognizer
    if name not in served:
        raise HTTPException(404, f"no model named {name!r} is served; choose one of {', '.join(served)} "
                                 "(GET /api/models)")
    return served[name]


def model_name(recognizer: Any) -> str:
    """The architecture's name (e.g. digitnet-l) from the metadata, else the model file's name."""
    return (recognizer.metadata.get("model") or {}).get("name") or recognizer.name


@contextlib.contextmanager
def _body_budget(request: Request) -> Iterator[Callable[[int], None]]:
    """`hold(n)` for this request's body bytes, all given back when the request is done."""
    budget, ticket = request.app.state.bodies, []
    try:
        yield functools.partial(budget.hold, ticket)
    finally:
        budget.release(ticket)


_HEAVY = object()  # the light lane's answer for items too costly for it


async def recognise(request: Request, fn: Callable[[list[Item]], Any], items: list[Item]) -> Any:
    """fn(items) in a worker thread: the items are priced in the light lane, and run there, or in the
    heavy lane if decoding them costs more than HEAVY_BYTES. A user error becomes its HTTP status."""
    state = request.app.state
    if state.lanes is None:  # made on first use: its limiters belong to the running event loop
        state.lanes = Lanes(state.inference_threads)

    def light(items: list[Item]) -> Any:
        priced, cost = price(items)
        return (_HEAVY, priced) if cost > HEAVY_BYTES else fn(priced)

    try:
        answer = await state.lanes.run(False, light, items)
        if isinstance(answer, tuple) and answer[0] is _HEAVY:
            answer = await state.lanes.run(True, fn, answer[1])
    except DigitrecError as err:
        raise HTTPException(error_status(err), str(err)) from None
    return answer


async def answer_one(request: Request, fn: Callable[[str, bytes], dict[str, Any]]) -> JSONResponse:
    """The single-image endpoints: read one image from the body and answer fn(name, data)."""
    def one(items: list[Item]) -> dict[str, Any]:
        [(name, data)] = items
        if isinstance(data, DigitrecError):
            raise data
        return fn(name, data)

    with _body_budget(request) as hold:
        items = await read_items(request, request.app.state.max_upload_bytes, many=False, max_items=1, hold=hold)
        return JSONResponse(await recognise(request, one, items))


def _predict_batch(recognizer: Any, items: list[Item]) -> list[dict[str, Any]]:
    names = [name for name, _ in items]
    outcomes = recognizer.predict_many([data for _, data in items], names=names)
    return [{"name": name, "error": str(outcome), "status": error_status(outcome)}
            if isinstance(outcome, DigitrecError) else {"name": name, **prediction_json(outcome)}
            for name, outcome in zip(names, outcomes, strict=True)]


@router.post("/predict", response_model=PredictionOut, responses=MODEL_ERRORS, openapi_extra=request_body(False),
             summary="Recognise the digit in one image")
async def predict(request: Request, model: str | None = MODEL_QUERY) -> JSONResponse:
    """Send a multipart file, JSON `{"image": "data:image/png;base64,..."}` as a canvas exports it, or
    the image's raw bytes under any other Content-Type. Any polarity, size and position."""
    recognizer = recognizer_for(request, model)
    return await answer_one(request, lambda name, data: prediction_json(recognizer.predict(data, name=name)))


@router.post("/read", response_model=ReadingOut, responses=MODEL_ERRORS, openapi_extra=request_body(False),
             summary="Read the whole number in one image")
async def read(request: Request, model: str | None = MODEL_QUERY) -> JSONResponse:
    """The same input forms and limits as /api/predict. The answer holds the number (digits left to
    right, leading zeros kept; null when part of the ink is not a digit, with a `reason`), its
    confidence, and per digit its answer, confidence, box in input pixels and 28x28."""
    recognizer = recognizer_for(request, model)
    return await answer_one(request, lambda name, data: reading_json(recognizer.read(data, name=name)))


@router.post("/predict/batch", response_model=BatchOut, responses=MODEL_ERRORS, openapi_extra=request_body(True),
             summary="Recognise the digits in several images")
async def predict_batch(request: Request, model: str | None = MODEL_QUERY) -> JSONResponse:
    """Send several multipart files, or JSON `{"images": [data URL, ...]}`. Each image gets its own
    result or its own error; one bad image never fails the others."""
    recognizer = recognizer_for(request, model)
    with _body_budget(request) as hold:
        items = await read_items(request, request.app.state.max_upload_bytes, many=True,
                                 max_items=request.app.state.max_batch, hold=hold)
        return JSONResponse({"results": await recognise(request, lambda xs: _predict_batch(recognizer, xs), items)})


@router.get("/health", response_model=HealthOut, summary="Liveness check")
async def health(request: Request) -> dict[str, str]:
    return {"status": "ok", "model": model_name(request.app.state.recognizer)}


@router.get("/model", response_model=ModelOut, responses={404: MODEL_ERRORS[404]},
            summary="The served model and its measured accuracy")
async def model(request: Request, model: str | None = MODEL_QUERY) -> JSONResponse:
    recognizer = recognizer_for(request, model)
    metadata = recognizer.metadata
    accuracy = (metadata.get("metrics") or {}).get("test_acc")
    return JSONResponse({"name": model_name(recognizer), "file": recognizer.name, "test_accuracy": accuracy,
                         "metadata": metadata})
