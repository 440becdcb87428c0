"""Phone photos of paper, and the warps that carry each digit's box through them.

A photo is planned before the page is drawn (`plan`: how the frame sees the page, a homography with a
small turn, zoom and keystone), so the scene can put the digit where the frame will show it off-centre.
`shoot` then warps the page into the frame and adds what a phone adds: uneven light and vignette, a soft
shadow (bluish: lit by the sky), a white-balance cast, exposure, defocus blur, sensor noise, JPEG.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from .paper import INK_THRESHOLD, Page, field_noise, jitter

DESKS = [(0.45, 0.3, 0.18), (0.6, 0.45, 0.3), (0.25, 0.25, 0.27), (0.85, 0.85, 0.83), (0.12, 0.12, 0.13),
         (0.5, 0.55, 0.6)]


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 matrix taking 4 points `src` (4, 2) to `dst` (4, 2)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return np.append(np.linalg.solve(np.asarray(rows, np.float64), np.asarray(rhs, np.float64)), 1).reshape(3, 3)


def apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.c_[points, np.ones(len(points))] @ h.T
    return p[:, :2] / p[:, 2:]


def plan(rng: np.random.Generator, frame: tuple[int, int], tilt: float = 0.06,
         turn: float = 8.0) -> tuple[np.ndarray, tuple[int, int]]:
    """(frame -> page homography, page size (w, h)) for a frame of (w, h) px: turned up to `turn` degrees,
    each corner moved up to `tilt` of the frame (keystone: the phone is not quite parallel to the paper)."""
    w, h = frame
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    a = np.radians(rng.uniform(-turn, turn))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * rng.uniform(0.9, 1.1)
    dst = (corners - [w / 2, h / 2]) @ rot.T + rng.uniform(-tilt, tilt, (4, 2)) * [w, h]
    dst -= dst.min(0) - 2  # the page just holds what the frame sees
    size = np.ceil(dst.max(0) + 2).astype(int)
    return homography(corners, dst), (int(size[0]), int(size[1]))


def desk_edge(page: Page, h_fp: np.ndarray, frame: tuple[int, int], rng: np.random.Generator) -> dict:
    """Paint the desk past the paper's edge, which the frame shows near one of its sides."""
    w, h = frame
    side = int(rng.integers(4))
    d = rng.uniform(0.03, 0.14)
    skew = rng.uniform(-0.05, 0.05)
    # The paper edge in frame coords (a line near `side`), and the far side of the frame, as a polygon.
    edge = {0: [[d * w, -h], [(d + skew) * w, 2 * h], [-w, 2 * h], [-w, -h]],
            1: [[(1 - d) * w, -h], [(1 - d + skew) * w, 2 * h], [2 * w, 2 * h], [2 * w, -h]],
            2: [[-w, d * h], [2 * w, (d + skew) * h], [2 * w, -h], [-w, -h]],
            3: [[-w, (1 - d) * h], [2 * w, (1 - d + skew) * h], [2 * w, 2 * h], [-w, 2 * h]]}[side]
    polygon = apply(h_fp, np.asarray(edge, np.float64))
    mask = Image.new("L", page.size, 0)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in polygon], fill=255)
    colour = jitter(rng, DESKS[rng.integers(len(DESKS))], 0.05)
    # Wood-like streaks: a 1-D random profile across the grain, broadcast along it.
    streaks = 1 + 0.08 * field_noise(rng, (1, page.size[0] // 4 + 2), 40)[0]
    streaks = np.asarray(Image.fromarray(streaks[None]).resize((page.size[0], 1)), np.float32)[0]
    desk = np.rint(np.clip(colour[None, None] * streaks[None, :, None], 0, 1) * 255).astype(np.uint8)
    desk = np.broadcast_to(desk, page.rgb.shape)
    page.rgb[:] = np.asarray(Image.composite(Image.fromarray(np.ascontiguousarray(desk)), Image.fromarray(page.rgb),
                                             mask))
    return {"desk_side": "left right top bottom".split()[side]}


def _coeffs(h: np.ndarray) -> tuple[float, ...]:
    h = h / h[2, 2]
    return tuple(float(v) for v in h.ravel()[:8])


def warp_boxes(page: Page, h_fp: np.ndarray, frame: tuple[int, int]) -> tuple[tuple[int, int, int, int], ...]:
    """Each digit's box after the warp: its ink warped alone into a window of the frame, then measured."""
    h_pf = np.linalg.inv(h_fp)
    boxes = []
    for alpha, mx, my in page.marks:
        ah, aw = alpha.shape
        corners = apply(h_pf, np.array([[mx, my], [mx + aw, my], [mx + aw, my + ah], [mx, my + ah]], np.float64))
        x0, y0 = np.maximum(np.floor(corners.min(0)) - 2, 0).astype(int)
        x1, y1 = np.minimum(np.ceil(corners.max(0)) + 2, frame).astype(int)
        if x1 <= x0 or y1 <= y0:
            continue
        # window px (u, v) -> frame (u + x0, v + y0) -> page -> the mark's own px
        local = np.array([[1, 0, -mx], [0, 1, -my], [0, 0, 1]]) @ h_fp @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]])
        warped = Image.fromarray(alpha).transform((int(x1 - x0), int(y1 - y0)), Image.Transform.PERSPECTIVE,
                                                  _coeffs(local), Image.Resampling.BILINEAR)
        ys, xs = np.nonzero(np.asarray(warped) > INK_THRESHOLD)
        if len(ys):
            boxes.append((int(x0 + xs.min()), int(y0 + ys.min()), int(x0 + xs.max() + 1), int(y0 + ys.max() + 1)))
    return tuple(boxes)


def _light(rng: np.random.Generator, frame: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """The light falling on the frame, as a gain per pixel and channel (H/8, W/8, 3) to upsample: a
    gradient, a vignette, sometimes a soft shadow (bluish: lit by the sky), the white balance and exposure."""
    w, h = frame
    lw, lh = max(4, w // 8), max(4, h // 8)
    y, x = np.mgrid[0:lh, 0:lw].astype(np.float32)
    x, y = x / lw, y / lh
    theta = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(theta) * (x - 0.5) + np.sin(theta) * (y - 0.5)
    cx, cy = rng.uniform(0.3, 0.7, 2)
    vignette, gradient = rng.uniform(0.05, 0.3), rng.uniform(0, 0.25)
    light = (1 - gradient * (ramp + 0.5) - vignette * ((x - cx) ** 2 + (y - cy) ** 2) * 1.6
             + 0.02 * field_noise(rng, (lh, lw), 6))
    info = {"vignette": round(vignette, 2), "gradient": round(gradient, 2)}
    gain = np.repeat(light[..., None], 3, 2)
    if rng.random() < 0.6:  # the phone's or the hand's shadow: a soft-edged half-plane or blob
        depth, soft = rng.uniform(0.15, 0.45), rng.uniform(0.03, 0.15)
        if rng.random() < 0.6:
            phi = rng.uniform(0, 2 * np.pi)
            s = np.cos(phi) * (x - 0.5) + np.sin(phi) * (y - 0.5) - rng.uniform(0.1, 0.45)
        else:  # an object's shadow coming in from an edge (a hand, the phone), not a blob in the middle
            side = rng.integers(4)
            along, r = rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.45)
            bx, by = [(along, -0.1), (1.1, along), (along, 1.1), (-0.1, along)][side]
            s = r - np.hypot((x - bx) * rng.uniform(0.5, 1.5), (y - by) * h / w)
        shadow = depth / (1 + np.exp(-s / soft))
        gain *= 1 - shadow[..., None] * np.array([1.0, 0.95, 0.8])  # shadows lose more red than blue
        info["shadow"] = round(depth, 2)
    cast = np.array([[1.0, 0.95, 0.8], [0.85, 0.92, 1.0], [1.0, 1.0, 1.0], [1.0, 0.98, 0.92]]
                    [rng.integers(4)]) * rng.uniform(0.97, 1.0, 3)
    exposure = rng.uniform(0.85, 1.0)
    info.update(cast=[round(float(c), 2) for c in cast], exposure=round(exposure, 2))
    return gain * cast * exposure, info


def shoot(page: Page, h_fp: np.ndarray, frame: tuple[int, int], rng: np.random.Generator,
          grey: bool = False) -> tuple[np.ndarray, tuple[tuple[int, int, int, int], ...], dict]:
    """The page seen through the frame by a phone: (uint8 RGB frame, digit boxes, what was done).
    Done in PIL's C code where it can be (a 2000 px frame has 3 M pixels), and mostly at the reduced size
    the softness asks for: the warp, the multiply by the light, the noise; then the upsampling."""
    # Softness (defocus, shake, the phone's denoising): the page is seen at 1/blur of the frame's resolution,
    # then upsampled. Also the cheap way: PIL's bilinear perspective warp costs 50 ns a pixel.
    blur = max(1.15, rng.uniform(1.5, 2.3) * max(frame) / 1800)
    small = (max(8, round(frame[0] / blur)), max(8, round(frame[1] / blur)))
    scale = np.diag([frame[0] / small[0], frame[1] / small[1], 1.0])
    image = Image.fromarray(page.rgb).transform(small, Image.Transform.PERSPECTIVE, _coeffs(h_fp @ scale),
                                                Image.Resampling.BILINEAR)
    # Light and noise at the small size too (4x fewer pixels): light is smooth, and a phone's noise, after
    # its denoising, comes in blotches a few px wide anyway.
    gain, info = _light(rng, small)
    light = Image.fromarray(np.rint(np.clip(gain, 0, 1) * 255).astype(np.uint8)).resize(small,
                                                                                       Image.Resampling.BILINEAR)
    image = ImageChops.multiply(image, light)
    sigma = rng.uniform(2.0, 7.0)  # sensor noise, in 0..255 levels: the sum of two uniforms, about Gaussian
    u = rng.integers(0, 256, (2, small[1], small[0]), dtype=np.uint8)
    noise = (128 + (u[0].astype(np.int16) + u[1] - 255) * (sigma / 104)).astype(np.uint8)
    image = ImageChops.add(image, Image.merge("RGB", [Image.fromarray(noise)] * 3), 1.0, -128)
    image = image.resize(frame, Image.Resampling.BILINEAR)
    if grey:
        image = image.convert("L").convert("RGB")
    info.update(blur=round(blur, 2), noise=round(sigma, 1))
    return np.asarray(image), warp_boxes(page, h_fp, frame), info


def frame_size(rng: np.random.Generator) -> tuple[int, int]:
    """A phone photo's (w, h): long side 800-2000 px, 4:3, 3:2, 16:9 or square, portrait or landscape."""
    long = int(rng.integers(800, 2001))
    short = int(long / [4 / 3, 3 / 2, 16 / 9, 1][rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])])
    return (long, short) if rng.random() < 0.5 else (short, long)
