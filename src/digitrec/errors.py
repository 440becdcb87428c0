"""Errors meant for users, as data: which input, what is wrong, what to do, and what kind of problem.

`DigitrecError` is the one exception type for users' mistakes and bad inputs. It carries its parts;
only the CLI (one line, non-zero exit) and the server (a 4xx or 503 chosen by `kind`) turn it into
text or a status code, and no code decides anything from the text. Any other exception is a bug.
An error holds strings only, so one kept for later (a failed input in a batch) holds no image.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal[
    "unreadable",  # the input cannot be read or decoded: empty, truncated, not an image, wrong shape
    "unsupported",  # a readable file of a kind digitrec refuses (EPS, PDF, a FIFO...)
    "too-large",  # over a size limit: bytes, pixels, a batch
    "no-digit",  # readable, but there is no ink: blank paper, an empty canvas
    "not-found",  # a file or folder that does not exist
    "bad-option",  # a flag, argument or setting out of range
    "bad-model",  # a model file that is not a valid digitrec model
    "bad-data",  # MNIST files that are missing, damaged or not the original
    "unwritable",  # an output path that cannot be written
    "network",  # a download that failed
    "busy",  # the server is saturated; try again
    "failed",  # a run that cannot go on (training diverged, a rank died)
]


class DigitrecError(Exception):
    """A user-facing error: `input` (a path, a flag, or None), `problem`, `hint` (what to do), `kind`."""

    def __init__(self, input: str | None, problem: str, hint: str = "", kind: Kind = "bad-option"):
        super().__init__(input, problem, hint, kind)  # args make it copyable and picklable
        self.input, self.problem, self.hint, self.kind = input, problem, hint, kind

    def __str__(self) -> str:
        text = f"{self.input}: {self.problem}" if self.input else self.problem
        return f"{text}; {self.hint}" if self.hint else text

    def detail(self) -> str:
        """The message without the input's name, for outputs that print the name themselves."""
        return f"{self.problem}; {self.hint}" if self.hint else self.problem

    def renamed(self, input: str | None) -> DigitrecError:
        """The same error about an input known by another name."""
        return DigitrecError(input, self.problem, self.hint, self.kind)

    def detached(self) -> DigitrecError:
        """This error without its traceback and context, so that keeping it keeps no frames alive
        (a frame can hold a decoded image of hundreds of megabytes)."""
        self.__traceback__ = self.__context__ = self.__cause__ = None
        return self


def option_error(flag: str, value: object, must: str) -> DigitrecError:
    """A bad value for a flag: `--lr -0.1: must be positive`."""
    return DigitrecError(f"{flag} {value}", f"must be {must}", kind="bad-option")
