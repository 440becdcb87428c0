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
overturn a "not a digit" gained one more digit of seed 0 and let seven of its 1,000 non-digits pass
(measured again later: three digits of seeds 0 and 2 gained, nine non-digits passed, most of them one
digit of a pair).

A small digit may also come joined to faint printing that the whole image could not remove: a row of
cells photographed at a slant, a ruling's remnant. The blob is then far bigger than the digit and its
28x28 is a squashed row. Its bright core (the pen's strokes, at CORE of the blob's peak or more) is the
digit: where that core spans at most CORE_SPAN of the blob and holds CORE_HEFT of its heft, the core's
region, looked at closer, is the view read first, and the whole image's view second. A closer view's
paper lines are searched at a photo's skew (`ink.PHOTO_SKEW`): the region is a piece of a photo.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from .errors import DigitrecError
from .imageops import component_boxes, label_components
from .images import ImageSource, describe, load_image
from .ink import Ink, find_ink
from .preprocess import Selection, digit_ink, ink_form, select_digit
from .segment import Box

SMALL = 0.25  # a digit under this fraction of a reduced image's longest side is looked at again
MARGIN = 0.5  # ...in its region grown by this fraction of its size on each side
# A blob whose bright core (its ink at CORE of its peak or more) spans at most CORE_SPAN of it, under SMALL
# of the image, and holds CORE_HEFT of its heft (squared ink) is a small digit joined to faint printing.
# On tuning seeds 0 and 2 it read 2 more photographed digits of 2,200 and changed nothing else: without
# CORE_HEFT, a blank photo's grid lent its heaviest segment as a core, read as a 1 (5 of 800 blank pages).
CORE, CORE_SPAN, CORE_HEFT = 0.6, 0.4, 0.5


def views(source: ImageSource, name: str | None = None, ink: Ink | None = None) -> list[Selection]:
    """(the 28x28, `select_digit`'s verdict on the ink beside the digit) of each view of one image: first
    the whole image's (`preprocess.analyse`), then, where that sees one small digit, its region's (which
    holds that digit alone); a small bright core's region first, where the digit's blob is mostly faint
    printing (see the module). `ink`: the image's ink map at WORK_SIDE, where it is found already."""
    name = name or describe(source)
    image = source if isinstance(source, Image.Image) else load_image(source, name=name)
    ink = ink or digit_ink(image, name)
    whole = ink_form(ink, name)
    if whole[1]:  # several digits, or a dot under one stroke: no one digit to look closer at
        return [whole]
    try:
        closer, first = _closer(image, ink, name)
        if closer is None:
            return [whole]
        view = (ink_form(closer, name)[0], None)
        return [view, whole] if first else [whole, view]
    except DigitrecError:  # nothing digit-like in the region alone
        return [whole]


def clearest(predictions: Sequence[object]) -> int:
    """The index of the view read most surely as a digit (Predictions, one per view in `views`' order),
    where the first view reads as one; else 0. A second look may tell which digit it is, not whether it
    is one: two looks would give a non-digit two chances to pass."""
    sure = [p.confidence if p.is_digit else 0.0 for p in predictions]  # type: ignore[attr-defined]
    return int(np.argmax(sure)) if sure[0] > 0 else 0


def _closer(image: Image.Image, ink: Ink, name: str) -> tuple[Ink | None, bool]:
    """(the ink of the region around a digit under SMALL of a reduced image, at up to full resolution,
    or None; whether that region is a bright core's, whose view is read first)."""
    if ink.scale < 2:
        return None, False
    chosen, _ = select_digit(ink.map)  # never empty: the whole image's view was made from it
    blob = Box.around(chosen)
    y0, y1, x0, x1 = blob.y0, blob.y1, blob.x0, blob.x1
    limit, span = SMALL * max(ink.map.shape), max(y1 - y0, x1 - x0) + 1
    c0, c1, d0, d1 = _core(chosen)
    heft = np.square(chosen)
    core = (max(c1 - c0, d1 - d0) + 1 <= min(limit, CORE_SPAN * span)
            and heft[c0:c1 + 1, d0:d1 + 1].sum() >= CORE_HEFT * heft.sum())
    if core:
        y0, y1, x0, x1 = c0, c1, d0, d1
    elif span > limit:
        return None, False
    h, w = y1 - y0 + 1, x1 - x0 + 1
    s, dy, dx = int(ink.scale), round(MARGIN * h), round(MARGIN * w)  # a whole factor: 2 or more
    box = (max(0, (x0 - dx) * s), max(0, (y0 - dy) * s),
           min(image.width, (x1 + 1 + dx) * s), min(image.height, (y1 + 1 + dy) * s))
    return find_ink(image.crop(box), name, steep=True), core


def _core(chosen: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a blob's bright core: its heaviest piece of ink at CORE of its peak or more, and
    the bright pieces within a quarter of that piece's size of it (a 5's flag)."""
    labels = label_components(chosen >= CORE * chosen.max())
    boxes = component_boxes(labels)[1:]  # (y0, y1, x0, x1) per piece
    heft = np.bincount(labels.ravel(), weights=chosen.ravel())[1:]
    y0, y1, x0, x1 = boxes[int(np.argmax(heft))]
    reach = 0.25 * max(y1 - y0, x1 - x0)
    near = ((boxes[:, 0] <= y1 + reach) & (boxes[:, 1] >= y0 - reach)
            & (boxes[:, 2] <= x1 + reach) & (boxes[:, 3] >= x0 - reach))
    b = boxes[near]
    return int(b[:, 0].min()), int(b[:, 1].max()), int(b[:, 2].min()), int(b[:, 3].max())
