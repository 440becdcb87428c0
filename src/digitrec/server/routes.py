"""The REST API: predict one image or a batch, health, and the model's metadata. `?model=NAME`
picks one of the served models (server/insight.py); without it, the first.

Handlers read the raw request (bodies.py) so that one endpoint takes every input form and the upload
limit holds while streaming. Decoding, preprocessing, inference and PNG encoding run in worker threads,
off the event loop, at most `inference_threads` at a time: more threads than cores only fight over the
GIL. The recogniser is thread-safe, so concurrent requests cannot mix their answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from ..errors import DigitrecError
from .bodies import read_items
from .encoding import prediction_json, reading_json
from .schemas import MODEL_ERRORS, BatchOut, HealthOut, ModelOut, PredictionOut, ReadingOut, request_body

router = APIRouter(prefix="/api", tags=["api"])

# The HTTP status of each kind of user error; any other kind is a 400.
STATUS = {"no-digit": 422, "too-large": 413, "unsupported": 415, "busy": 503}


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


async def _in_thread(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    state = request.app.state
    if state.limiter is None:  # made on first use: it belongs to the running event loop
        state.limiter = anyio.CapacityLimiter(state.inference_threads)
    return await anyio.to_thread.run_sync(fn, *args, limiter=state.limiter)


def _predict_one(recognizer: Any, name: str, data: bytes) -> dict[str, Any]:
    return prediction_json(recognizer.predict(data, name=name))


def _predict_batch(recognizer: Any, items: list[tuple[str, bytes | DigitrecError]]) -> list[dict[str, Any]]:
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
    state = request.app.state
    recognizer = recognizer_for(request, model)
    [(name, data)] = await read_items(request, state.max_upload_bytes, many=False, max_items=1)
    assert isinstance(data, bytes)  # single-image bodies raise on errors instead of returning them
    try:
        answer = await _in_thread(request, _predict_one, recognizer, name, data)
    except DigitrecError as err:
        raise HTTPException(error_status(err), str(err)) from None
    return JSONResponse(answer)


def _read_one(recognizer: Any, name: str, data: bytes) -> dict[str, Any]:
    return reading_json(recognizer.read(data, name=name))


@router.post("/read", response_model=ReadingOut, responses=MODEL_ERRORS, openapi_extra=request_body(False),
             summary="Read the whole number in one image")
async def read(request: Request, model: str | None = MODEL_QUERY) -> JSONResponse:
    """The same input forms and limits as /api/predict. The answer holds the number (digits left to
    right, leading zeros kept; null when part of the ink is not a digit, with a `reason`), its
    confidence, and per digit its answer, confidence, box in input pixels and 28x28."""
    state = request.app.state
    recognizer = recognizer_for(request, model)
    [(name, data)] = await read_items(request, state.max_upload_bytes, many=False, max_items=1)
    assert isinstance(data, bytes)  # single-image bodies raise on errors instead of returning them
    try:
        answer = await _in_thread(request, _read_one, recognizer, name, data)
    except DigitrecError as err:
        raise HTTPException(error_status(err), str(err)) from None
    return JSONResponse(answer)


@router.post("/predict/batch", response_model=BatchOut, responses=MODEL_ERRORS, openapi_extra=request_body(True),
             summary="Recognise the digits in several images")
async def predict_batch(request: Request, model: str | None = MODEL_QUERY) -> JSONResponse:
    """Send several multipart files, or JSON `{"images": [data URL, ...]}`. Each image gets its own
    result or its own error; one bad image never fails the others."""
    state = request.app.state
    recognizer = recognizer_for(request, model)
    items = await read_items(request, state.max_upload_bytes, many=True, max_items=state.max_batch)
    return JSONResponse({"results": await _in_thread(request, _predict_batch, recognizer, items)})


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
