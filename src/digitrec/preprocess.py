"""Any image of a digit -> the 28x28 MNIST form the models were trained on. numpy and Pillow only.

MNIST digits are white on black, anti-aliased, scaled so the longest side of the ink is 20 px
(keeping aspect), and centred by centre of mass in a 28x28 field. `to_mnist` brings any input to
that form: it composites transparency, decides the polarity from the image itself, flattens uneven
lighting and paper texture, drops specks, crops to the ink, brings the stroke width into MNIST's
range, and centres. This is the single preprocessing path of the CLI, the Python API and the server.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops

from .config import MNIST_MEAN, MNIST_STD
from .errors import DigitrecError, NoDigitError
from .imageops import box_mean, label_components, median, morph, pad, quantile_sorted, sample
from .images import MAX_PIXELS, ImageSource, describe, load_image

__all__ = ["load_image", "to_mnist", "as_mnist", "normalize", "DigitrecError", "NoDigitError", "MAX_PIXELS"]

WORK_SIDE = 512  # px: larger images are box-averaged down to this longest side before analysis
BLOCKS = 8  # the lighting estimate is a BLOCKS x BLOCKS grid of local paper levels
MIN_CONTRAST = 0.1  # ink must differ from the paper by at least 10% of full scale...
NOISE_FACTOR = 8.0  # ...and by this many standard deviations of the paper's (3x3-averaged) noise
LOW, HIGH = 0.25, 0.6  # fractions of the ink contrast mapped to 0 and to full ink
SPECK = 0.05  # blobs with less than 5% of the largest blob's ink are specks (noise, dust)
# Ink spanning fewer px than this (at analysis resolution, before denoising blurred it) is a dot,
# not a digit: 3 px, or 1.5% of the image's longest side (8 px on a 512 px image).
MIN_EXTENT, MIN_EXTENT_FRACTION = 3, 0.015
FIELD, BOX, SUPER = 28, 20, 4  # output field, ink box, and the supersampling factor used to render
# Measured on MNIST training digits: the mean centre of mass is (13.996, 14.007) in pixel index
# coordinates of the 28x28; and the stroke width (stroke_width() of the 4x ink box built here, in
# output px) of 3000 of them run through this preprocessing has 5th, 50th and 95th percentiles 1.55,
# 2.10 and 3.21 px. Inputs outside that range have their strokes grown or shrunk to the median.
COM = 14.0
MAX_RADIUS = 10  # px at SUPER x: strokes change by at most 2.5 output px per side
WIDTH_THIN, WIDTH_MEDIAN, WIDTH_THICK = 1.55, 2.10, 3.21


def normalize(x28: np.ndarray) -> np.ndarray:
    """uint8 (28, 28) or (N, 28, 28) MNIST-form pixels -> float32 (N, 1, 28, 28) model input."""
    x = np.asarray(x28).reshape(-1, 1, FIELD, FIELD)
    # (x / 255 - mean) / std as one multiply and one in-place subtract: 3x faster on big batches.
    out = np.multiply(x, np.float32(1.0 / (255.0 * MNIST_STD)), dtype=np.float32)
    out -= np.float32(MNIST_MEAN / MNIST_STD)
    return out


def as_mnist(source: ImageSource, name: str | None = None) -> np.ndarray:
    """An input already in MNIST form (28x28, white digit on black), passed through as uint8."""
    name = name or describe(source)
    if isinstance(source, np.ndarray) and source.shape == (FIELD, FIELD) and source.dtype == np.uint8:
        return source
    gray, _ = _planes(load_image(source, name=name))
    if gray.size != (FIELD, FIELD):
        raise DigitrecError(f"{name}: is {gray.width}x{gray.height}, but without preprocessing the input "
                            "must be a 28x28 MNIST-form image (white digit on black); drop --no-preprocess")
    x = np.asarray(gray, dtype=np.float32)
    return np.rint(x * 255 if gray.mode == "F" else x).astype(np.uint8)


def to_mnist(source: ImageSource, name: str | None = None) -> np.ndarray:
    """Any image of one digit -> uint8 (28, 28), white on black, in MNIST form.

    Raises NoDigitError if the image holds no ink, DigitrecError if it cannot be read."""
    name = name or describe(source)
    image = source if isinstance(source, Image.Image) else load_image(source, name=name)
    gray = _gray(image)
    ink = _ink(gray)
    if ink is None or not ink.any():
        raise NoDigitError(f"{name}: no digit found (the image is blank or uniform); "
                           "pass an image with a visible digit")
    ink = _drop_specks(ink)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 - 2 * _denoise_radius(ink.shape)
    if extent < max(MIN_EXTENT, MIN_EXTENT_FRACTION * max(ink.shape)):
        raise NoDigitError(f"{name}: no digit found (only a speck of ink, {extent} px across); "
                           "pass an image with a visible digit")
    big = _scale_to_box(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    # Too thin (a fine pen on a big canvas) or too thick (a marker on a small one): grow or shrink
    # the strokes at SUPER x resolution toward MNIST's median width, then crop and scale again.
    width = stroke_width(big) / SUPER
    radius = round((WIDTH_MEDIAN - width) * SUPER / 2) if width < WIDTH_THIN else 0
    radius = -round((width - WIDTH_MEDIAN) * SUPER / 2) if width > WIDTH_THICK else radius
    radius = int(np.clip(radius, -MAX_RADIUS, MAX_RADIUS))
    if radius:
        r = abs(radius)
        grown = morph(pad(big, (r, r), (r, r)), radius)
        rows, cols = np.flatnonzero(grown.max(1) > 0.02), np.flatnonzero(grown.max(0) > 0.02)
        if rows.size:  # shrinking can erase a digit made of dots; then keep it as it was
            big = _scale_to_box(grown[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    out = _center(big)
    return np.rint(out * (255.0 / max(float(out.max()), 1e-6))).astype(np.uint8)


def stroke_width(x: np.ndarray) -> float:
    """Mean stroke width in px: twice the ink divided by its total variation (ink boundary length),
    the array's edges counting as boundary."""
    x = pad(np.asarray(x, dtype=np.float32), (1, 1), (1, 1))
    tv = np.abs(np.diff(x, axis=0)).sum() + np.abs(np.diff(x, axis=1)).sum()
    return float(2 * x.sum() / max(float(tv), 1e-6))


def _planes(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """(gray as L or F in 0..1, alpha as L or None when the image is fully opaque)."""
    mode = image.mode
    if mode in ("I", "F") or mode.startswith("I;16"):  # 16/32-bit grayscale
        x = np.asarray(image, dtype=np.float32)
        top = float(x.max()) if x.size else 0.0
        scale = 65535.0 if mode.startswith("I;16") else next(s for s in (1.0, 255.0, 65535.0, top) if top <= s)
        return Image.fromarray(np.clip(x / max(scale, 1e-6), 0, 1).astype(np.float32)), None
    if "A" in mode or "a" in mode or "transparency" in image.info:
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        return rgba.convert("L"), (None if alpha.getextrema()[0] == 255 else alpha)
    if mode in ("L", "1", "P", "RGB", "CMYK"):
        return image.convert("L"), None
    return image.convert("RGB").convert("L"), None  # YCbCr, LAB, HSV


def _gray(image: Image.Image) -> np.ndarray:
    """float32 (H, W) in 0..1 at most WORK_SIDE on its longest side, transparency composited."""
    gray, alpha = _planes(image)
    factor = math.ceil(max(gray.size) / WORK_SIDE)
    if alpha is None:
        gray = gray.reduce(factor) if factor > 1 else gray
        x = np.asarray(gray, dtype=np.float32)
        return x if gray.mode == "F" else x / 255.0
    # Average premultiplied values, so transparent pixels' hidden colour does not leak into edges.
    premultiplied = ImageChops.multiply(gray, alpha)
    if factor > 1:
        premultiplied, alpha = premultiplied.reduce(factor), alpha.reduce(factor)
    a = np.asarray(alpha, dtype=np.float32) / 255.0
    g = np.asarray(premultiplied, dtype=np.float32) / 255.0 / np.maximum(a, 1e-6)
    return _composite(np.clip(g, 0, 1), a)


def _composite(g: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Flatten gray `g` with alpha `a` onto a backdrop chosen so that the digit stays visible."""
    visible = a > 0.5
    if not visible.any():
        return np.zeros_like(g)  # fully transparent: nothing to see
    if visible.mean() < 0.5:
        # Mostly transparent: the opaque pixels are the strokes (a drawing on a transparent canvas).
        # Put them on the opposite tone, whatever colour the transparent pixels secretly hold.
        stroke = float((a * g).sum() / a.sum())
        backdrop = 1.0 if stroke < 0.5 else 0.0
    else:
        # Mostly opaque: the opaque pixels are the paper; fill the holes with the paper's tone.
        backdrop = median(sample(g)[sample(visible)])
    return a * g + (1 - a) * backdrop




def _background(x: np.ndarray) -> np.ndarray:
    """The local paper level of `x` (ink bright): a low percentile per block, the minimum over each
    block's neighbours (a block wholly inside a thick stroke has no paper), interpolated smoothly."""
    h, w = x.shape
    b = max(2, math.ceil(max(h, w) / BLOCKS))
    gh, gw = math.ceil(h / b), math.ceil(w / b)
    padded = pad(x, (0, gh * b - h), (0, gw * b - w), edge=True)
    # Every s-th pixel of a block along both axes, at most about 16x16 of them: plenty for the
    # percentile of the paper, and sorting them all took most of the time on big images.
    s = max(1, b // 16)
    blocks = np.sort(padded.reshape(gh, b, gw, b)[:, ::s, :, ::s].transpose(0, 2, 1, 3).reshape(gh, gw, -1))
    low = quantile_sorted(blocks, 0.1).astype(np.float32)
    p = pad(low, (1, 1), (1, 1), edge=True)
    low = np.min([p[i:i + gh, j:j + gw] for i in range(3) for j in range(3)], axis=0)
    # Pillow's BILINEAR resize by b (to (gw * b, gh * b)) cropped to (h, w), 2.5x faster; and no
    # matrix product, whose BLAS threads would spin on the other core.
    iy, jy, fy = _interpolation(gh, b, h)
    rows = low[iy] + fy[:, None] * (low[jy] - low[iy])
    ix, jx, fx = _interpolation(gw, b, w)
    # (h, w) each. ix and jx never decrease, so the gathers rows[:, ix] are repeats: 2.5x faster.
    left = np.repeat(rows, np.bincount(ix, minlength=gw), axis=1)
    out = np.repeat(rows, np.bincount(jx, minlength=gw), axis=1)
    out -= left
    out *= fx
    out += left
    return out


def _interpolation(n: int, b: int, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the first `keep` of n * b samples upscaled from n: the input pixels i and j each lies
    between and the weight of j, pixel centres aligned and edge pixels held, as Pillow does."""
    at = (np.arange(keep, dtype=np.float32) + 0.5) / b - 0.5  # in input pixel coordinates
    i = np.clip(np.floor(at), 0, n - 1).astype(np.intp)
    return i, np.minimum(i + 1, n - 1), np.clip(at - i, 0, 1).astype(np.float32)


def _ink(g: np.ndarray) -> np.ndarray | None:
    """Ink in 0..1 per pixel (0: paper), or None when there is no ink to speak of."""
    light = box_mean(g, 1)
    levels = np.sort(sample(light), axis=None)
    typical, lo, hi = levels[levels.size // 2], quantile_sorted(levels, 0.001), quantile_sorted(levels, 0.999)
    if max(typical - lo, hi - typical) < MIN_CONTRAST:  # ink on under 0.1% of the image: use extremes
        lo, hi = float(light.min()), float(light.max())
    dark_ink = typical - lo > hi - typical  # the ink is the tone far from the typical (paper) tone
    x = 1.0 - g if dark_ink else g
    bg = _background(x)
    ink = x - bg
    if dark_ink:  # shadows dim paper and ink alike: measure ink relative to the local paper
        ink /= np.maximum(1.0 - bg, 0.2)
    ink = box_mean(ink, _denoise_radius(g.shape))
    ink -= median(sample(ink))  # the typical pixel is paper: make paper 0
    sigma = _noise(ink)
    # Detection looks at 3x3 means, whose noise is a third of a pixel's: pure noise then peaks near
    # 5 of its sigmas over a whole image, where a digit's strokes stand far above NOISE_FACTOR.
    smooth = box_mean(ink, 1)
    contrast = float(smooth.max())
    if contrast < max(MIN_CONTRAST, NOISE_FACTOR * _noise(smooth)):
        return None
    low = max(LOW * contrast, 3 * sigma)
    high = max(HIGH * contrast, low + 0.05)
    return np.clip((ink - low) / (high - low), 0, 1).astype(np.float32)


def _denoise_radius(shape: tuple[int, ...]) -> int:
    """Box-blur radius that tames pixel noise in large images: 0 below 200 px, 2 at 512 px."""
    return max(shape) // 200


def _noise(x: np.ndarray) -> float:
    """Standard deviation of the paper's noise, robustly: 1.4826 x the median absolute deviation."""
    x = sample(x)
    return 1.4826 * median(np.abs(x - median(x)))










def _drop_specks(ink: np.ndarray) -> np.ndarray:
    """Zero every blob with less than SPECK of the largest blob's ink. Blobs are found on a grid of at
    most 64x64 cells, so strokes a few pixels apart (the bar of a 5) count as one blob."""
    h, w = ink.shape
    c = max(1, math.ceil(max(h, w) / 64))
    gh, gw = math.ceil(h / c), math.ceil(w / c)
    cells = pad(ink, (0, gh * c - h), (0, gw * c - w))
    # Sums of c x c cells as sums of c strided slices per axis: 10x faster than summing a reshape.
    cells = sum(cells[i::c] for i in range(c))
    cells = sum(cells[:, j::c] for j in range(c))
    labels = label_components(cells > 0)
    mass = np.bincount(labels.ravel(), weights=cells.ravel())
    keep = mass >= SPECK * mass[1:].max()
    keep[0] = False
    return ink * np.repeat(np.repeat(keep[labels], c, 0), c, 1)[:h, :w]


def _scale_to_box(crop: np.ndarray) -> np.ndarray:
    """Resize so the longest side is SUPER * BOX px (anti-aliased), keeping the aspect ratio."""
    h, w = crop.shape
    s = SUPER * BOX / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def _center(big: np.ndarray) -> np.ndarray:
    """Place `big` (SUPER x resolution) so its centre of mass lands on MNIST's, then box-average
    SUPER x SUPER blocks down to the 28x28 field."""
    n = FIELD * SUPER
    mass = max(float(big.sum()), 1e-6)
    cy = float((big.sum(1) * np.arange(big.shape[0])).sum()) / mass
    cx = float((big.sum(0) * np.arange(big.shape[1])).sum()) / mass
    # Output pixel i covers supersampled pixels SUPER*i .. SUPER*i + SUPER-1, centred on SUPER*i + 1.5.
    target = COM * SUPER + (SUPER - 1) / 2
    oy, ox = round(target - cy), round(target - cx)
    canvas = np.zeros((n, n), np.float32)
    y0, x0 = max(oy, 0), max(ox, 0)
    y1, x1 = min(oy + big.shape[0], n), min(ox + big.shape[1], n)
    canvas[y0:y1, x0:x1] = big[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return canvas.reshape(FIELD, SUPER, FIELD, SUPER).mean((1, 3))

