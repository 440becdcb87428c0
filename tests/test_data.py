"""MNIST loading: IDX parsing, the embedded copy, both folder layouts, and every kind of damaged file."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from digitrec import data
from digitrec.errors import DigitrecError

STEMS = {role: stem for role, (stem, _, _) in data.FILES.items()}


@pytest.fixture(scope="module")
def embedded() -> data.MNIST:
    return data.load_mnist()


@pytest.fixture(scope="module")
def raw_files() -> dict[str, bytes]:
    """Role -> decompressed IDX bytes of the embedded copy."""
    return {role: gzip.decompress((data.embedded_dir() / f"{stem}.gz").read_bytes())
            for role, stem in STEMS.items()}


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    """A fresh copy of the embedded files in our layout, free to damage."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem in STEMS.values():
        shutil.copy(data.embedded_dir() / f"{stem}.gz", folder / f"{stem}.gz")
    return folder


# -- IDX parsing ------------------------------------------------------------------------------------

def test_parse_idx_reads_labels_after_the_8_byte_header() -> None:
    labels = np.random.default_rng(0).integers(0, 10, 60000, dtype=np.uint8)
    parsed = data.parse_idx(struct.pack(">II", 2049, 60000) + labels.tobytes(), "train_labels", "x")
    assert parsed.dtype == np.uint8 and parsed.shape == (60000,)
    np.testing.assert_array_equal(parsed, labels)


def test_parse_idx_reads_images_row_major_after_the_16_byte_header() -> None:
    images = np.random.default_rng(1).integers(0, 256, (10000, 28, 28), dtype=np.uint8)
    raw = struct.pack(">IIII", 2051, 10000, 28, 28) + images.tobytes()
    parsed = data.parse_idx(raw, "test_images", "x")
    assert parsed.dtype == np.uint8 and parsed.shape == (10000, 28, 28)
    np.testing.assert_array_equal(parsed, images)


def test_raw_size_matches_the_real_files(raw_files: dict[str, bytes]) -> None:
    for role, raw in raw_files.items():
        assert data.raw_size(role) == len(raw)


# -- the embedded copy ------------------------------------------------------------------------------

def test_embedded_copy_has_mnist_shapes_dtypes_and_labels(embedded: data.MNIST) -> None:
    assert embedded.train_images.shape == (60000, 28, 28)
    assert embedded.test_images.shape == (10000, 28, 28)
    assert embedded.train_labels.shape == (60000,)
    assert embedded.test_labels.shape == (10000,)
    for arr in (embedded.train_images, embedded.train_labels, embedded.test_images, embedded.test_labels):
        assert arr.dtype == np.uint8
    for labels in (embedded.train_labels, embedded.test_labels):
        counts = np.bincount(labels, minlength=10)
        assert len(counts) == 10 and counts.min() > 0.08 * len(labels)  # every digit, roughly balanced
    # White digit on black, with the statistics every consumer normalises by.
    histogram = np.bincount(embedded.train_images.ravel(), minlength=256) / embedded.train_images.size
    values = np.arange(256) / 255.0
    mean = (histogram * values).sum()
    std = np.sqrt((histogram * (values - mean) ** 2).sum())
    assert abs(mean - data.MNIST_NORMALIZATION.mean) < 1e-3 and abs(std - data.MNIST_NORMALIZATION.std) < 1e-3
    # The first labels of each split, as published with the original files.
    assert embedded.train_labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert embedded.test_labels[:5].tolist() == [7, 2, 1, 0, 4]


# The SHA-256 digests of the four decompressed IDX files as published for the original MNIST (the
# files LeCun's site and its mirrors serve), written here rather than read from our SHA256SUMS, so
# that the embedded copy and the sums the loader checks against are both checked against the world.
PUBLISHED_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def test_embedded_files_are_the_published_mnist(raw_files: dict[str, bytes]) -> None:
    for role, raw in raw_files.items():
        assert hashlib.sha256(raw).hexdigest() == PUBLISHED_SHA256[STEMS[role]], role
    assert data.expected_sha256() == PUBLISHED_SHA256  # and the loader checks against the same digests


# -- layouts ----------------------------------------------------------------------------------------

def _assert_same(a: data.MNIST, b: data.MNIST) -> None:
    for role in data.FILES:
        np.testing.assert_array_equal(getattr(a, role), getattr(b, role))


def test_our_layout_loads(copy_dir: Path, embedded: data.MNIST) -> None:
    _assert_same(data.load_mnist(copy_dir), embedded)


@pytest.mark.parametrize("gzipped", [True, False], ids=["gz", "plain"])
def test_torchvision_layout_loads(tmp_path: Path, raw_files: dict[str, bytes], embedded: data.MNIST,
                                  gzipped: bool) -> None:
    raw_dir = tmp_path / "MNIST" / "raw"
    raw_dir.mkdir(parents=True)
    for role, stem in STEMS.items():
        if gzipped:
            shutil.copy(data.embedded_dir() / f"{stem}.gz", raw_dir / f"{stem}.gz")
        else:
            (raw_dir / stem).write_bytes(raw_files[role])
    _assert_same(data.load_mnist(tmp_path), embedded)
    _assert_same(data.load_mnist(str(tmp_path)), embedded)


def test_missing_folder_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(DigitrecError) as err:
        data.load_mnist(tmp_path / "nowhere")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "nowhere") in message and "no such folder" in message
    assert "digitrec data download" in message


# -- damaged files ----------------------------------------------------------------------------------
# Each case damages one file of a good copy; loading must fail with one line that names that file,
# says what was expected, and says what to do.

def _put(folder: Path, role: str, raw: bytes, gz: bool) -> Path:
    """Replace a role's file in `folder` by `raw` (gzipped, or plain without .gz) and return its path."""
    stem = STEMS[role]
    (folder / f"{stem}.gz").unlink()
    path = folder / (f"{stem}.gz" if gz else stem)
    path.write_bytes(gzip.compress(raw, compresslevel=1) if gz else raw)
    return path


def _header(raw: bytes, index: int, value: int) -> bytes:
    """`raw` with its `index`-th big-endian uint32 header field set to `value`."""
    return raw[:4 * index] + struct.pack(">I", value) + raw[4 * index + 4:]


def _flip(raw: bytes, offset: int) -> bytes:
    return raw[:offset] + bytes([raw[offset] ^ 0x01]) + raw[offset + 1:]


def _damage_missing(folder: Path, files: dict[str, bytes]) -> Path:
    (folder / f"{STEMS['train_labels']}.gz").unlink()
    return folder


def _damage_truncated_gz(folder: Path, files: dict[str, bytes]) -> Path:
    path = folder / f"{STEMS['train_labels']}.gz"
    path.write_bytes(path.read_bytes()[:10000])
    return path


def _damage_gz_stream(folder: Path, files: dict[str, bytes]) -> Path:
    path = folder / f"{STEMS['train_labels']}.gz"
    blob = path.read_bytes()
    path.write_bytes(_flip(blob, len(blob) // 2))  # a byte inside the deflate stream
    return path


def _damage_truncated_raw(folder: Path, files: dict[str, bytes]) -> Path:
    return _put(folder, "train_labels", files["train_labels"][:-100], gz=False)


def _damage_padded_raw(folder: Path, files: dict[str, bytes]) -> Path:
    return _put(folder, "train_labels", files["train_labels"] + b"\0" * 10, gz=False)


def _damage_magic(folder: Path, files: dict[str, bytes]) -> Path:
    return _put(folder, "train_labels", _header(files["train_labels"], 0, 2051), gz=True)


def _damage_count(folder: Path, files: dict[str, bytes]) -> Path:
    return _put(folder, "train_labels", _header(files["train_labels"], 1, 59999), gz=True)


def _damage_image_size(folder: Path, files: dict[str, bytes]) -> Path:
    # The header alone is wrong: the size check must not depend on the file's length.
    raw = _header(_header(files["train_images"], 2, 32), 3, 24)
    return _put(folder, "train_images", raw, gz=False)


def _damage_flipped_label(folder: Path, files: dict[str, bytes]) -> Path:
    # Header intact, gzip intact, one label changed by one bit: only the SHA-256 can tell.
    return _put(folder, "train_labels", _flip(files["train_labels"], 8 + 12345), gz=True)


def _damage_not_gzip(folder: Path, files: dict[str, bytes]) -> Path:
    path = folder / f"{STEMS['train_labels']}.gz"
    path.write_bytes(b"<html><body>404 Not Found</body></html>\n")
    return path


def _damage_empty(folder: Path, files: dict[str, bytes]) -> Path:
    path = folder / f"{STEMS['train_labels']}.gz"
    path.write_bytes(b"")
    return path


DAMAGES = {
    "missing": (_damage_missing, "no train-labels-idx1-ubyte"),
    "truncated-gz": (_damage_truncated_gz, "not a readable gzip file"),
    "flipped-byte-in-gz": (_damage_gz_stream, "not a readable gzip file"),
    "truncated-raw": (_damage_truncated_raw, "59908 bytes, expected 60008"),
    "padded-raw": (_damage_padded_raw, "60018 bytes, expected 60008"),
    "wrong-magic": (_damage_magic, "magic number is 2051, expected 2049"),
    "wrong-count": (_damage_count, "59999 items, expected 60000"),
    "wrong-image-size": (_damage_image_size, "32x24, expected 28x28"),
    "flipped-byte-sha": (_damage_flipped_label, "SHA-256"),
    "not-gzip": (_damage_not_gzip, "expected 2049"),
    "empty": (_damage_empty, "only 0 bytes"),
}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_damaged_file_gives_one_line_naming_it(case: str, copy_dir: Path, raw_files: dict[str, bytes]) -> None:
    damage, expected = DAMAGES[case]
    named = damage(copy_dir, raw_files)
    with pytest.raises(DigitrecError) as err:
        data.load_mnist(copy_dir)
    message = str(err.value)
    assert "\n" not in message
    assert str(named) in message
    assert expected in message
    assert "digitrec data download" in message  # what to do


def test_gzip_bomb_is_refused_without_inflating_it(copy_dir: Path) -> None:
    # A right header, then 200 MB of zeros that compress to under 1 MB: reading must stop just past
    # the 60008 bytes a label file has.
    path = copy_dir / f"{STEMS['train_labels']}.gz"
    with path.open("wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=1) as bomb:
        bomb.write(struct.pack(">II", 2049, 60000))
        for _ in range(200):
            bomb.write(bytes(1 << 20))
    with pytest.raises(DigitrecError, match="60009 bytes, expected 60008"):
        data.read_verified(path.read_bytes(), "train_labels", str(path))


def test_a_bad_file_is_not_rescued_by_the_other_layout(copy_dir: Path) -> None:
    # Our layout is found first; a valid torchvision copy beside it must not hide the damage.
    raw_dir = copy_dir / "MNIST" / "raw"
    raw_dir.mkdir(parents=True)
    shutil.copy(copy_dir / f"{STEMS['train_labels']}.gz", raw_dir)
    (copy_dir / f"{STEMS['train_labels']}.gz").write_bytes(b"")
    with pytest.raises(DigitrecError, match="only 0 bytes"):
        data.load_mnist(copy_dir)
