"""What lies outside the paper in a photo goes, and writing in it or joined to it stays (`backdrop`)."""

from __future__ import annotations

import numpy as np

from digitrec.backdrop import outside_paper, soft_regions, standing_out
from digitrec.imageops import label_components


def test_a_stroke_written_into_a_shadow_stays() -> None:
    """A soft shadow (its darkness fading over tens of px) with a pen stroke inside it and joined to
    it: the shadow is shading, the stroke is writing."""
    y, x = np.mgrid[0:200, 0:200].astype(np.float32)
    ink = 0.2 * np.exp(-((x - 30) ** 2 + (y - 100) ** 2) / (2 * 35.0**2))
    ink[60:140, 48:51] += 0.12  # a pencil stroke, 3 px wide, where the shadow is still deep
    floor = 0.05
    mask = ink > floor
    labels = label_components(mask)
    assert labels.max() == 1  # shadow and stroke are one piece
    soft = soft_regions(ink, mask, labels, lambda: standing_out(ink, floor))
    assert soft[100, 20] and soft[100, 40]  # the shadow goes...
    assert not soft[70:130, 49].any()  # ...the stroke stays


def test_a_digit_written_up_to_the_desk_stays() -> None:
    """The desk, a solid region along the top, with a stroke running into it: only the desk goes."""
    mask = np.zeros((200, 300), bool)
    mask[:40] = True
    mask[40:55, 150:154] = True  # a 4 px stroke from the desk's edge down into the page
    out = outside_paper(mask, label_components(mask))
    assert out[:40].all()
    assert not out[42:].any()
