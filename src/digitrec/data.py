"""MNIST: reading and verifying the four IDX files, from the embedded copy or a user's folder.

Everything here is numpy, not torch, so that the recogniser can use it without importing torch.
Arrays come back as uint8: images (N, 28, 28), labels (N,).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import DigitrecError

# role -> (file stem, IDX magic number, number of items)
FILES: dict[str, tuple[str, int, int]] = {
    "train_images": ("train-images-idx3-ubyte", 2051, 60000),
    "train_labels": ("train-labels-idx1-ubyte", 2049, 60000),
    "test_images": ("t10k-images-idx3-ubyte", 2051, 10000),
    "test_labels": ("t10k-labels-idx1-ubyte", 2049, 10000),
}
FIX_HINT = "run `digitrec data download DIR` and pass `--data-dir DIR`, or drop --data-dir to use the embedded copy"


@dataclass(frozen=True)
class MNIST:
    train_images: np.ndarray  # (60000, 28, 28) uint8, white digit on black
    train_labels: np.ndarray  # (60000,) uint8 in 0..9
    test_images: np.ndarray  # (10000, 28, 28) uint8
    test_labels: np.ndarray  # (10000,) uint8


def embedded_dir() -> Path:
    return Path(str(resources.files("digitrec") / "assets" / "mnist"))


def expected_sha256() -> dict[str, str]:
    """File stem -> SHA-256 of its decompressed contents, from the embedded SHA256SUMS."""
    lines = (embedded_dir() / "SHA256SUMS").read_text().split("\n")
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def parse_idx(raw: bytes, role: str, source: str) -> np.ndarray:
    """Check an IDX file's header (magic number, count, 28x28) and return its items as uint8."""
    stem, magic, count = FILES[role]
    header_len = 16 if magic == 2051 else 8
    if len(raw) < header_len:
        raise DigitrecError(f"{source}: only {len(raw)} bytes, too short for an IDX header; {FIX_HINT}")
    header = np.frombuffer(raw, ">u4", count=header_len // 4)
    if header[0] != magic:
        raise DigitrecError(f"{source}: IDX magic number is {header[0]}, expected {magic} for {stem}; {FIX_HINT}")
    if header[1] != count:
        raise DigitrecError(f"{source}: header declares {header[1]} items, expected {count}; {FIX_HINT}")
    shape: tuple[int, ...] = (count,)
    if magic == 2051:
        if (header[2], header[3]) != (28, 28):
            raise DigitrecError(f"{source}: images are {header[2]}x{header[3]}, expected 28x28; {FIX_HINT}")
        shape = (count, 28, 28)
    expected_len = header_len + int(np.prod(shape))
    if len(raw) != expected_len:
        raise DigitrecError(
            f"{source}: {len(raw)} bytes, expected {expected_len} (truncated or padded); {FIX_HINT}")
    # A writable copy: torch and users may modify it; the bytes object is read-only.
    return np.frombuffer(raw, np.uint8, offset=header_len).reshape(shape).copy()


def raw_size(role: str) -> int:
    """Bytes in a role's decompressed IDX file: the header, then one uint8 per label or pixel."""
    _, magic, count = FILES[role]
    return 16 + count * 28 * 28 if magic == 2051 else 8 + count


def decompress(blob: bytes, source: str, limit: int) -> bytes:
    """Gunzip `blob` (returned as is if not gzipped), stopping after `limit` + 1 bytes so that a
    gzip bomb cannot fill memory; parse_idx then reports the excess as a wrong length."""
    if blob[:2] != b"\x1f\x8b":
        return blob
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(blob)) as f:
            return f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise DigitrecError(f"{source}: not a readable gzip file ({err}); {FIX_HINT}") from None


def verify_sha256(raw: bytes, role: str, source: str) -> None:
    stem = FILES[role][0]
    digest = hashlib.sha256(raw).hexdigest()
    expected = expected_sha256()[stem]
    if digest != expected:
        raise DigitrecError(
            f"{source}: SHA-256 of its contents is {digest[:12]}..., expected {expected[:12]}... "
            f"(corrupted or not the original MNIST); {FIX_HINT}")


def read_verified(blob: bytes, role: str, source: str) -> np.ndarray:
    """Decompress (if gzipped), check the SHA-256 and the IDX header, and return the array."""
    raw = decompress(blob, source, raw_size(role))
    arr = parse_idx(raw, role, source)  # header first: it gives the more specific message
    verify_sha256(raw, role, source)
    return arr


def locate(data_dir: Path, role: str) -> Path:
    """Find a file in our layout (DIR/stem[.gz]) or torchvision's (DIR/MNIST/raw/stem[.gz])."""
    stem = FILES[role][0]
    for folder in (data_dir, data_dir / "MNIST" / "raw", data_dir / "raw"):
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    raise DigitrecError(
        f"{data_dir}: no {stem}[.gz] in it or in its MNIST/raw/ folder; {FIX_HINT}")


def load_mnist(data_dir: str | Path | None = None) -> MNIST:
    """The four verified arrays, from `data_dir` (ours or torchvision's layout) or the embedded copy."""
    folder = Path(data_dir).expanduser() if data_dir else embedded_dir()
    if not folder.is_dir():
        raise DigitrecError(f"{folder}: no such folder; {FIX_HINT}")
    arrays = {}
    for role in FILES:
        path = locate(folder, role)
        arrays[role] = read_verified(path.read_bytes(), role, str(path))
    return MNIST(**arrays)
