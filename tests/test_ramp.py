"""The ramp from ink contrast to ink: one ramp, hysteresis in photos, and a ramp per piece for numbers."""

from __future__ import annotations

import numpy as np

from digitrec.imageops import box_mean
from digitrec.ramp import HIGH, LOW, P_MIN, only_visible, per_piece, ramp

SIGMA = 0.005  # the paper's noise


def strokes(levels: list[float]) -> np.ndarray:
    """(60, 40 * len(levels)) ink: a 4 px wide upright bar per level, each that far above the paper."""
    ink = np.zeros((60, 40 * len(levels)), np.float32)
    for i, level in enumerate(levels):
        ink[10:50, 40 * i + 18:40 * i + 22] = level
    return ink


def test_one_ramp_maps_low_and_high_of_the_contrast_to_nothing_and_full_ink() -> None:
    ink = strokes([0.8, HIGH * 0.8, LOW * 0.8, (LOW + HIGH) / 2 * 0.8])
    out = ramp(ink.copy(), 0.8, SIGMA)
    assert out.dtype == np.float32 and out.max() == 1.0
    assert out[30, 20] == 1.0 and np.isclose(out[30, 60], 1.0) and np.isclose(out[30, 100], 0.0)
    assert np.isclose(out[30, 140], 0.5)


def test_a_pale_piece_is_ramped_against_its_own_contrast() -> None:
    """A digit written at under half its neighbour's contrast is full ink like it, where one ramp for
    the image leaves it a third of that; one paler than P_MIN of the darkest is ramped as one P_MIN
    as dark as the darkest."""
    pale, faint = 1.1 * P_MIN * 0.8, 0.5 * P_MIN * 0.8
    ink = strokes([0.8, pale, faint])
    smooth = box_mean(ink, 1)
    out = per_piece(ink, smooth, smooth > 0.05, 0.8, SIGMA)
    assert out[30, 20] == 1.0 and out[30, 60] == 1.0
    assert ramp(ink.copy(), 0.8, SIGMA)[30, 60] < 0.4
    assert np.isclose(out[30, 100], (faint - LOW * P_MIN * 0.8) / ((HIGH - LOW) * P_MIN * 0.8))


def test_pieces_with_no_visible_pixel_are_left_out() -> None:
    ink = strokes([0.8, 0.3])
    smooth = box_mean(ink, 1)
    visible = smooth > 0.5  # the pale bar never reaches it
    assert per_piece(ink, smooth, visible, 0.8, SIGMA)[:, 40:].max() == 0.0
    assert only_visible(ramp(ink.copy(), 0.3, SIGMA), visible)[:, 40:].max() == 0.0


def test_hysteresis_keeps_the_faint_end_of_a_visible_stroke_and_drops_lone_specks() -> None:
    ink = np.zeros((40, 80), np.float32)
    ink[5:35, 10:14] = 0.8  # a stroke...
    ink[35:39, 10:14] = 0.3  # ...and its faint end, joined to it
    ink[20, 50] = ink[10, 70] = 0.4  # a grid's crossings: single pixels
    smooth = box_mean(ink, 1)
    out = only_visible(ramp(ink.copy(), 0.8, SIGMA), smooth > 0.3)
    assert out[37, 12] > 0 and out[20, 50] == 0 and out[10, 70] == 0


def test_pieces_as_dark_as_each_other_are_ramped_as_one_image() -> None:
    """A web pad's digits, each as dark as the darkest within EVEN, take the image's own ramp exactly."""
    ink = strokes([0.8, 0.799, 0.8])
    smooth = box_mean(ink, 1)
    assert np.array_equal(per_piece(ink.copy(), smooth, smooth > 0.05, 0.8, SIGMA), ramp(ink.copy(), 0.8, SIGMA))
