"""What the API's answers look like, for the OpenAPI docs at /docs.

The handlers build their JSON directly (no per-request validation); these models only describe it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PredictionOut(BaseModel):
    digit: int | None = Field(description="the recognised digit, 0-9; null when the image is not one digit")
    verdict: str = Field(description="'digit', 'not-a-digit' or 'several-digits'")
    confidence: float | None = Field(None, description="the calibrated probability of that digit, 0-1 "
                                     "(with a digit only)")
    reason: str | None = Field(None, description="why there is no digit, in one sentence (without a digit only)")
    closest_digit: int | None = Field(None, description="the most probable digit all the same (without a digit)")
    closest_probability: float | None = Field(None, description="its probability (without a digit)")
    probabilities: list[float] = Field(description="calibrated probabilities of the digits 0-9, summing to 1")
    preprocessed: str = Field(description="what the model saw: the 28x28 input as a PNG data URL")


class DigitOut(BaseModel):
    digit: int | None = Field(description="the digit read, 0-9; null when this part is not a digit")
    confidence: float = Field(description="its calibrated probability, 0-1")
    box: list[int] = Field(description="[x0, y0, x1, y1] in the input image's pixels, x1 and y1 exclusive")
    preprocessed: str = Field(description="the 28x28 this digit became, as a PNG data URL")


class ReadingOut(BaseModel):
    number: str | None = Field(description="the digits left to right, leading zeros kept; null when part of "
                               "the ink is not a digit")
    confidence: float = Field(description="the whole number's confidence: the product of its digits'")
    digits: list[DigitOut] = Field(description="each digit, left to right")
    reason: str | None = Field(None, description="why there is no number, in one sentence")


class BatchItemOut(BaseModel):
    name: str = Field(description="the file name, or 'image N' for JSON items")
    digit: int | None = None
    verdict: str | None = None
    confidence: float | None = None
    reason: str | None = None
    closest_digit: int | None = None
    closest_probability: float | None = None
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
