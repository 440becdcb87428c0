"""The hand-written numpy image operations, each against a plain oracle: numpy's own functions, or the
textbook algorithm written out slowly."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from digitrec.imageops import (
    among,
    box_mean,
    component_boxes,
    label_components,
    median,
    morph,
    np_lower_quartile,
    np_median,
    pad,
    quantile_sorted,
    run_boxes,
    run_components,
    sample,
)

SHAPES = [(1, 1), (3, 7), (16, 16), (31, 5), (64, 65)]


def _random(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("widths", [((0, 0), (0, 0)), ((1, 2), (3, 0)), ((5, 5), (5, 5)), ((0, 7), (2, 1))])
def test_pad_is_np_pad(shape, widths):
    x = _random(shape)
    np.testing.assert_array_equal(pad(x, *widths), np.pad(x, widths))
    np.testing.assert_array_equal(pad(x, *widths, edge=True), np.pad(x, widths, mode="edge"))


def _box_mean_oracle(x: np.ndarray, r: int) -> np.ndarray:
    """Each pixel the mean of its (2r+1)x(2r+1) window over the edge-replicated image."""
    p = np.pad(x.astype(np.float64), r, mode="edge")
    out = np.zeros(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = p[i:i + 2 * r + 1, j:j + 2 * r + 1].mean()
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("r", [0, 1, 2, 3])
def test_box_mean_is_the_window_mean(shape, r):
    x = _random(shape, 1)
    np.testing.assert_allclose(box_mean(x, r), _box_mean_oracle(x, r), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 5, 64, 1001])
def test_median_and_quantiles_are_numpys(n):
    x = np.random.default_rng(n).integers(0, 5, n).astype(np.float32)  # many ties, like paper
    assert median(x) == np.sort(x)[n // 2]  # the upper median
    if n % 2:
        assert median(x) == np.median(x)
    s = np.sort(x)
    for q in (0.0, 0.001, 0.1, 0.5, 0.9, 0.999, 1.0):
        assert quantile_sorted(s, q) == pytest.approx(np.percentile(x, 100 * q), abs=1e-6)
    rows = np.sort(np.random.default_rng(0).random((4, n)), axis=1)  # along the last axis of a block grid
    np.testing.assert_allclose(quantile_sorted(rows, 0.25), np.percentile(rows, 25, axis=1))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 64, 1001, 1002])
def test_np_median_and_lower_quartile_are_numpys_to_the_bit(n):
    rng = np.random.default_rng(n)
    for x in (rng.random(n, dtype=np.float32), rng.integers(0, 5, n).astype(np.float32) / 3,
              rng.standard_normal(n).astype(np.float32) * 1e-30, rng.standard_normal(n)):
        assert np_median(x) == np.median(x)
        assert np_lower_quartile(x) == np.quantile(x, 0.25)


def test_sample_takes_every_kth_pixel():
    x = _random((300, 130))
    k = 300 // 64
    np.testing.assert_array_equal(sample(x), x[::k, ::k])
    assert sample(_random((40, 40))).shape == (40, 40)


def _bfs_labels(mask: np.ndarray) -> np.ndarray:
    """8-connected components by breadth-first search, numbered in order of each one's first pixel."""
    labels = np.zeros(mask.shape, np.int64)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        queue = deque([start])
        while queue:
            i, j = queue.popleft()
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    a, b = i + di, j + dj
                    if 0 <= a < mask.shape[0] and 0 <= b < mask.shape[1] and mask[a, b] and not labels[a, b]:
                        labels[a, b] = count
                        queue.append((a, b))
    return labels


@pytest.mark.parametrize("density", [0.0, 0.2, 0.45, 0.6, 1.0])
@pytest.mark.parametrize("shape", [(1, 1), (5, 9), (40, 40), (17, 63)])
def test_label_components_is_breadth_first_search(density, shape):
    mask = np.random.default_rng(int(density * 100)).random(shape) < density
    np.testing.assert_array_equal(label_components(mask), _bfs_labels(mask))


def test_label_components_on_a_spiral():
    """One long winding blob: the path through it is as long as the blob (the slow case for pointer jumping)."""
    mask = np.zeros((21, 21), bool)
    top, left, bottom, right = 0, 0, 20, 20
    while top <= bottom and left <= right:
        mask[top, left:right + 1] = mask[top:bottom + 1, right] = True
        mask[bottom, left:right + 1] = True
        mask[top + 2:bottom + 1, left] = True
        top, left, bottom, right = top + 2, left + 2, bottom - 2, right - 2
        if top <= bottom:
            mask[top - 1, left] = True
    np.testing.assert_array_equal(label_components(mask), _bfs_labels(mask))


@pytest.mark.parametrize("density", [0.0, 0.2, 0.45, 1.0])
@pytest.mark.parametrize("shape", [(1, 1), (5, 9), (40, 40), (17, 63)])
def test_boxes_from_runs_are_the_boxes_of_the_labels(density, shape):
    """Each piece's rows and columns (inclusive), from its runs as from the image of its labels, against
    the extent of the breadth-first search's pieces."""
    mask = np.random.default_rng(int(density * 100) + 1).random(shape) < density
    labels = _bfs_labels(mask)
    expected = [[-1, -1, -1, -1]] + [[ys.min(), ys.max(), xs.min(), xs.max()]
                                     for ys, xs in (np.nonzero(labels == k) for k in range(1, labels.max() + 1))]
    from_runs, from_labels = run_boxes(*run_components(mask)), component_boxes(labels)
    np.testing.assert_array_equal(from_runs, from_labels)
    np.testing.assert_array_equal(from_runs[1:], np.array(expected[1:]).reshape(-1, 4))


@pytest.mark.parametrize("wanted", [[], [0], [3], [2, 5], [1, 2, 3, 4], [1, 3, 5, 7, 9, 11], list(range(40)), [50]])
def test_among_is_np_isin(wanted):
    labels = np.random.default_rng(len(wanted)).integers(0, 30, (23, 41)).astype(np.int32)
    np.testing.assert_array_equal(among(labels, wanted), np.isin(labels, wanted))


def _morph_oracle(x: np.ndarray, radius: int) -> np.ndarray:
    """Repeated 3x3 maxima (or minima) over the edge-replicated image, alternating square and cross."""
    pick = np.max if radius > 0 else np.min
    square = np.ones((3, 3), bool)
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    for step in range(abs(radius)):
        window = square if step % 2 == 0 else cross
        p = np.pad(x, 1, mode="edge")
        x = np.array([[pick(p[i:i + 3, j:j + 3][window]) for j in range(x.shape[1])] for i in range(x.shape[0])],
                     dtype=x.dtype)
    return x


@pytest.mark.parametrize("radius", [-3, -1, 0, 1, 2, 4])
def test_morph_is_repeated_window_extrema(radius):
    x = _random((19, 23), 3)
    np.testing.assert_array_equal(morph(x, radius), _morph_oracle(x, radius))
