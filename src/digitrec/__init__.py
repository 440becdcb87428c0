"""digitrec: handwritten-digit recognition with PyTorch, done properly.

`from digitrec import Recognizer` is lazy: importing the package imports neither torch nor onnxruntime.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Recognizer", "Prediction", "DigitrecError", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Recognizer", "Prediction"):
        from . import recognizer

        return getattr(recognizer, name)
    if name == "DigitrecError":
        from .errors import DigitrecError

        return DigitrecError
    raise AttributeError(f"module 'digitrec' has no attribute {name!r}")
