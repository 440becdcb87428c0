"""glibc's malloc, set up once per process for preprocessing's arrays and big decoded images.

Preprocessing makes a few dozen arrays of a few hundred KB to a few MB per image and frees them
before the next. By default glibc gives a block over its mmap threshold (128 KB at first) back to the
kernel when it is freed, and trims the top of its heap past twice that, so the next image's arrays
are faulted in again page by page. The threshold rises to the size of the last mapped block freed
(up to 32 MB), so how fast a process runs depended on what it had decoded before. So:
- blocks under MMAP_THRESHOLD come from the heap, and up to TRIM_THRESHOLD of free memory stays at
  its top for the next image (trimming at glibc's 128 KB cost small requests 10-20% more CPU);
- bigger blocks (a decoded photo of 4 megapixels or more, a 7000x7000 bomb) get their own mapping,
  unmapped when freed;
- ARENA_MAX arenas, not 8 per core, keep the threads' free memory in few places;
- the server trims every arena after heavy work (`trim_memory`).
Measured on a 2-core Xeon with AMX, alternated in one session:
- `Recognizer.read` of a 600x200 pad, warm: 7.0-7.4 ms against 8.5-9.1 ms with glibc's defaults in a
  process that had read only pads (a 7x7 box mean of 600x200 floats: 160-190 us against 610-630 us);
- a 2000x1500 photo's preprocessing, warm: 58-61 ms, as with the defaults; 72-82 ms with a 1 MB
  threshold, which the server used before (a photo's planes are a few MB);
- the server's memory (`benchmarks/memory_bound.py`): the same peaks, and +4 to +8 MB after each
  costliest request against +4 to +28 MB with the 1 MB threshold;
- a 280 px drawing's preprocessing did not change (its arrays stay small).

`tune_malloc` runs when the first `Recognizer` is made (the CLI's and the server's too), before
any image; a no-op off glibc (macOS, Windows, musl: their allocators return memory their own way).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Any

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 16 * 2**20  # bytes: blocks this large get their own mapping, unmapped when freed
TRIM_THRESHOLD = 32 * 2**20  # bytes: free memory at the top of a heap kept for reuse
ARENA_MAX = 2


@functools.cache
def _glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, libc's among them (find_library runs ldconfig: 2 ms)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@functools.cache
def tune_malloc() -> bool:
    """Set glibc's malloc up as the module says, once; whether it could be."""
    libc = _glibc()
    if libc is None:
        return False
    return all(libc.mallopt(parameter, value) for parameter, value in (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_ARENA_MAX, ARENA_MAX)))


def trim_memory() -> None:
    """Give the free pages of every malloc arena back to the system (a few ms after big work)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
