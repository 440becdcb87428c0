"""Views of one digit (`views.py`): a digit small in a big image is also read from its own region, at a
finer scale, and the model's surer reading of the two is the answer, where the whole image reads as a
digit at all."""

from __future__ import annotations

from types import SimpleNamespace

from PIL import Image

from digitrec import Recognizer
from digitrec.views import clearest, views
from fixtures import encode, font_digit, photo_of_paper, write_on
from synth import make_digit


def test_a_drawing_has_one_view() -> None:
    canvas = Image.new("L", (280, 280), 255)
    canvas.paste(font_digit(4, size=200), (40, 40))
    [(x28, several)] = views(encode(canvas))
    assert x28.shape == (28, 28) and not several


def test_a_small_digit_in_a_big_photo_is_seen_closer_too() -> None:
    photo = write_on(photo_of_paper(seed=2), 3, 180, (900, 600), colour=(40, 40, 45))
    shown = views(encode(photo, "JPEG", quality=85))
    assert len(shown) == 2 and all(x28.shape == (28, 28) and not several for x28, several in shown)


def test_a_closer_look_tells_which_digit_not_whether_one() -> None:
    def read(digit: bool, confidence: float) -> SimpleNamespace:
        return SimpleNamespace(is_digit=digit, confidence=confidence)

    assert clearest([read(True, 0.6), read(True, 0.9)]) == 1
    assert clearest([read(True, 0.95), read(True, 0.9)]) == 0
    assert clearest([read(True, 0.6), read(False, 0.99)]) == 0
    assert clearest([read(False, 0.4), read(True, 0.99)]) == 0  # a non-digit gets no second chance


def test_a_small_8_in_a_photo_is_read_from_its_region() -> None:
    """Photo 69 of seed 0: a small 8 in a 2000-px photo, which the whole image, reduced to 512 px, shows
    as a 2 with its strokes blurred together. Read alone, as `read` reads a lone digit, it is an 8."""
    recognizer = Recognizer.load()
    sample = make_digit("photo", 68, seed=0)
    assert sample.label == "8"
    assert recognizer.predict(sample.data).digit == 8 and recognizer.read(sample.data).number == "8"
