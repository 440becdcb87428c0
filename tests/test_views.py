"""Views of one digit (`views.py`): a digit small in a big image is also read from its own region, at a
finer scale, and the model's surer reading of the two is the answer, where the whole image reads as a
digit at all."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from digitrec import Recognizer
from digitrec.views import _core, clearest, views
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


def test_a_blobs_bright_core_leaves_its_faint_printing_out() -> None:
    """An oracle for `_core`: a bright stroke standing on a long faint line, with a bright flag a few px off
    its top; and a far bright speck on the line, which is no part of the core."""
    blob = np.zeros((60, 200), np.float32)
    blob[40, 10:190] = 0.3  # a cell's faint wall
    blob[12:41, 100:104] = 1.0  # the digit's stem, down to the wall
    blob[8:11, 104:112] = 0.9  # its flag, 1 px apart
    blob[38:41, 180:183] = 1.0  # a speck of print on the wall, far off
    assert _core(blob) == (8, 40, 100, 111)


@pytest.mark.parametrize(("index", "label"), [(56, "6"), (51, "1")])
def test_a_small_digit_joined_to_faint_printing_is_read_from_its_core(index: int, label: str) -> None:
    """Photos of tuning seed 2: a 6 touching its cell in a row of cells photographed at a slant (the row
    stays, joined to it, and squashed with it into the 28x28), and a 1 beside a ruling's remnant. The
    bright core's region, looked at closer, is read first."""
    sample = make_digit("combined", index, seed=2)
    assert sample.label == label and Recognizer.load().predict(sample.data).digit == int(label)
