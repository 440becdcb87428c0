"""Property-based fuzzing (hypothesis) of decoding, preprocessing and the API.

The rule for any input: a result or a DigitrecError, never another exception, and in bounded memory;
for any request: a 2xx or 4xx, never a 5xx. Inputs: random bytes, bytes behind every allowed format's
magic number, damaged real images, PNGs declaring random sizes and depths, random valid images of
every mode and size in every format that can hold them, and float images holding NaN or infinity.
CI's runs are derandomised, so it sees the same examples every time (see FUZZ for a bug hunt).
"""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from digitrec.errors import DigitrecError
from digitrec.images import MAX_DECODE_BYTES, decode_cost, open_image, pixel_bytes
from digitrec.preprocess import to_mnist
from digitrec.server import create_app
from fixtures import encode, font_digit

with warnings.catch_warnings():  # starlette >= 1.x prefers the httpx2 fork; httpx still works
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

# CI: the same 150 examples per test every run. To hunt for new failures, run with a fresh random
# seed and many more examples: HYPOTHESIS_PROFILE=hunt python -m pytest tests/test_fuzz.py
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_QUIET)
settings.register_profile("hunt", max_examples=3000, deadline=None, database=None, suppress_health_check=_QUIET)
FUZZ = settings(settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci")))
MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"GIF87a", b"BM", b"II*\x00", b"MM\x00*",
         b"RIFF\x00\x00\x00\x00WEBPVP8L", b"P5\n", b"P2\n", b"P6\n", b"P1\n", b"%!PS", b"%PDF-"]


def outcome(data: bytes) -> np.ndarray | DigitrecError:
    """to_mnist's answer, or its DigitrecError; any other exception fails the test."""
    try:
        x = to_mnist(data)
    except DigitrecError as err:
        assert str(err) and "\n" not in str(err)
        return err
    assert x.shape == (28, 28) and x.dtype == np.uint8
    return x


@pytest.fixture(scope="module", autouse=True)
def bounded_memory():
    """Every example of this module together may raise the process's peak RSS by no more than one
    input's decode budget (and 64 MB of slack), however large the sizes the inputs declare."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    yield
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert grown <= MAX_DECODE_BYTES + 64 * 2**20, f"peak RSS grew by {grown / 2**20:.0f} MB"


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    outcome(data)


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=2048))
def test_random_bytes_behind_each_magic_number(magic, rest):
    outcome(magic + rest)


def _encodings() -> list[bytes]:
    seven = font_digit(7, size=80)
    return [encode(seven, fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")] + [
        encode(seven.convert("RGBA"), "PNG"), encode(seven, "JPEG", progressive=True),
        encode(seven, "TIFF", compression="tiff_deflate")]


ENCODINGS = _encodings()


@FUZZ
@given(st.sampled_from(ENCODINGS), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),
       st.floats(0.05, 1.0))
def test_damaged_real_images(data, changes, keep):
    damaged = bytearray(data[:max(1, int(len(data) * keep))])
    for position, value in changes:
        damaged[position % len(damaged)] = value
    outcome(bytes(damaged))


@FUZZ
@given(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1), st.sampled_from([1, 2, 4, 8, 16]),
       st.sampled_from([0, 2, 3, 4, 6]), st.binary(max_size=512))
def test_pngs_declaring_any_size(width, height, depth, color, rows):
    # A valid signature and IHDR of any size, then random (compressed) pixel data: refused from the
    # header when too big, else decoded or refused as damaged, in bounded memory either way.
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    outcome(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


FORMATS = {"PNG": ("1", "L", "P", "LA", "RGB", "RGBA", "I;16"), "JPEG": ("L", "RGB", "CMYK"),
           "GIF": ("L", "P"), "BMP": ("1", "L", "P", "RGB", "RGBA"), "WEBP": ("RGB", "RGBA"),
           "TIFF": ("1", "L", "P", "LA", "RGB", "RGBA", "CMYK", "I;16", "I", "F"), "PPM": ("1", "L", "RGB", "I")}


@st.composite
def images(draw) -> tuple[str, Image.Image]:
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(FORMATS[fmt]))
    width, height = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(["noise", "blank", "bar"]))
    x = rng.random((height, width)) if style == "noise" else np.ones((height, width))
    if style == "bar":
        x[height // 4: 3 * height // 4 + 1, width // 2 - width // 10: width // 2 + width // 10 + 1] = 0
    gray = Image.fromarray(np.round(x * 255).astype(np.uint8))
    if mode in ("I;16", "I", "F"):
        scale = {"I;16": 65535, "I": 65535, "F": 1.0}[mode]
        image = Image.fromarray((x * scale).astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]))
    else:
        image = gray.convert(mode)
    return fmt, image


@FUZZ
@given(images())
def test_random_valid_images_of_every_mode_and_size(case):
    fmt, image = case
    try:
        data = encode(image, fmt)
    except (OSError, ValueError, KeyError):
        return  # this Pillow cannot write that mode in that format: nothing to test
    opened, cost = open_image(data)
    assert decode_cost(data) == cost  # the server's quick price is open_image's
    assert cost >= len(data) + opened.width * opened.height * pixel_bytes(opened.mode)
    result = outcome(data)
    assert not isinstance(result, DigitrecError) or result.kind in ("no-digit", "unreadable")


@FUZZ
@given(st.integers(4, 120), st.integers(4, 120), st.sampled_from([np.nan, np.inf, -np.inf]),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=8),
       st.sampled_from([np.float32, np.float64]), st.booleans())
def test_float_images_with_nan_or_infinity_are_refused(height, width, bad, spots, dtype, as_tiff):
    x = np.ones((height, width), dtype)
    x[height // 4: 3 * height // 4, width // 3: width // 2] = 0
    for i, j in spots:
        x[i % height, j % width] = bad
    source = encode(Image.fromarray(x.astype(np.float32)), "TIFF") if as_tiff else x
    with pytest.raises(DigitrecError, match="NaN or infinite"):
        to_mnist(source)


# -- the API ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
CONTENT_TYPES = st.one_of(st.sampled_from(["image/png", "application/json", "multipart/form-data",
                                           "multipart/form-data; boundary=x", "application/octet-stream",
                                           "text/plain", ""]), HEADER_TEXT)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=5), max_leaves=20)


@FUZZ
@given(st.sampled_from(["/api/predict", "/api/predict/batch"]), CONTENT_TYPES,
       st.one_of(st.binary(max_size=3000), st.sampled_from(ENCODINGS)),
       st.dictionaries(st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20), HEADER_TEXT, max_size=6))
def test_random_bodies_and_headers_never_get_5xx(client, path, kind, body, headers):
    headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "transfer-encoding", "host")}
    response = client.post(path, content=body, headers={**headers, "Content-Type": kind})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert "\n" not in response.json()["detail"]


@FUZZ
@given(st.sampled_from(["/api/predict", "/api/predict/batch"]), JSON)
def test_random_json_never_gets_5xx(client, path, doc):
    response = client.post(path, content=json.dumps(doc), headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text


@FUZZ
@given(st.lists(st.sampled_from(ENCODINGS + [b"", b"junk", b"%!PS"]), min_size=1, max_size=5),
       st.sampled_from(["image", "images", "file", "files", "x"]))
def test_random_multipart_never_gets_5xx(client, parts, field):
    files = [(field, (f"{i}.png", io.BytesIO(part), "image/png")) for i, part in enumerate(parts)]
    response = client.post("/api/predict/batch", files=files)
    assert response.status_code < 500, response.text


PIL_MODES = ["1", "L", "P", "PA", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "RGB", "RGBA",
             "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"]


@pytest.mark.parametrize("mode", PIL_MODES)
def test_pil_images_of_every_mode(mode):
    # The Python API takes PIL images as they are: every mode Pillow can make gives a result or a
    # DigitrecError (this one's strokes are its mode's zero on its mode's white-ish paper).
    paper = Image.new(mode, (120, 90), {"1": 1, "I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535,
                                        "I": 65535, "F": 1.0}.get(mode, 255 if Image.getmodebands(mode) == 1
                                                                   else (255,) * Image.getmodebands(mode)))
    paper.paste(Image.new(mode, (8, 60)), (56, 15))
    outcome(paper)
