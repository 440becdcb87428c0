"""Colour, where the paper's lines and the pen differ in it: a pencil or blue stroke running along a
green grid line or a red margin is told from the line by its colour, not its darkness.

The gray ink map (`ink.py`) says how dark each pixel is. Here each pixel's chroma (two opponent
channels, red-green and yellow-blue, relative to the paper's own tint) says how much of the line's
colour it holds. Ink mixes subtractively: a gray pencil over a green line keeps the line's hue at a
lower chroma and adds darkness. So the share of a pixel's darkness that the line's colour explains is
its chroma's projection on the line's chroma times the line's darkness; what is left over is the
pen's. Computed only for RGB images that hold paper lines, at the ink map's resolution. numpy only.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from PIL import Image

APART = 0.08  # chroma distance (0..1 RGB units) from which a line's colour and the pen's differ
LEFT_OVER = 0.5  # a pixel whose darkness the line's colour leaves this fraction of the pen's unexplained holds pen,
SPREAD = 0.3  # ...beyond this fraction of the line's own darkness, by which its print varies along it
SAME_HUE = 0.8  # two chroma vectors this aligned (cosine) are one hue
PALER_COPY = 0.25  # writing holding this share of the line's colour, and no other, is the line's own remnant
# A box's side holds the box's colour: its median chroma, or ONE_PRINT_SHARE of its pixels at least, within
# ONE_PRINT of the box lines' (a side that a pen's stroke runs along holds it in part)
ONE_PRINT, ONE_PRINT_SHARE = APART / 2, 0.3  # ONE_PRINT: as near as `_apart`'s paler copy


class Colour:
    """The chroma of an RGB image at the ink map's resolution, computed on first use."""

    def __init__(self, image: Image.Image, factor: int, shape: tuple[int, int]) -> None:
        self.image, self.factor, self.shape = image, factor, shape

    @cached_property
    def chroma(self) -> np.ndarray | None:
        """(H, W, 2) float32: red minus green, and blue minus the mean of red and green, each minus the
        paper's (the median over the image); None when the reduced image does not match the ink map."""
        small = self.image.reduce(self.factor) if self.factor > 1 else self.image
        rgb = np.asarray(small, dtype=np.float32) / 255.0
        if rgb.shape[:2] != self.shape:
            return None
        c = np.stack([rgb[..., 0] - rgb[..., 1], rgb[..., 2] - (rgb[..., 0] + rgb[..., 1]) / 2], axis=-1)
        c -= np.median(c.reshape(-1, 2)[::7], axis=0)
        return c


def _apart(line: np.ndarray, written: np.ndarray, line_size: float, written_size: float) -> bool:
    """Whether a line's chroma and the writing's (their squared sizes given) are colours apart."""
    # The writing must be writing: darker than a line's remnants, and not a paler copy of the line's colour
    # (an empty coloured box's rounded corners are all that is left off its lines).
    k = float(written @ line) / max(line_size, 1e-12)
    paler_copy = k >= PALER_COPY and float(np.hypot(*(written - k * line))) < APART / 2
    # Two colours of one hue (a blue pen in a pale blue box) differ only in how deep they are, as a line's
    # own print does along it.
    coloured = min(line_size, written_size) >= APART**2
    one_hue = coloured and float(line @ written) >= SAME_HUE * np.sqrt(line_size * written_size)
    return float(np.hypot(*(line - written))) >= APART and not paler_copy and not one_hue


def _medians(colour: Colour | None, band: tuple[np.ndarray, np.ndarray], line_pixels: np.ndarray,
             writing: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The median chroma (2,) of a line's own pixels (`line_pixels` of its `band`) and of the `writing`
    (H, W) bool; None when there is no colour, or nothing of either."""
    chroma = colour.chroma if colour is not None else None
    if chroma is None or not line_pixels.any() or not writing.any():
        return None
    rows, cols = band
    return np.median(chroma[rows[line_pixels], cols[line_pixels]], axis=0), np.median(chroma[writing], axis=0)


class Hues:
    """Whether two of a list of lines may be one print, by colour: each line's own pixels (its `bands`'
    pixels in `mask`), their chroma measured when first asked."""

    def __init__(self, colour: Colour | None, bands: list[tuple[np.ndarray, np.ndarray]], mask: np.ndarray) -> None:
        self.colour, self.bands, self.mask = colour, bands, mask
        self.chromas: dict[int, np.ndarray] = {}

    def _chroma(self, i: int) -> np.ndarray:
        """(N, 2) the chroma of line i's own pixels."""
        if i not in self.chromas:
            rows, cols = self.bands[i]
            own = self.mask[rows, cols]
            self.chromas[i] = self.colour.chroma[rows[own], cols[own]]  # type: ignore[union-attr]
        return self.chromas[i]

    def alike(self, printed: int, other: int) -> bool:
        """Whether line `other` is printed, in part at least, in line `printed`'s colour (its median
        chroma): its own median chroma, or ONE_PRINT_SHARE of its pixels, within ONE_PRINT of that colour
        or of a paler copy of it. True where colour cannot tell. A pen's stroke taken for a box's side (a
        purple 8's side in a black box) holds none of the box's colour; a side with a pen's stroke along
        it still holds some; a thin side's pixels in a JPEG scatter, but their median stays."""
        if self.colour is None or self.colour.chroma is None:
            return True
        line, pixels = self._chroma(printed), self._chroma(other)
        if not len(line) or not len(pixels):
            return True
        hue = np.median(line, axis=0)
        return bool(_one_print(hue, np.median(pixels, axis=0)[None])[0]) or (
            float(_one_print(hue, pixels).mean()) >= ONE_PRINT_SHARE)


def _one_print(hue: np.ndarray, chromas: np.ndarray) -> np.ndarray:
    """(N,) whether each chroma (N, 2) lies within ONE_PRINT of `hue` (2,) or of a paler copy of it."""
    near = np.hypot(*(chromas - hue).T) < ONE_PRINT
    size = float(hue @ hue)
    if size >= ONE_PRINT**2:
        k = np.clip(chromas @ hue / size, 0, None)
        near |= (k >= PALER_COPY) & (np.hypot(*(chromas - k[:, None] * hue).T) < ONE_PRINT)
    return near


def differs(colour: Colour | None, band: tuple[np.ndarray, np.ndarray], line_pixels: np.ndarray,
            writing: np.ndarray) -> bool:
    """Whether a line (its `band`'s pixels, of which `line_pixels` are its own ink) is of another colour
    than the `writing` (H, W) bool: a red margin beside a blue or black pen. False when colour cannot tell."""
    medians = _medians(colour, band, line_pixels, writing)
    if medians is None:
        return False
    line, written = medians
    return _apart(line, written, float(line @ line), float(written @ written))


def pen_pixels(colour: Colour | None, ink: np.ndarray, band: tuple[np.ndarray, np.ndarray], line_pixels: np.ndarray,
               writing: np.ndarray, strength: float, pen: float) -> np.ndarray | None:
    """Which pixels of a line's `band` (rows, cols) hold the pen as well, judged by colour; None when
    colour cannot tell (no colour, or the line and the pen alike in it). `line_pixels`: which of the band's
    pixels are the line's own ink; `writing` (H, W) bool: the ink off every line; `strength` and `pen`:
    the line's and the pen's darkness in `ink`."""
    medians = _medians(colour, band, line_pixels, writing)
    if medians is None:
        return None
    line, written = medians
    chroma, (rows, cols) = colour.chroma, band
    line_size, written_size = float(line @ line), float(written @ written)  # squared chroma of each
    if not _apart(line, written, line_size, written_size) or pen < LEFT_OVER / 2 * strength:
        return None
    c, dark = chroma[rows, cols], ink[rows, cols]
    held = np.zeros(len(rows), bool)
    if line_size >= (APART / 2) ** 2:  # a coloured line: darkness its colour leaves unexplained
        share = np.clip(c @ line / line_size, 0, 1)  # how much of the line's colour each pixel holds
        held |= dark - share * strength >= LEFT_OVER * pen + SPREAD * strength
    if written_size >= APART**2:  # a coloured pen: its colour, nearer than the line's, on a gray line too
        nearer = np.square(c - written).sum(axis=1) < np.square(c - line).sum(axis=1)
        held |= nearer & (c @ written / written_size >= LEFT_OVER) & (dark >= LEFT_OVER * pen)
    return held
