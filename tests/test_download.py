"""`digitrec data download` against mirrors served from 127.0.0.1: good, failing, corrupt and hostile."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from digitrec import data
from digitrec.download import SLACK, download_mnist
from digitrec.errors import DigitrecError

NAMES = [f"{stem}.gz" for stem, _, _ in data.FILES.values()]
IMAGE_NAMES = [name for name in NAMES if "images" in name]
LABELS = "train-labels-idx1-ubyte.gz"


def _flip_one_byte(gz_blob: bytes) -> bytes:
    """The same file with one payload byte changed and re-gzipped: valid gzip, valid header, bad SHA-256."""
    raw = bytearray(gzip.decompress(gz_blob))
    raw[len(raw) // 2] ^= 0x01
    return gzip.compress(bytes(raw), compresslevel=1)


class Mirrors(ThreadingHTTPServer):
    """One server, one mirror per first path segment: /good/, /missing/, /corrupt/, ..."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.good = {name: (data.embedded_dir() / name).read_bytes() for name in NAMES}
        self.corrupt = {name: _flip_one_byte(blob) for name, blob in self.good.items()}
        self.requests: list[str] = []
        self.release = threading.Event()  # lets the stalling handlers end at teardown

    def url(self, mirror: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{mirror}/"


class _Handler(BaseHTTPRequestHandler):
    server: Mirrors

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        self.server.requests.append(self.path)
        mirror, _, name = self.path.strip("/").partition("/")
        if name not in NAMES or mirror == "missing":
            self.send_error(404)
            return
        try:
            self._serve(mirror, name)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (oversized or slow answer)

    def _serve(self, mirror: str, name: str) -> None:
        good = self.server.good[name]
        if mirror == "slow":  # never answers in time
            self.server.release.wait(10)
            return
        if mirror == "garbage":  # not HTTP at all
            self.wfile.write(b"hello\r\n\r\n")
            return
        if mirror.startswith("trickle"):  # a byte at a time, each well within the per-read timeout
            self._trickle(good if mirror == "trickle" else b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000)
            return
        body = {
            "good": good,
            "corrupt": self.server.corrupt.get(name, b""),
            "html": b"<html><body>Moved. Please log in.</body></html>\n",  # a 200 that is no file
            "plain": gzip.decompress(good),
            "huge": bytes(data.raw_size(_role(name)) + SLACK + 4096),
        }.get(mirror, good)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mirror == "stall":  # half the body, then silence
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.server.release.wait(10)
        elif mirror == "short":  # half the body, then hang up
            self.wfile.write(body[: len(body) // 2])
        else:
            self.wfile.write(body)

    def _trickle(self, text: bytes) -> None:
        if self.path.strip("/").startswith("trickle/"):  # the body: headers first, at once
            self.send_response(200)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
        for i in range(len(text)):
            if self.server.release.wait(0.02):
                return
            self.wfile.write(text[i:i + 1])
            self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _role(name: str) -> str:
    return next(role for role, (stem, _, _) in data.FILES.items() if name == f"{stem}.gz")


@pytest.fixture(scope="module")
def server() -> Iterator[Mirrors]:
    httpd = Mirrors()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def mirrors(server: Mirrors, monkeypatch: pytest.MonkeyPatch) -> Mirrors:
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # 127.0.0.1 must be reached directly
    server.requests.clear()
    return server


@pytest.fixture(scope="module")
def refused() -> str:
    """A URL on a port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def _copy_embedded(dest: Path, names: list[str]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(data.embedded_dir() / name, dest / name)


def test_bad_mirrors_are_skipped_in_order_and_the_good_copy_is_written(
        tmp_path: Path, mirrors: Mirrors, refused: str) -> None:
    dest = tmp_path / "new" / "mnist"
    order = ["missing", "corrupt", "html", "good"]
    lines: list[str] = []
    result = download_mnist(dest, mirrors=[refused] + [mirrors.url(m) for m in order], progress=lines.append)
    assert result == dest
    assert sorted(os.listdir(dest)) == sorted(NAMES)  # nothing partial or temporary beside them
    for name in NAMES:
        assert (dest / name).read_bytes() == mirrors.good[name]
    assert mirrors.requests == [f"/{m}/{name}" for name in NAMES for m in order]
    assert len(lines) == 4 and all(mirrors.url("good") in line for line in lines)
    loaded = data.load_mnist(dest)
    assert loaded.train_images.shape == (60000, 28, 28) and loaded.test_labels.shape == (10000,)

    mirrors.requests.clear()  # a second run finds everything valid and downloads nothing
    download_mnist(dest, mirrors=[mirrors.url("good")], progress=lines.append)
    assert mirrors.requests == []
    assert sorted(os.listdir(dest)) == sorted(NAMES)


def test_all_mirrors_bad_is_one_line_naming_each_and_writes_nothing(
        tmp_path: Path, mirrors: Mirrors, refused: str) -> None:
    dest = tmp_path / "mnist"
    bad = [refused, mirrors.url("missing"), mirrors.url("corrupt"), mirrors.url("html")]
    with pytest.raises(DigitrecError) as err:
        download_mnist(dest, mirrors=bad)
    message = str(err.value)
    assert "\n" not in message
    assert "train-images-idx3-ubyte.gz" in message
    reasons = {seg.split(" (")[0]: seg for seg in message.split(": ", 1)[1].split("; ")}
    for mirror, reason in zip(bad, ["refused", "HTTP 404", "SHA-256", "magic number"], strict=True):
        assert reason in reasons[mirror]
    assert "--mirror" in message  # what to do
    assert not dest.exists()


def test_oversized_slow_and_broken_answers_are_cut_off(tmp_path: Path, mirrors: Mirrors) -> None:
    dest = tmp_path / "mnist"
    _copy_embedded(dest, IMAGE_NAMES)  # kept, so the labels are the first file fetched
    bad = [mirrors.url(m) for m in ("huge", "slow", "stall", "short", "garbage")]
    with pytest.raises(DigitrecError) as err:
        download_mnist(dest, mirrors=bad, timeout=0.5)
    message = str(err.value)
    assert LABELS in message and "\n" not in message
    assert f"{bad[0]} (answer larger than {data.raw_size('train_labels') + SLACK:,} bytes)" in message
    assert f"{bad[1]} (timed out)" in message
    assert f"{bad[2]} (timed out)" in message
    size = len(mirrors.good[LABELS])
    assert f"{bad[3]} (connection closed after {size // 2:,} of {size:,} bytes)" in message
    assert f"{bad[4]} (invalid HTTP answer (BadStatusLine))" in message
    assert sorted(os.listdir(dest)) == sorted(IMAGE_NAMES)


@pytest.mark.parametrize("mirror", ["trickle", "trickle-head"])
def test_a_trickling_mirror_fails_at_the_overall_deadline(tmp_path: Path, mirrors: Mirrors, mirror: str) -> None:
    # A byte every 20 ms never trips the 0.1 s per-read timeout; the whole answer (headers or body)
    # gets 20 x 0.1 s.
    dest = tmp_path / "mnist"
    _copy_embedded(dest, IMAGE_NAMES)
    start = time.monotonic()
    with pytest.raises(DigitrecError) as err:
        download_mnist(dest, mirrors=[mirrors.url(mirror)], timeout=0.1)
    assert time.monotonic() - start < 10
    assert f"{mirrors.url(mirror)} (too slow: " in str(err.value) and "in 2 s)" in str(err.value)
    assert sorted(os.listdir(dest)) == sorted(IMAGE_NAMES)


def test_valid_files_are_kept_and_a_damaged_one_is_replaced(tmp_path: Path, mirrors: Mirrors) -> None:
    dest = tmp_path / "mnist"
    _copy_embedded(dest, NAMES)
    (dest / LABELS).write_bytes(b"\x1f\x8b truncated")
    kept = {name: (dest / name).stat().st_mtime_ns for name in NAMES if name != LABELS}
    lines: list[str] = []
    download_mnist(dest, mirrors=[mirrors.url("good")], progress=lines.append)
    assert mirrors.requests == [f"/good/{LABELS}"]
    assert {name: (dest / name).stat().st_mtime_ns for name in kept} == kept
    assert sum("kept" in line for line in lines) == 3
    data.load_mnist(dest)


def test_an_uncompressed_answer_is_stored_gzipped(tmp_path: Path, mirrors: Mirrors) -> None:
    dest = tmp_path / "mnist"
    _copy_embedded(dest, IMAGE_NAMES)
    download_mnist(dest, mirrors=[mirrors.url("plain")])
    assert sorted(os.listdir(dest)) == sorted(NAMES)
    for name in NAMES:
        assert gzip.decompress((dest / name).read_bytes()) == gzip.decompress(mirrors.good[name])


def test_a_failed_write_leaves_no_file(tmp_path: Path, mirrors: Mirrors, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    dest = tmp_path / "mnist"
    with pytest.raises(DigitrecError, match="cannot write here .the disk is full"):
        download_mnist(dest, mirrors=[mirrors.url("good")])
    assert os.listdir(dest) == []


@pytest.mark.parametrize("mirror", ["ftp://example.org/mnist/", "file:///tmp/", "example.org/mnist"])
def test_a_mirror_must_be_http(tmp_path: Path, mirror: str) -> None:
    with pytest.raises(DigitrecError, match="not an http:// or https:// URL"):
        download_mnist(tmp_path / "mnist", mirrors=[mirror])
    assert not (tmp_path / "mnist").exists()


def test_no_mirror_at_all_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DigitrecError, match="no mirror to download from"):
        download_mnist(tmp_path / "mnist", mirrors=[])


def test_destination_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(DigitrecError, match="is not a folder"):
        download_mnist(target)


# -- the command line -------------------------------------------------------------------------------

def _digitrec(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("digitrec")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "digitrec"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=120)


def test_cli_download_writes_a_copy_that_loads(tmp_path: Path, mirrors: Mirrors) -> None:
    dest = tmp_path / "mnist"
    # No trailing slash on the second mirror: it must be joined the same way.
    result = _digitrec("data", "download", str(dest), "--mirror", mirrors.url("missing"),
                       "--mirror", mirrors.url("good").rstrip("/"))
    assert result.returncode == 0, result.stderr
    assert f"--data-dir {dest}" in result.stdout
    assert sorted(os.listdir(dest)) == sorted(NAMES)
    data.load_mnist(dest)


@pytest.mark.parametrize("mirror", ["missing", "ftp"])
def test_cli_download_failure_is_one_line(tmp_path: Path, mirrors: Mirrors, mirror: str) -> None:
    url = mirrors.url(mirror) if mirror != "ftp" else "ftp://127.0.0.1/mnist/"
    result = _digitrec("data", "download", str(tmp_path / "mnist"), "--mirror", url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digitrec data: error: ")
    assert url in lines[0]
    assert not (tmp_path / "mnist").exists()
