"""Files read and written safely: only regular files are read, and never more than a limit; writes
are atomic, so a reader or a process killed mid-write never sees half a file; and output folders are
checked before any work is done, so a typo costs one line, not a finished run."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import DigitrecError


def _unwritable(path: Path, err: OSError, what: str = "") -> DigitrecError:
    reason = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.ENOTDIR: "a file is in the way of the folder", errno.EEXIST: "a file is in the way",
              errno.EDQUOT: "the disk quota is exceeded"}.get(err.errno, err.strerror or str(err))
    return DigitrecError(f"{what} {path}".strip(), f"cannot write here ({reason})",
                         "choose another location", kind="unwritable")


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one; on any
    failure (a full disk, say) no temporary file is left behind."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise _unwritable(path, err) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _unwritable(path, err) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def writable_dir(path: Path, what: str = "") -> Path:
    """`path` as a folder we can write into (created if missing), or a one-line error naming `what`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DigitrecError(f"{what} {path}".strip(), "exists and is not a folder", "choose a folder path",
                            kind="unwritable")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise _unwritable(path, err, what) from None
    return path


def check_regular_file(path: Path, what: str = "file") -> os.stat_result:
    """The file's status, or a one-line error unless `path` is a regular file. A FIFO or a device
    (/dev/zero) is refused from its status alone, without being opened: reading it could block forever
    or never end."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise DigitrecError(str(path), f"no such {what}", "check the path", kind="not-found") from None
    except PermissionError:
        raise DigitrecError(str(path), "permission denied", "make the file readable", kind="unreadable") from None
    except OSError as err:
        raise DigitrecError(str(path), f"cannot be read ({err.strerror or err})", "check the path",
                            kind="unreadable") from None
    if stat.S_ISDIR(status.st_mode):
        raise DigitrecError(str(path), "is a folder", "pass a file, not a folder", kind="unreadable")
    if not stat.S_ISREG(status.st_mode):
        raise DigitrecError(str(path), "is not a regular file (a FIFO, socket or device)", "pass a regular file",
                            kind="unsupported")
    return status


def read_bounded(path: Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `max_bytes`, or a one-line error."""
    if check_regular_file(path, what).st_size > max_bytes:
        raise _too_big(path, max_bytes)
    try:
        # O_NONBLOCK: should the path have become a FIFO since it was checked, opening does not wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise DigitrecError(str(path), "is not a regular file", "pass a regular file", kind="unsupported")
            data = f.read(max_bytes + 1)
    except PermissionError:
        raise DigitrecError(str(path), "permission denied", "make the file readable", kind="unreadable") from None
    except OSError as err:
        raise DigitrecError(str(path), f"cannot be read ({err.strerror or err})", "check the file",
                            kind="unreadable") from None
    if len(data) > max_bytes:  # it grew while we read
        raise _too_big(path, max_bytes)
    return data


def _too_big(path: Path, max_bytes: int) -> DigitrecError:
    return DigitrecError(str(path), f"is larger than the {max_bytes // 2**20} MB limit", "pass a smaller file",
                         kind="too-large")
