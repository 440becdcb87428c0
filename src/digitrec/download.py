"""`digitrec data download`: fetch the four MNIST files from public mirrors, verify, write atomically.

Standard library only (urllib). Each file is read whole into memory (at most ~47 MB), checked by
`data.read_verified` (SHA-256 and IDX header), and only then written, so a failed or interrupted
download never leaves a partial file. The result is in our layout, DIR/<stem>.gz.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import math
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from . import data
from .errors import DigitrecError, option_error
from .fileio import atomic_write, read_bounded

# The mirrors torchvision and TensorFlow use, in the order tried. LeCun's original site is last:
# it is plain http and often refuses automated downloads.
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# Bytes a response may have beyond the decompressed file size: room for gzip's framing even if
# the data did not compress at all. Anything longer is not an MNIST file and is not read further.
SLACK = 64 * 1024
CHUNK = 1 << 20  # bytes per read
DEADLINE_FACTOR = 20  # each file must arrive within this many --timeout periods, however it trickles


class _MirrorFailed(Exception):
    """One mirror could not provide one file; the message is the short reason."""


class _Deadline:
    """Shuts a download's sockets down once its time is up, whatever they are waiting for: the TLS
    handshake, headers trickling in a byte at a time, or the body. A per-read timeout alone never
    fires while bytes keep coming."""

    def __init__(self, seconds: float):
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns at once

    def opener(self) -> urllib.request.OpenerDirector:
        """An opener whose HTTP and HTTPS connections register their sockets here."""
        deadline = self

        def tracked(cls: type) -> type:
            class Tracked(cls):  # type: ignore[misc, valid-type]
                def __init__(self, *args: object, **kwargs: object) -> None:
                    super().__init__(*args, **kwargs)
                    create = self._create_connection

                    def create_tracked(*a: object, **k: object) -> socket.socket:
                        sock = create(*a, **k)
                        deadline.sockets.append(sock)
                        if deadline.expired:
                            sock.shutdown(socket.SHUT_RDWR)
                        return sock

                    self._create_connection = create_tracked

            return Tracked

        class HTTP(urllib.request.HTTPHandler):
            def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(tracked(http.client.HTTPConnection), req)

        class HTTPS(urllib.request.HTTPSHandler):
            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(tracked(http.client.HTTPSConnection), req, context=self._context)

        return urllib.request.build_opener(HTTP, HTTPS)


def _fetch(url: str, limit: int, timeout: float) -> bytes:
    """The body of `url`, at most `limit` bytes; `timeout` seconds for connecting and each read, and
    DEADLINE_FACTOR x `timeout` for the whole answer (a mirror trickling a byte a second fails too)."""
    request = urllib.request.Request(url, headers={"User-Agent": "digitrec (MNIST download)"})
    seconds = DEADLINE_FACTOR * timeout
    deadline = _Deadline(seconds)
    deadline.timer.start()
    chunks, size = [], 0
    try:
        with deadline.opener().open(request, timeout=timeout) as response:
            declared = response.length  # Content-Length, or None
            # read1: one socket read per call, so that the loop sees the limit as soon as it passes.
            while chunk := response.read1(min(CHUNK, limit + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise _MirrorFailed(f"answer larger than {limit:,} bytes")
            if deadline.expired:
                raise _MirrorFailed(f"too slow: {size:,} bytes in {seconds:g} s")
            if declared is not None and size < declared:
                raise _MirrorFailed(f"connection closed after {size:,} of {declared:,} bytes")
    except urllib.error.HTTPError as err:
        err.close()
        raise _MirrorFailed(f"HTTP {err.code}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        if deadline.expired:
            raise _MirrorFailed(f"too slow: {size:,} bytes in {seconds:g} s") from None
        if isinstance(err, urllib.error.URLError):
            raise _MirrorFailed(_short(err.reason)) from None
        if isinstance(err, http.client.HTTPException):  # the server does not speak HTTP
            raise _MirrorFailed(f"invalid HTTP answer ({type(err).__name__})") from None
        raise _MirrorFailed(_short(err)) from None  # timeouts and resets while reading the body
    finally:
        deadline.timer.cancel()
    return b"".join(chunks)


def _short(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return " ".join(text.split())  # one line, whatever the OS or server said


def _mirror_url(mirror: str) -> str:
    if not mirror.startswith(("http://", "https://")):
        raise DigitrecError(f"--mirror {mirror}", "is not an http:// or https:// URL",
                            f"pass e.g. --mirror {DEFAULT_MIRRORS[0]}")
    return mirror.rstrip("/") + "/"


def _is_valid(path: Path, role: str) -> bool:
    if not path.exists():
        return False
    try:
        data.read_verified(read_bounded(path, data.raw_size(role) + SLACK), role, str(path))
    except DigitrecError:
        return False
    return True


def _download_one(name: str, role: str, mirrors: Sequence[str], timeout: float,
                  progress: Callable[[str], None]) -> bytes:
    """The verified gzipped bytes of one file, from the first mirror that serves a valid copy."""
    failures = []
    for mirror in mirrors:
        url = mirror + name
        start = time.perf_counter()
        try:
            blob = _fetch(url, data.raw_size(role) + SLACK, timeout)
            data.read_verified(blob, role, url)
        except _MirrorFailed as err:
            failures.append(f"{mirror} ({err})")
            continue
        except DigitrecError as err:
            failures.append(f"{mirror} ({err.problem})")
            continue
        progress(f"{name}: {len(blob) / 1e6:.1f} MB from {mirror} in {time.perf_counter() - start:.1f} s, "
                 "verified")
        # A mirror may serve the file uncompressed; we always store gzip, as the layout promises.
        return blob if blob[:2] == b"\x1f\x8b" else gzip.compress(blob, compresslevel=6, mtime=0)
    raise DigitrecError(None, f"could not download a valid {name}: {'; '.join(failures)}",
                        "check the network connection, or pass a working mirror with --mirror URL (training "
                        "needs no download: without --data-dir it uses the embedded copy)", kind="network")


def download_mnist(dest_dir: str | Path, mirrors: Sequence[str] = DEFAULT_MIRRORS, timeout: float = 30.0,
                   progress: Callable[[str], None] | None = None) -> Path:
    """Download and verify the four MNIST files into `dest_dir` as <stem>.gz; return the folder.

    Files already there and valid are kept. Mirrors are tried in order, per file, until one serves a
    file whose SHA-256 and IDX header are right; `timeout` is seconds allowed for connecting and
    for each read. `progress` receives one line per file.
    """
    dest = Path(dest_dir).expanduser()
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise option_error("--timeout", timeout, "a positive number of seconds")
    if not mirrors:
        raise DigitrecError("--mirror", "no mirror to download from", "pass --mirror URL")
    bases = [_mirror_url(m) for m in mirrors]
    if dest.exists() and not dest.is_dir():  # created only once a file has arrived and been verified
        raise DigitrecError(str(dest), "exists and is not a folder", "pass a folder to download into",
                            kind="unwritable")
    report = progress or (lambda line: None)
    for role, (stem, _, _) in data.FILES.items():
        path = dest / (stem + ".gz")
        if _is_valid(path, role):
            report(f"{path.name}: already present and valid, kept")
            continue
        atomic_write(path, _download_one(path.name, role, bases, timeout, report))
    return dest
