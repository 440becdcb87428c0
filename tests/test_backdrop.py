"""What lies outside the paper in a photo goes, and writing in it or joined to it stays (`backdrop`)."""

from __future__ import annotations

import numpy as np

from digitrec.backdrop import beyond_paper_edges, outside_paper, soft_regions, standing_out
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


def test_a_desk_along_two_sides_of_a_turned_page_goes_though_ruling_lines_join_it() -> None:
    """A page turned a little: the desk shows as a wedge down the left side and a strip along the
    bottom, one region with the ruling lines that run into it. It fills little of its box, but its solid
    part keeps to the border: it goes; the lines (removed later, as paper) and a digit stay."""
    h, w = 400, 600
    mask = np.zeros((h, w), bool)
    y, x = np.mgrid[0:h, 0:w]
    mask |= x < 6 + 0.05 * y  # the wedge: 6 px wide at the top, 26 at the bottom
    mask |= y >= h - 18  # the strip along the bottom
    for row in range(40, h - 30, 40):
        mask[row:row + 2, :] = True  # ruling lines, 2 px, joined to the wedge
    out = outside_paper(mask, label_components(mask))
    assert out[:, :5].all() and out[h - 15:].all()
    assert not out[40:42, 100:].any()
    # A digit's stroke crossing the ruling lines joins it too: then only the strips along the border go
    # (not the corner where they meet, nor the rows where a ruling line runs on from the wedge: their
    # runs from the border are a whole side long; the lines' ends go with them, as paper).
    mask[150:250, 290:300] = True
    out = outside_paper(mask, label_components(mask))
    ruled = (np.arange(h) % 40 < 2) & (np.arange(h) >= 40)
    assert out[:h - 30][~ruled[:h - 30], :5].all() and out[h - 15:, 40:].all()
    assert not out[150:250, 290:300].any() and not out[40:42, 100:].any()


def test_a_tight_crops_stroke_from_the_border_to_the_middle_stays() -> None:
    """A big tight crop of a 7: its bar runs along the top border, its stem down into the middle. Solid
    and long, but not keeping to the border: writing, not desk."""
    mask = np.zeros((600, 500), bool)
    mask[:40, 20:480] = True  # the bar
    for row in range(40, 600):
        col = 460 - int(0.5 * (row - 40))
        mask[row, col - 20:col + 20] = True  # the stem, down to the left
    mask[300:310, 50:60] = True  # a speck: ink besides it
    assert not outside_paper(mask, label_components(mask)).any()


def test_a_wedge_of_desk_down_one_side_goes() -> None:
    """The paper's edge runs down the image a little skewed, the desk beyond it a thin wedge along the
    right border: the wedge is the band of a line along the border, darker than the paper beside it."""
    h, w = 500, 700
    y, x = np.mgrid[0:h, 0:w]
    wedge = x >= w - 4 - 0.04 * y  # 4 px wide at the top, 24 at the bottom
    g = np.full((h, w), 0.8, np.float32)
    g[wedge] = 0.35
    g[200:260, 300:306] = 0.2  # a stroke on the page
    mask = g < 0.6
    edges = beyond_paper_edges(g, mask, label_components(mask))
    assert edges[wedge].mean() > 0.9 and not edges[200:260, 300:306].any()  # the rest: its rim, a px or two
    # A stroke along the border that reaches the middle is writing: a tight crop's 7, its bar at the top.
    g = np.full((h, w), 0.8, np.float32)
    g[:20, :] = 0.2
    for row in range(20, h):
        col = w - 40 - int(0.8 * (row - 20))
        g[row, col - 10:col + 10] = 0.2
    mask = g < 0.6
    assert not beyond_paper_edges(g, mask, label_components(mask)).any()
