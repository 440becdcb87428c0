"""The one exception type for errors meant for users.

Its message is a single line that names the input and says what to do. The CLI prints it and exits
non-zero; the server maps it to a 4xx answer. Any other exception is a bug.
"""


class DigitrecError(Exception):
    """A user-facing error: bad input, a missing file, an impossible option."""


class NoDigitError(DigitrecError):
    """The image holds no ink: it is blank or uniform, so there is no digit to recognise."""
