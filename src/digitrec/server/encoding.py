"""Images in and out of JSON: data URLs from a canvas in, predictions with a 28x28 PNG out."""

from __future__ import annotations

import base64
import binascii
import io
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..errors import DigitrecError

if TYPE_CHECKING:
    import numpy as np

    from ..recognizer import Prediction


def decode_data_url(text: object, source: str) -> bytes:
    """The bytes of a `data:image/...;base64,...` URL (what canvas.toDataURL() gives) or of bare base64."""
    if not isinstance(text, str) or not text:
        raise DigitrecError(f"{source}: expected a base64 data URL string like 'data:image/png;base64,...'")
    payload = text
    if text.startswith("data:"):
        header, comma, payload = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise DigitrecError(f"{source}: not a base64 data URL; send 'data:image/png;base64,...'")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DigitrecError(f"{source}: invalid base64 in the data URL; send canvas.toDataURL('image/png')") from None
    if not data:
        raise DigitrecError(f"{source}: the data URL holds no bytes; send an image")
    return data


def encode_png_gray(image: np.ndarray) -> bytes:
    """A PNG of an (H, W) uint8 greyscale array."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def png_data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png_gray(image)).decode("ascii")


def prediction_json(prediction: Prediction) -> dict[str, Any]:
    """The API's answer for one image: the digit, its probability, all ten, and what the model saw."""
    return {
        "digit": int(prediction.digit),
        "confidence": float(prediction.confidence),
        "probabilities": [float(p) for p in prediction.probabilities],
        "preprocessed": png_data_url(prediction.preprocessed),
    }
