"""Views of one digit for the model to choose from: the whole image's, and, for a digit small in a big
image, its own region found again at a finer scale.

A big image (a phone photo) is analysed at `ink.WORK_SIDE`, where a digit of a tenth of the frame is
a few dozen pixels with its strokes blurred together by the reduction and the denoising: a 3 can
become a 9. Its region, cut from the full-resolution image and analysed on its own, shows the strokes
apart, but loses what the whole frame told (the paper's lines and lighting beyond the region). Neither
view is better everywhere: the model reads both, and the surer reading wins where the whole image
reads as a digit (`clearest`). Measured on the realistic digits at 100 per condition (1,100 each):
seed 0 from 95.18% to 95.36%, seed 1 from 95.27% to 95.36%, seed 2 from 94.00% to 94.36%, every change
a photo's; as many non-digits and blank pages refused on all three, and the numbers of seeds 0 and 1
read as before. Letting a closer view also
overturn a "not a digit" gained one more digit of seed 0 and let seven of its 1,000 non-digits pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from .errors import DigitrecError
from .images import ImageSource, describe, load_image
from .ink import Ink, find_ink
from .preprocess import Selection, digit_ink, ink_form, select_digit

SMALL = 0.25  # a digit under this fraction of a reduced image's longest side is looked at again
MARGIN = 0.5  # ...in its region grown by this fraction of its size on each side


def views(source: ImageSource, name: str | None = None, ink: Ink | None = None) -> list[Selection]:
    """(the 28x28, `select_digit`'s verdict on the ink beside the digit) of each view of one image: first
    the whole image's (`preprocess.analyse`), then, where that sees one small digit, its region's (which
    holds that digit alone). `ink`: the image's ink map at WORK_SIDE, where it is found already."""
    name = name or describe(source)
    image = source if isinstance(source, Image.Image) else load_image(source, name=name)
    ink = ink or digit_ink(image, name)
    whole = ink_form(ink, name)
    if whole[1]:  # several digits, or a dot under one stroke: no one digit to look closer at
        return [whole]
    try:
        closer = _closer(image, ink, name)
        return [whole] if closer is None else [whole, (ink_form(closer, name)[0], None)]
    except DigitrecError:  # nothing digit-like in the region alone
        return [whole]


def clearest(predictions: Sequence[object]) -> int:
    """The index of the view read most surely as a digit (Predictions, one per view, the whole image's
    first), where the whole image reads as one; else 0. A closer look may tell which digit it is, not
    whether it is one: two looks would give a non-digit two chances to pass."""
    sure = [p.confidence if p.is_digit else 0.0 for p in predictions]  # type: ignore[attr-defined]
    return int(np.argmax(sure)) if sure[0] > 0 else 0


def _closer(image: Image.Image, ink: Ink, name: str) -> Ink | None:
    """The ink of the region around a digit under SMALL of a reduced image, at up to full resolution."""
    if ink.scale < 2:
        return None
    chosen, _ = select_digit(ink.map)  # never empty: the whole image's view was made from it
    rows, cols = np.flatnonzero(chosen.any(1)), np.flatnonzero(chosen.any(0))
    h, w = int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
    if max(h, w) > SMALL * max(ink.map.shape):
        return None
    s, dy, dx = int(ink.scale), round(MARGIN * h), round(MARGIN * w)  # a whole factor: 2 or more
    box = (max(0, (int(cols[0]) - dx) * s), max(0, (int(rows[0]) - dy) * s),
           min(image.width, (int(cols[-1]) + 1 + dx) * s), min(image.height, (int(rows[-1]) + 1 + dy) * s))
    return find_ink(image.crop(box), name)
