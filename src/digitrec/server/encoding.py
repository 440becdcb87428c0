"""Images in and out of JSON: data URLs from a canvas in, predictions with a 28x28 PNG out."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from ..errors import DigitrecError
from ..images import encode_png

if TYPE_CHECKING:
    import numpy as np

    from ..reader import Reading
    from ..recognizer import Prediction


def decode_data_url(text: object, source: str) -> bytes:
    """The bytes of a `data:image/...;base64,...` URL (what canvas.toDataURL() gives) or of bare base64."""
    if not isinstance(text, str) or not text:
        raise DigitrecError(source, "expected a base64 data URL string", "send 'data:image/png;base64,...'",
                            kind="unreadable")
    payload = text
    if text.startswith("data:"):
        header, comma, payload = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise DigitrecError(source, "not a base64 data URL", "send 'data:image/png;base64,...'",
                                kind="unreadable")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DigitrecError(source, "invalid base64 in the data URL", "send canvas.toDataURL('image/png')",
                            kind="unreadable") from None
    if not data:
        raise DigitrecError(source, "the data URL holds no bytes", "send an image", kind="unreadable")
    return data


def png_data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def prediction_json(prediction: Prediction) -> dict[str, Any]:
    """The API's answer for one image: the digit and its probability (or why there is none), all ten
    probabilities, and what the model saw. The same keys as `digitrec predict --json`, plus the 28x28."""
    return {**prediction.to_dict(), "preprocessed": png_data_url(prediction.preprocessed)}


def reading_json(reading: Reading) -> dict[str, Any]:
    """The API's answer for a number: the same keys as `digitrec read --json`, plus each digit's 28x28."""
    out = reading.to_dict()
    for digit, entry in zip(reading.digits, out["digits"], strict=True):
        entry["preprocessed"] = png_data_url(digit.preprocessed)
    return out
