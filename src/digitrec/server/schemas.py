"""What the API's answers look like, for the OpenAPI docs at /docs.

The handlers build their JSON directly (no per-request validation); these models only describe it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PredictionOut(BaseModel):
    digit: int = Field(description="the recognised digit, 0-9")
    confidence: float = Field(description="the model's probability for that digit, 0-1")
    probabilities: list[float] = Field(description="probabilities of the digits 0-9, summing to 1")
    preprocessed: str = Field(description="what the model saw: the 28x28 input as a PNG data URL")


class BatchItemOut(BaseModel):
    name: str = Field(description="the file name, or 'image N' for JSON items")
    digit: int | None = None
    confidence: float | None = None
    probabilities: list[float] | None = None
    preprocessed: str | None = None
    error: str | None = Field(None, description="why this image gave no answer (the others still do)")
    status: int | None = Field(None, description="the HTTP status this error would have on its own")


class BatchOut(BaseModel):
    results: list[BatchItemOut] = Field(description="one entry per image, in the order sent")


class HealthOut(BaseModel):
    status: str
    model: str


class ModelOut(BaseModel):
    name: str = Field(description="the architecture's name, e.g. digitnet-l")
    file: str = Field(description="the model file's name ('shipped' for the model that comes with digitrec)")
    test_accuracy: float | None = Field(description="measured accuracy on the MNIST test set, 0-1")
    metadata: dict[str, Any] = Field(description="the checkpoint's full metadata")


class ErrorOut(BaseModel):
    detail: str = Field(description="one line saying what was wrong and what to do")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "unreadable image, bad JSON or data URL, decompression bomb"},
    413: {"model": ErrorOut, "description": "body over the upload limit, or too many images"},
    415: {"model": ErrorOut, "description": "a batch in another form than multipart or JSON"},
    422: {"model": ErrorOut, "description": "no digit found: the image is blank or uniform"},
}

MODEL_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"model": ErrorOut, "description": "?model=NAME names no served model"}}


_PNG_URL = {"type": "string", "example": "data:image/png;base64,iVBORw0KGgo..."}
_FILE = {"type": "string", "format": "binary"}


def request_body(many: bool) -> dict[str, Any]:
    """The accepted body forms, hand-written because the handlers read the raw request themselves."""
    if many:
        multipart = {"type": "object", "properties": {"files": {"type": "array", "items": _FILE}},
                     "required": ["files"]}
        content = {
            "multipart/form-data": {"schema": multipart},
            "application/json": {"schema": {"type": "object", "required": ["images"],
                                            "properties": {"images": {"type": "array", "items": _PNG_URL}}}},
        }
    else:
        content = {
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": _FILE},
                                               "required": ["file"]}},
            "application/json": {"schema": {"type": "object", "required": ["image"],
                                            "properties": {"image": _PNG_URL}}},
            "image/*": {"schema": _FILE},
            "application/octet-stream": {"schema": _FILE},
        }
    return {"requestBody": {"required": True, "content": content}}
