"""Preprocessing: every input kind reaches the same MNIST-form 28x28, and every bad input gets a clear error.

The oracle is the 28x28 of a plain black-on-white PNG of a 7: a different digit differs from it by
more than 30 grey levels per pixel on average, so agreement within a few levels means the same image.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitrec.data import MNIST_NORMALIZATION
from digitrec.errors import DigitrecError
from digitrec.images import load_image
from digitrec.preprocess import (
    LEAN,
    UPRIGHT,
    as_mnist,
    leans,
    select_digit,
    slant,
    stroke_width,
    to_mnist,
    upright_crop,
)
from fixtures import encode, font_digit, mnist_on_canvas, mnist_test, png_declaring


def diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in grey levels (0..255)."""
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


@pytest.fixture(scope="module")
def seven() -> Image.Image:
    return font_digit(7)


@pytest.fixture(scope="module")
def reference(seven: Image.Image) -> np.ndarray:
    return to_mnist(encode(seven, "PNG"))


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    x = x.astype(np.float64)
    return (float((x.sum(1) * np.arange(28)).sum() / x.sum()), float((x.sum(0) * np.arange(28)).sum() / x.sum()))


def test_output_is_mnist_form(reference: np.ndarray) -> None:
    assert reference.shape == (28, 28) and reference.dtype == np.uint8
    assert reference.max() == 255
    rows, cols = np.flatnonzero(reference.max(1) > 0), np.flatnonzero(reference.max(0) > 0)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21, 22)  # 20 px box plus anti-aliasing
    cy, cx = centre_of_mass(reference)
    assert abs(cy - 14) < 0.3 and abs(cx - 14) < 0.3
    assert reference[0].max() == 0 and reference[:, 0].max() == 0  # black field around a white digit


def test_aspect_ratio_is_kept() -> None:
    one = to_mnist(font_digit(1))
    rows, cols = np.flatnonzero(one.max(1) > 64), np.flatnonzero(one.max(0) > 64)
    assert rows[-1] - rows[0] + 1 >= 19
    assert cols[-1] - cols[0] + 1 <= 14  # a 1 stays narrow rather than being stretched to a square


@pytest.mark.parametrize("fmt, mode, tolerance", [
    ("PNG", "L", 0.5), ("PNG", "RGB", 0.5), ("PNG", "P", 0.5), ("PNG", "1", 3), ("BMP", "RGB", 0.5),
    ("GIF", "L", 0.5), ("WEBP", "RGB", 2), ("TIFF", "L", 0.5), ("TIFF", "CMYK", 0.5), ("JPEG", "L", 3),
    ("JPEG", "RGB", 3), ("JPEG", "CMYK", 3),
])
def test_every_format_and_mode_gives_the_same_digit(seven: Image.Image, reference: np.ndarray, fmt: str, mode: str,
                                                    tolerance: float) -> None:
    assert diff(to_mnist(encode(seven.convert(mode), fmt)), reference) <= tolerance


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grayscale(seven: Image.Image, reference: np.ndarray, fmt: str) -> None:
    sixteen = Image.fromarray(np.asarray(seven, dtype=np.uint16) * 257)
    data = encode(sixteen, fmt)
    assert load_image(data).mode.startswith("I")  # really decoded as 16-bit
    assert diff(to_mnist(data), reference) <= 0.5


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [font_digit(d) for d in (3, 8, 1)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    assert diff(to_mnist(data), to_mnist(frames[0])) <= 0.5


def test_exif_orientation_is_applied(seven: Image.Image, reference: np.ndarray) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": the pixels are stored turned left
    data = encode(seven.convert("RGB").transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif, quality=95)
    assert diff(to_mnist(data), reference) <= 3


def test_polarity_is_decided_from_the_image(seven: Image.Image, reference: np.ndarray) -> None:
    light_on_dark = Image.eval(seven, lambda v: 255 - v)
    assert diff(to_mnist(light_on_dark), reference) <= 0.5
    grey_on_grey = Image.eval(seven, lambda v: 90 + v * 100 // 255)  # light paper 190, dark ink 90
    assert diff(to_mnist(grey_on_grey), reference) <= 3


@pytest.mark.parametrize("stroke, hidden", [(0, 0), (0, 255), (255, 255), (255, 0), (60, 60)])
def test_transparent_canvas(seven: Image.Image, reference: np.ndarray, stroke: int, hidden: int) -> None:
    """Strokes of any tone on a transparent canvas, whatever colour the transparent pixels hold
    (black, the naive-conversion failure: the strokes vanish into it)."""
    alpha = Image.eval(seven, lambda v: 255 - v)  # opaque where the ink is
    rgba = Image.merge("RGBA", [Image.new("L", seven.size, stroke)] * 3 + [alpha])
    rgba.paste((hidden, hidden, hidden, 0), mask=Image.eval(alpha, lambda v: 255 if v == 0 else 0))
    assert diff(to_mnist(encode(rgba, "PNG")), reference) <= 1
    la = Image.merge("LA", [rgba.getchannel("R"), alpha])
    assert diff(to_mnist(encode(la, "PNG")), reference) <= 1


def test_palette_with_transparent_index(seven: Image.Image, reference: np.ndarray) -> None:
    p = seven.convert("P")
    white = p.getpixel((0, 0))
    p.info["transparency"] = white
    data = encode(p, "PNG", transparency=white)
    assert "transparency" in load_image(data).info
    assert diff(to_mnist(data), reference) <= 1


def test_mostly_opaque_paper_with_transparent_margin(seven: Image.Image, reference: np.ndarray) -> None:
    rgba = seven.convert("RGBA")
    rgba.paste((0, 0, 0, 0), (0, 0, 200, 6))  # a transparent strip along the top edge
    assert diff(to_mnist(rgba), reference) <= 1


@pytest.mark.parametrize("canvas", [(400, 300), (1100, 900)])  # the second is downsampled for analysis
def test_centring_is_invariant_to_position(canvas: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    outputs = []
    for _ in range(6):
        at = (int(rng.integers(0, canvas[0] - 112)), int(rng.integers(0, canvas[1] - 112)))
        outputs.append(to_mnist(mnist_on_canvas(0, canvas, at)))
    for out in outputs[1:]:
        assert diff(out, outputs[0]) <= 3
        cy, cx = centre_of_mass(out)
        assert abs(cy - 14) < 0.3 and abs(cx - 14) < 0.3


def test_uneven_lighting_and_paper_texture(seven: Image.Image, reference: np.ndarray) -> None:
    ink = 1 - np.asarray(seven, dtype=np.float64) / 255
    y, x = np.mgrid[0:200, 0:200] / 200
    light = 1 - 0.55 * x * (0.5 + 0.5 * y)  # a shadow deepening to the lower right: paper from 1.0 to 0.45
    rng = np.random.default_rng(1)
    paper = 0.92 + rng.normal(0, 0.03, ink.shape)  # grainy paper
    photo = (paper * (1 - ink) + 0.15 * ink) * light
    out = to_mnist(np.clip(photo, 0, 1))
    assert diff(out, reference) <= 6


def test_specks_are_ignored(seven: Image.Image, reference: np.ndarray) -> None:
    dusty = seven.copy()
    for x, y in [(5, 5), (190, 10), (10, 185), (185, 190)]:
        dusty.paste(0, (x, y, x + 3, y + 3))
    assert diff(to_mnist(dusty), reference) <= 1


def test_a_neighbours_big_sliver_beside_the_digit_is_dropped() -> None:
    """A crop out of "30": the 3's right half, cut by the left edge beside the 0, is not part of it."""
    zero = font_digit(0, size=200)
    three = font_digit(3, size=200).crop((100, 0, 200, 200))  # the 3's right half (its left edge cut)
    crop = Image.new("L", (190, 200), 255)
    crop.paste(zero, (-10, 0))  # the 0's ink a few px right of the sliver's
    crop.paste(three.crop((0, 0, 45, 200)), (0, 0))
    assert diff(to_mnist(crop), to_mnist(zero)) <= 1


def test_what_a_ruling_left_is_not_the_digit() -> None:
    """An ink map with a small 3 and the thick remains of lines from edge to edge below it (a photo's
    curved ruling, left in pieces): the remains hold more ink than the 3, but are not the digit."""
    ink = np.zeros((340, 450), np.float32)
    three = 1 - np.asarray(font_digit(3, size=50), np.float32) / 255
    ink[150:200, 200:250] = three
    ink[280:300, :] = ink[320:330, 5:] = 1.0
    chosen, several = select_digit(ink)
    assert ink[280:].sum() > 4 * three.sum()
    assert np.array_equal(chosen, np.where(np.arange(340)[:, None] < 280, ink, 0)) and not several


def _three_in_a_map() -> tuple[np.ndarray, np.ndarray]:
    """(a 200x200 ink map holding a solid 3, 40 px tall, at (80, 80); the 3's own map)."""
    ink = np.zeros((200, 200), np.float32)
    ink[80:120, 80:120] = 1 - np.asarray(font_digit(3, size=40), np.float32) / 255
    return ink, ink.copy()


def _speckle(shape: tuple[int, int], level: float, seed: int = 0) -> np.ndarray:
    """Faint dots, one in four pixels on average: a shadow's ragged remains, a grid's crossings."""
    return (np.random.default_rng(seed).random(shape) < 0.25).astype(np.float32) * level


def test_faint_speckle_with_more_ink_than_the_digit_is_not_it() -> None:
    """Chosen by heft, not ink: the speckle spreads more ink than the 3, thinly over many cells."""
    ink, three = _three_in_a_map()
    ink[130:190, 10:190] = _speckle((60, 180), 0.3)
    assert ink[130:].sum() > 1.5 * three.sum()
    chosen, several = select_digit(ink)
    assert np.array_equal(chosen, three) and not several


def test_a_strip_along_the_images_side_is_not_the_digit() -> None:
    """A dark strip down the left edge (a vignette's corner, the desk) outweighs the 3 even as an edge
    blob, but lies along one side only."""
    ink, three = _three_in_a_map()
    ink[:, :14] = 0.8
    assert 0.25 * ink[:, :14].sum() > three.sum()
    chosen, _ = select_digit(ink)
    assert np.array_equal(chosen, three)


def test_speckle_all_around_the_digit_does_not_join_it() -> None:
    """A faint field of specks around the 3 (its box holds the 3's) is far bigger than the 3: not a part of it."""
    ink, three = _three_in_a_map()
    field = _speckle((170, 170), 0.15)
    field[55:115, 55:115] = 0  # clear of the 3, which sits at 80..120 in the map
    ink[15:185, 15:185] += field
    chosen, _ = select_digit(ink)
    assert np.array_equal(chosen, three)


def test_a_line_from_top_to_bottom_beside_the_digit_is_no_second_digit() -> None:
    """What is left of a photo's margin line, from the top edge to the bottom, beside a 3 five times
    shorter: as heavy as a digit, but far taller than one."""
    ink, three = _three_in_a_map()
    ink[:, 150:153] = 0.5
    chosen, several = select_digit(ink)
    assert np.array_equal(chosen, three) and not several


@pytest.mark.parametrize("canvas, pen", [(600, 2), (300, 1), (1000, 3), (600, 70), (600, 110)])
def test_thin_and_thick_strokes_are_brought_to_mnist_widths(canvas: int, pen: int) -> None:
    """A 7 drawn with a hair-thin pen or a fat marker comes out with MNIST-like strokes: between the
    5th and 95th percentiles of stroke_width over the raw MNIST training digits (1.34 and 3.00 px)."""
    image = Image.new("L", (canvas, canvas), 255)
    ImageDraw.Draw(image).line([(canvas / 4, canvas / 6), (canvas * 3 / 4, canvas / 6), (canvas * 0.4, canvas * 5 / 6)],
                               fill=0, width=pen)
    assert 1.34 <= stroke_width(to_mnist(image)) <= 3.0


def test_mnist_digits_pass_through_nearly_unchanged() -> None:
    images, _ = mnist_test()
    diffs = [diff(to_mnist(x), x) for x in images[:200]]
    assert np.median(diffs) < 12


@pytest.mark.parametrize("image", [
    Image.new("L", (300, 200), 255), Image.new("L", (300, 200), 0), Image.new("RGB", (64, 64), (120, 140, 90)),
    Image.new("L", (1, 1), 0), Image.new("RGBA", (100, 100), (0, 0, 0, 0)),
    Image.fromarray(np.clip(np.random.default_rng(0).normal(128, 12, (300, 300)), 0, 255).astype(np.uint8)),
])
def test_blank_images_have_no_digit(image: Image.Image) -> None:
    with pytest.raises(DigitrecError, match="no digit found") as info:
        to_mnist(encode(image, "PNG"), name="blank.png")
    assert info.value.kind == "no-digit"


def test_a_speck_is_not_a_digit() -> None:
    page = Image.new("L", (400, 300), 255)
    page.paste(0, (200, 150, 204, 154))  # a 4 px dot of dust
    with pytest.raises(DigitrecError, match="speck") as info:
        to_mnist(page)
    assert info.value.kind == "no-digit"


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"hello, I am text with a .png name", "not an image format"),
    (png_declaring(30000, 30000), "limit of 50 M"),
    (png_declaring(9000, 9000), "declares 9000x9000"),  # under Pillow's own limit, over ours
])
def test_bad_bytes_get_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(DigitrecError, match=message) as info:
        to_mnist(data, name="upload.png")
    assert str(info.value).startswith("upload.png: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_truncated_files(seven: Image.Image, fmt: str) -> None:
    data = encode(seven.convert("RGB") if fmt == "JPEG" else seven, fmt)
    with pytest.raises(DigitrecError, match="upload") as info:
        to_mnist(data[: len(data) // 2], name="upload")
    assert "\n" not in str(info.value)


def test_paths(tmp_path, seven: Image.Image, reference: np.ndarray) -> None:
    path = tmp_path / "seven.png"
    seven.save(path)
    assert diff(to_mnist(path), reference) == 0 and diff(to_mnist(str(path)), reference) == 0
    with pytest.raises(DigitrecError, match="no such (image |model )?file"):
        to_mnist(tmp_path / "missing.png")
    with pytest.raises(DigitrecError, match="is a folder"):
        to_mnist(tmp_path)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(DigitrecError, match="notes.png: not an image"):
        to_mnist(tmp_path / "notes.png")


def test_max_pixels_is_checked_before_decoding(seven: Image.Image) -> None:
    with pytest.raises(DigitrecError, match="declares 200x200"):
        load_image(encode(seven, "PNG"), max_pixels=10_000)
    with pytest.raises(DigitrecError, match="declares 200x200"):
        load_image(seven, max_pixels=10_000)


def test_arrays_of_every_kind(seven: Image.Image, reference: np.ndarray) -> None:
    gray = np.asarray(seven)
    variants = [gray, np.dstack([gray] * 3), np.dstack([gray] * 3 + [np.full_like(gray, 255)]), gray[None],
                gray[..., None], gray.astype(np.uint16) * 257, gray / 255.0, gray.astype(np.float32),
                gray.astype(np.int64), gray > 127]
    for array in variants:
        assert diff(to_mnist(array), reference) <= 3, (array.dtype, array.shape)


@pytest.mark.parametrize("array, message", [
    (np.zeros((5, 5, 2)), "shape"), (np.zeros((0, 10)), "shape"), (np.full((9, 9), np.nan), "NaN"),
    (np.full((9, 9), -1.5), "normalised"), (np.full((9, 9), 300), "0..255"), (np.zeros((4, 4), complex), "dtype"),
])
def test_bad_arrays(array: np.ndarray, message: str) -> None:
    with pytest.raises(DigitrecError, match=message):
        to_mnist(array)


def test_unsupported_input_type() -> None:
    with pytest.raises(DigitrecError, match="cannot read this type"):
        to_mnist(12345)  # type: ignore[arg-type]


def test_normalize_matches_the_training_constants() -> None:
    x = np.zeros((28, 28), np.uint8)
    x[3, 4] = 255
    norm = MNIST_NORMALIZATION
    out = norm.from_uint8(x)
    assert out.shape == (1, 1, 28, 28) and out.dtype == np.float32
    assert out[0, 0, 0, 0] == pytest.approx(-norm.mean / norm.std)
    assert out[0, 0, 3, 4] == pytest.approx((1 - norm.mean) / norm.std)
    assert norm.from_uint8(np.zeros((5, 28, 28), np.uint8)).shape == (5, 1, 28, 28)
    assert np.allclose(norm(x / 255.0), out[0, 0], atol=1e-6)  # the float path used in training agrees


def test_as_mnist_passes_28x28_through(tmp_path) -> None:
    digit = mnist_test()[0][0]
    assert as_mnist(digit) is digit
    Image.fromarray(digit).save(tmp_path / "d.png")
    assert np.array_equal(as_mnist(tmp_path / "d.png"), digit)
    with pytest.raises(DigitrecError, match="is 56x56.*drop --no-preprocess"):
        as_mnist(np.zeros((56, 56), np.uint8), name="big")


def test_preprocessing_imports_neither_torch_nor_onnxruntime() -> None:
    code = "import sys, digitrec.preprocess; print(sorted({'torch', 'onnxruntime'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("shear", [-0.8, -0.3, 0.0, 0.5])
def test_slant_measures_a_shear_and_upright_undoes_it(shear: float) -> None:
    """An oracle: an upright bar sheared by `shear` columns per row leans by `shear`; `upright` brings
    it to MNIST's median lean, whatever it leaned before."""
    h = 60
    bar = np.zeros((h, 120), np.float32)
    for y in range(h):
        x = 60 + shear * (y - h / 2)
        bar[y, int(round(x)) - 3:int(round(x)) + 4] = 1.0
    assert slant(bar) == pytest.approx(shear, abs=0.02)
    cols = np.flatnonzero(bar.any(0))
    assert slant(upright_crop(bar[:, cols[0]:cols[-1] + 1])) == pytest.approx(UPRIGHT, abs=0.03)
    assert leans(bar) == (not LEAN[0] <= shear <= LEAN[1])


def test_an_empty_ink_map_is_no_digit_not_a_crash():
    from digitrec.preprocess import ink_to_mnist

    for select in (True, False):
        with pytest.raises(DigitrecError) as err:
            ink_to_mnist(np.zeros((84, 84), np.float32), name="blank.png", select=select)
        assert err.value.kind == "no-digit" and err.value.input == "blank.png"
