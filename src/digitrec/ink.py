"""From any image to an ink map: where the writing is, 0 (paper) to 1 (full ink), at analysis resolution.

This is the shared first half of recognition: `preprocess` turns an ink map into one MNIST-form
digit, `segment` into the digits of a number. From the image's gray plane at WORK_SIDE (`gray`,
transparency composited), it decides the polarity from the image itself, flattens uneven lighting
and paper texture, and measures the ink against the paper's own noise, so a blank page is reported
as blank. numpy and Pillow only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache, partial

import numpy as np
from PIL import Image

from .backdrop import beyond_paper_edges, outside_paper, soft_regions, standing_out, written_across, written_inside
from .colour import Colour
from .gray import gray_of
from .imageops import box_mean, label_components, median, pad, quantile_sorted, sample, sampled_box_mean
from .lines import MAX_SKEW, PHOTO_SKEW
from .paper import remove_lines
from .ramp import only_visible, per_piece, ramp

WORK_SIDE = 512  # px: larger images are box-averaged down to this longest side before analysis
MIN_SIDE = 64  # px: smaller ones are enlarged (bicubic, by a whole factor) to at least this
BLOCKS = 8  # the lighting estimate is a BLOCKS x BLOCKS grid of local paper levels
MIN_CONTRAST = 0.1  # ink must differ from the paper by at least 10% of full scale...
NOISE_FACTOR = 8.0  # ...and by this many standard deviations of the paper's (3x3-averaged) noise
AMBIGUOUS = 0.15  # a median tone this close (a fraction of the tones' range) to their middle decides no polarity
BORDER = 0.1  # the outer tenth of each side: mostly paper, even where a tight crop's thick digit is most of the image
MINORITY = 0.25  # the lowest quarter of an ink map spanning this fraction of its range is ink too


@dataclass(frozen=True)
class Ink:
    """An ink map (H, W) float32 in 0..1 and how it maps back onto the input image."""

    map: np.ndarray
    scale: float  # input pixels per ink-map pixel along each axis (under 1 for an enlarged tiny image)
    denoise_radius: int  # px of box blur applied to the map (it widens the ink by this much)
    pieces: bool = False  # each piece ramped against its own contrast (`ramp.per_piece`), not the darkest's


def background(x: np.ndarray, grid: int = BLOCKS) -> np.ndarray:
    """The local paper level of `x` (ink bright): a low percentile per block of a grid x grid of
    blocks, taken over each block's neighbours, interpolated smoothly."""
    h, w = x.shape
    b = max(2, math.ceil(max(h, w) / grid))
    gh, gw = math.ceil(h / b), math.ceil(w / b)
    padded = x if (gh * b, gw * b) == (h, w) else pad(x, (0, gh * b - h), (0, gw * b - w), edge=True)
    # Every s-th pixel of a block along both axes, at most about 16x16 of them: plenty for the
    # percentile of the paper, and sorting them all took most of the time on big images.
    s = max(1, b // 16)
    blocks = np.sort(padded.reshape(gh, b, gw, b)[:, ::s, :, ::s].transpose(0, 2, 1, 3).reshape(gh, gw, -1))
    low = quantile_sorted(blocks, 0.1).astype(np.float32)
    p = pad(low, (1, 1), (1, 1), edge=True)
    # Each block's level is its neighbourhood's: the minimum on coarse grids (a block wholly inside a
    # marker's thick stroke has no paper), the median on fine ones (a shadow's edge must be followed).
    pick = np.min if grid <= BLOCKS else np.median
    low = pick([p[i:i + gh, j:j + gw] for i in range(3) for j in range(3)], axis=0).astype(np.float32)
    # Pillow's BILINEAR resize by b (to (gw * b, gh * b)) cropped to (h, w), 2.5x faster; and no
    # matrix product, whose BLAS threads would spin on the other core.
    iy, jy, fy = _interpolation(gh, b, h)
    rows = low[iy] + fy[:, None] * (low[jy] - low[iy])
    ix, _, fx = _interpolation(gw, b, w)
    # (h, w). ix never decreases, so the gathers rows[:, ix] are repeats (2.5x faster), and so are the
    # differences to the next column's, rows[:, min(ix + 1, gw - 1)] - rows[:, ix], taken between the
    # (h, gw) columns before they are repeated.
    groups = np.bincount(ix, minlength=gw)
    out = np.repeat(rows[:, np.minimum(np.arange(1, gw + 1), gw - 1)] - rows, groups, axis=1)
    out *= fx
    out += np.repeat(rows, groups, axis=1)
    return out


@lru_cache(maxsize=32)  # the same few image sizes recur (a page's canvas): 10 us per call saved
def _interpolation(n: int, b: int, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the first `keep` of n * b samples upscaled from n: the input pixels i and j each lies
    between and the weight of j, pixel centres aligned and edge pixels held, as Pillow does. Read-only:
    the arrays are shared between calls."""
    at = (np.arange(keep, dtype=np.float32) + 0.5) / b - 0.5  # in input pixel coordinates
    # np.minimum/np.maximum, not np.clip: a fifth of its cost on these small arrays, the same values.
    i = np.minimum(np.maximum(np.floor(at), 0), n - 1).astype(np.intp)
    out = i, np.minimum(i + 1, n - 1), np.minimum(np.maximum(at - i, 0), 1).astype(np.float32)
    for a in out:
        a.flags.writeable = False
    return out


def raw_ink(g: np.ndarray, blocks: int = BLOCKS, photo: bool = False) -> np.ndarray:
    """How much darker (or, for light ink, brighter) than the local paper each pixel of a gray image
    is: paper 0, ink positive, relative to the paper's own brightness, denoised."""
    light = sampled_box_mean(g, 1)  # the 3x3 means at the pixels `sample` takes: all that is used of them
    levels = np.sort(light, axis=None)
    typical, lo, hi = levels[levels.size // 2], quantile_sorted(levels, 0.001), quantile_sorted(levels, 0.999)
    if max(typical - lo, hi - typical) < MIN_CONTRAST:  # ink on under 0.1% of the image: use extremes
        every = box_mean(g, 1)
        lo, hi = float(every.min()), float(every.max())
    elif photo:  # a small digit's strokes fall between the sampled pixels: the tails from every pixel
        every = box_mean(g, 1).ravel()
        k = round(0.001 * (every.size - 1))
        tails = np.partition(every, (k, every.size - 1 - k))  # distinct values (a photo's noise): fast
        lo, hi = float(tails[k]), float(tails[every.size - 1 - k])
    # A photo's border may be the desk; a faint page's gradient has too little contrast for these rules.
    if not photo and hi - lo > 2 * MIN_CONTRAST:
        border, corners = _border_tones(light)
        far = 0.5 * (hi - lo)
        # A border far from the median tone: the median is the ink's (a thick digit filling most of a
        # tight crop), the border the paper's. Unless the corners are of the median's tone: then the
        # border is a thick digit's strokes, cut by a tight crop on every side (a 0's sides), and the
        # median is the paper's, as in the corners.
        if abs(border - typical) > far and abs(corners - typical) > far:
            typical = border
        # Where only the corners are far lighter than the median, the median and the border are a thick
        # dark digit's, cut by every edge and covering most of the crop. And a median halfway between
        # the extremes is the blurred edge of a thick digit covering half the crop. Either way the
        # corners are paper (three of a tight crop's four).
        elif corners - typical > far or abs(typical - (lo + hi) / 2) < AMBIGUOUS * (hi - lo):
            typical = corners
    dark_ink = typical - lo > hi - typical  # the ink is the tone far from the typical (paper) tone
    x = 1.0 - g if dark_ink else g
    bg = background(x, blocks)
    ink = x - bg
    if dark_ink:  # shadows dim paper and ink alike: measure ink relative to the local paper
        np.subtract(1.0, bg, out=bg)  # the divisor made in bg's place: no new arrays
        ink /= np.maximum(bg, 0.2, out=bg)
    ink = box_mean(ink, denoise_radius(g.shape))
    ink -= paper_level(ink)
    return ink


def _border_tones(x: np.ndarray) -> tuple[float, float]:
    """The median tones of the image's outer BORDER on each side (a frame drawn along the very edge is
    thinner than that) and of its four corners, squares as wide as that border; `x`: every k-th pixel
    of the image, as `sample` takes them. Digits are round: three of a tight crop's corners are paper."""
    h, w = x.shape
    a, b = max(1, round(BORDER * h)), max(1, round(BORDER * w))
    border = median(np.concatenate([x[:a].ravel(), x[-a:].ravel(), x[a:-a, :b].ravel(), x[a:-a, -b:].ravel()]))
    corners = median(np.concatenate([x[:a, :b].ravel(), x[:a, -b:].ravel(), x[-a:, :b].ravel(), x[-a:, -b:].ravel()]))
    return border, corners


def ink_of_gray(g: np.ndarray, photo: bool = False, colour: Colour | None = None,
                pieces: bool = False, steep: bool = False) -> np.ndarray | None:
    """Ink in 0..1 per pixel (0: paper) of a gray image, the paper's own lines removed, or None when
    there is no ink to speak of. A `photo` (an image of more than WORK_SIDE² pixels: a photo or a big scan)
    also loses what lies outside the paper and its soft shading, its lighting is followed on a finer
    grid (its writing is small beside the frame, and shadows change within a fraction of it), and its
    paper's lines are looked for at steeper angles (a phone is rarely held square to the page), and
    keeps only ink joined to what is visible. `pieces`: each piece of writing is measured against its
    own contrast (`ramp.per_piece`, for a number's digits), except in a photo. `steep`: the paper's lines
    are looked for at a photo's angles in an image that is not one (a region cut from a photo)."""
    blocks = 2 * BLOCKS if photo else BLOCKS
    ink = raw_ink(g, blocks, photo)
    sigma = noise(ink)
    # Detection looks at 3x3 means, whose noise is a third of a pixel's: pure noise then peaks near
    # 5 of its sigmas over a whole image, where a digit's strokes stand far above NOISE_FACTOR.
    smooth = box_mean(ink, 1)
    paper_noise = noise(smooth)
    floor = max(MIN_CONTRAST / 2, NOISE_FACTOR * paper_noise)
    visible = smooth > floor  # everything clearly above the paper's noise: writing, lines, boxes
    scene_removed = False  # whether a photo's scene outside the paper was taken from `ink` (in place)
    if photo:
        labels = label_components(visible)
        # Where ink stands out of its local floor: made once, when the first of the three needs it.
        strokes = cache(partial(standing_out, ink, floor))
        edges = beyond_paper_edges(g, visible, labels)
        if edges.any():
            edges &= ~written_across(strokes, visible, edges)
        solid = outside_paper(visible, labels)
        if solid.any():
            solid &= ~written_inside(strokes, solid)
        outside = solid | soft_regions(ink, visible, labels, strokes) | edges
        ink[outside] = 0
        visible &= ~outside
        scene_removed = bool(outside.any())
    before = ink
    ink = remove_lines(ink, visible, smooth > floor / 2, colour, PHOTO_SKEW if photo or steep else MAX_SKEW)
    # Where nothing was removed (no scene, no paper lines: most drawings), the 3x3 means are `smooth` already.
    unchanged = not scene_removed and (ink is before or np.array_equal(ink, before))
    if not unchanged:
        smooth = box_mean(ink, 1)
    contrast = float(smooth.max())
    if contrast < max(MIN_CONTRAST, NOISE_FACTOR * paper_noise):
        return None
    if pieces and not photo:
        return per_piece(ink, smooth, visible, contrast, sigma, lines_removed=not unchanged)
    out = ramp(ink, contrast, sigma)
    return only_visible(out, visible) if photo else out


def denoise_radius(shape: tuple[int, ...]) -> int:
    """Box-blur radius that tames pixel noise in large images: 0 below 200 px, 2 at 512 px."""
    return max(shape) // 200


def _low_quantiles(x: np.ndarray) -> tuple[float, float]:
    """The 5th and 25th percentiles of the paper side of an ink map (paper low, ink high): of all of it
    where the paper is a quarter of it or more (almost every image); of its lower half of tones where
    they span more than MINORITY of its range, as only ink would: the paper is then under a quarter of
    the map (a thick digit filling a tight crop), and its own percentiles are those of that half."""
    s = np.sort(sample(x), axis=None)
    q05, q25 = float(quantile_sorted(s, 0.05)), float(quantile_sorted(s, 0.25))
    if q25 - q05 > MINORITY * (float(s[-1]) - q05):
        s = s[:np.searchsorted(s, (q05 + float(s[-1])) / 2)]
        q05, q25 = float(quantile_sorted(s, 0.05)), float(quantile_sorted(s, 0.25))
    return q05, q25


def noise(x: np.ndarray) -> float:
    """Standard deviation of the paper's noise, from the paper side of the distribution alone: the
    5th and 25th percentiles of normal noise lie 0.971 sigma apart. Writing is at most 3/4 of an
    image, so it never enters (a median absolute deviation did, on small, inky crops)."""
    q05, q25 = _low_quantiles(x)
    return (q25 - q05) / 0.971


def paper_level(x: np.ndarray) -> float:
    """The paper's level in an ink map: its median, estimated from the 25th percentile and the noise
    (paper is the majority of almost every image, but not of a tight crop of a thick digit)."""
    q05, q25 = _low_quantiles(x)
    return q25 + 0.674 * (q25 - q05) / 0.971


def find_ink(image: Image.Image, name: str, work_side: int = WORK_SIDE, pieces: bool = False,
             steep: bool = False) -> Ink | None:
    """The ink map of a decoded image, or None when it holds no ink (blank, uniform, pure noise).
    `work_side`: the longest side it is analysed at (reading a number wants more than one digit);
    `pieces`, `steep`: see `ink_of_gray`."""
    enlarged, scale = enlargement(image.size), analysis_scale(image.size, work_side)
    if enlarged > 1:
        image = image.resize((image.width * enlarged, image.height * enlarged), Image.Resampling.BICUBIC)
    g, factor = gray_of(image, name, work_side)
    colour = Colour(image, factor, g.shape) if image.mode == "RGB" else None
    photo = image.width * image.height > WORK_SIDE**2
    ink = ink_of_gray(g, photo=photo, colour=colour, pieces=pieces, steep=steep)
    if ink is None or not ink.any():
        return None
    return Ink(ink, scale, denoise_radius(g.shape), pieces and not photo)


def analysis_scale(size: tuple[int, int], work_side: int = WORK_SIDE) -> float:
    """The `Ink.scale` `find_ink` gives an image of `size` analysed at `work_side`: its reduction factor
    (`gray_of`'s, of the image as enlarged) over its enlargement."""
    enlarged = enlargement(size)
    return math.ceil(max(size) * enlarged / work_side) / enlarged


def enlargement(size: tuple[int, int]) -> int:
    """The whole factor a tiny image is enlarged by before analysis, to MIN_SIDE on its longest side
    (1 for others): in a crop a few dozen px across, strokes, lines and their gaps are a px or two,
    and read apart at no scale (a tight crop's thick 8 passed as a box; its box and a 2, as a blob)."""
    return -(-MIN_SIDE // max(size)) if 0 < max(size) < MIN_SIDE else 1
