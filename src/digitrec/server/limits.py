"""What one client, or many, can make a server process hold, and for how long.

- The request head (request line and headers): at most MAX_HEAD_BYTES and MAX_HEADERS, sent within
  HEAD_SECONDS, else 431 or 408 and the connection is closed. uvicorn's httptools protocol bounds
  neither (64 MB of headers were accepted), so `BoundedHttpTools` counts them as they arrive; its h11
  protocol is bounded by h11's incomplete-event limit, set to the same size.
- Connections and requests in progress: at most MAX_CONCURRENCY per process (uvicorn answers 503), so
  that its per-connection buffers (the head, at most 64 KB of body) are bounded too.
- Bodies: each at most --max-upload-mb (bodies.py), sent within BODY_SECONDS (408); all the bodies a
  process holds at once at most BODY_BUDGET bytes, reserved as they arrive (503 when it is spent).
- Decoding: every image's cost is priced from its header (`images.decode_cost`), and a request may
  spend at most REQUEST_DECODE_BYTES (later images of a batch get 413). Requests costing more than
  HEAVY_BYTES take the heavy lane, one at a time per process, the others the light lane, one per
  inference thread; a lane with a full queue answers 503 with Retry-After, rather than growing.
  (A lower CPU priority for the heavy lane's thread was tried and dropped: on a host shared with
  other work it starved that thread, and a 7000x7000 PNG took 70-100 s instead of 7.)
- glibc's malloc maps big blocks on their own and keeps few arenas (`malloc`), and is trimmed after
  heavy work, so that the memory of a big image goes back to the system when it is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import HTTPException

from ..errors import DigitrecError
from ..images import MAX_DECODE_BYTES, decode_cost
from ..malloc import trim_memory

MAX_HEAD_BYTES = 32 * 1024  # request line and headers; browsers send under 2 KB, nginx allows 8 KB a line
MAX_HEADERS = 100
HEAD_SECONDS = 10.0  # to send the request line and headers, from the request's first byte
BODY_SECONDS = 60.0  # to send a body: 5 MB at under 1 Mbit/s
BODY_BUDGET = 64 * 2**20  # bytes of request bodies one process holds at once
MAX_CONCURRENCY = 512  # connections, or requests in progress, per process: 2 s of small requests
# Decoding one request may allocate this much, summed over its images: a batch costs at most what one
# image may (a dozen phone photos, each decoded at about 2 megapixels; 64 canvas drawings use 20 MB).
REQUEST_DECODE_BYTES = MAX_DECODE_BYTES
HEAVY_BYTES = 4 * 2**20  # requests whose images cost more to decode (a 1-megapixel RGB) are heavy
HEAVY_QUEUE = 2  # heavy requests waiting per process; the next gets 503
LIGHT_QUEUE = 64  # light requests waiting per process; the next gets 503
RETRY_AFTER_SECONDS = 1

log = logging.getLogger("uvicorn.error")  # uvicorn's own log, so that these lines look like its lines


def busy(what: str) -> HTTPException:
    return HTTPException(503, f"the server is busy ({what}); retry in a moment",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


# -- the request head ---------------------------------------------------------------------------

class _HeadTooLarge(Exception):
    """Raised from a parser callback; httptools re-raises it as the context of its own error."""


def http_protocol() -> Any:
    """uvicorn's `http` setting: the bounded httptools protocol, or h11 (bounded by its own limit)."""
    try:
        return _bounded_httptools()
    except ImportError:
        return "h11"


def uvicorn_settings() -> dict[str, Any]:
    """The keyword arguments of uvicorn.Config that bound the request head and the connections."""
    return {"http": http_protocol(), "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
            "limit_concurrency": MAX_CONCURRENCY}


def _bounded_httptools() -> type:
    import httptools
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

    class BoundedHttpTools(HttpToolsProtocol):
        """uvicorn's httptools protocol with the head bounded in bytes, count and time."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.head_bytes = 0  # received while the current request's head is incomplete
            self.head_open = True
            self.header_count = 0
            self.head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_head_timer()  # a connection that never sends a byte is closed too

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._unset_keepalive_if_required()
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserCallbackError as err:
                too_large = isinstance(err.__context__, _HeadTooLarge)
                self.refuse(431 if too_large else 400,
                            f"request headers: {err.__context__}" if too_large else "Invalid HTTP request received.")
                return
            except httptools.HttpParserError:
                self.refuse(400, "Invalid HTTP request received.")
                return
            except httptools.HttpParserUpgrade:
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                else:
                    self._unsupported_upgrade_warning()
                return
            if self.head_open:
                # Counted after parsing, so a chunk that completes the head and carries body bytes
                # does not count; the parser holds at most one chunk (256 KB) past the limit.
                self.head_bytes += len(data)
                if self.head_bytes > MAX_HEAD_BYTES:
                    self.refuse(431, f"request headers: more than {MAX_HEAD_BYTES} bytes")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.head_open, self.head_bytes, self.header_count = True, 0, 0
            self._start_head_timer()

        def on_header(self, name: bytes, value: bytes) -> None:
            self.header_count += 1
            if self.header_count > MAX_HEADERS:
                raise _HeadTooLarge(f"more than {MAX_HEADERS}")
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self.head_open = False
            self._stop_head_timer()
            super().on_headers_complete()

        def refuse(self, status: int, message: str) -> None:
            """Answer `status` with a one-line text body and close the connection."""
            if self.transport.is_closing():
                return
            log.warning("%s %s from %s", status, message, "{}:{}".format(*self.client) if self.client else "a client")
            body = message.encode("ascii", "replace")
            self.transport.write(b"".join([
                STATUS_LINE[status], b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body), body]))
            self.transport.close()

        def _start_head_timer(self) -> None:
            self._stop_head_timer()
            self.head_timer = self.loop.call_later(HEAD_SECONDS, self._head_timed_out)

        def _stop_head_timer(self) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None

        def _head_timed_out(self) -> None:
            self.head_timer = None
            if self.head_open and (self.cycle is None or self.cycle.response_complete):
                self.refuse(408, f"request head not received within {HEAD_SECONDS:g} s")

    return BoundedHttpTools


# -- bodies held at once -------------------------------------------------------------------------

class BodyBudget:
    """The bytes of request bodies a process holds at once. Runs on the event loop only."""

    def __init__(self, limit: int = BODY_BUDGET):
        self.limit, self.held = limit, 0

    def hold(self, ticket: list[int], n: int) -> None:
        """Reserve `n` more bytes for the request whose reservations `ticket` records, or 503."""
        if self.held + n > self.limit:
            raise busy("too many uploads at once")
        self.held += n
        ticket.append(n)

    def release(self, ticket: list[int]) -> None:
        self.held -= sum(ticket)
        ticket.clear()


# -- decoding work ---------------------------------------------------------------------------------

# One item of a request: the image's bytes, or the user error that stopped us reading it.
Item = tuple[str, "bytes | DigitrecError"]


def price(items: list[Item]) -> tuple[list[Item], int]:
    """(the items, with those that cannot or may not be decoded turned into their errors; the bytes
    decoding the rest will allocate). Each image's header is read, no pixel is decoded."""
    priced: list[Item] = []
    total = 0
    for name, data in items:
        if isinstance(data, bytes):
            try:
                cost = decode_cost(data, name)
            except DigitrecError as err:
                priced.append((name, err.detached()))
                continue
            if total + cost > REQUEST_DECODE_BYTES:
                priced.append((name, DigitrecError(name, f"the request's decoding budget of "
                               f"{REQUEST_DECODE_BYTES / 2**20:.0f} MB is spent", "send this image in another "
                               "request", kind="too-large")))
                continue
            total += cost
        priced.append((name, data))
    return priced, total


class Lanes:
    """The light and heavy lanes of one process's event loop: bounded threads, bounded queues. A lane's
    thread cannot be stopped, so a request's token is held until its work ends, whatever its client
    does (anyio waits for the thread even when the request is cancelled)."""

    def __init__(self, light_threads: int):
        self.light = anyio.CapacityLimiter(light_threads)
        self.heavy = anyio.CapacityLimiter(1)

    async def run(self, heavy: bool, fn: Callable[..., Any], *args: Any) -> Any:
        limiter, queue = (self.heavy, HEAVY_QUEUE) if heavy else (self.light, LIGHT_QUEUE)
        if limiter.available_tokens == 0 and limiter.statistics().tasks_waiting >= queue:
            raise busy("too many large images at once" if heavy else "too many requests at once")

        def work() -> Any:
            try:
                return fn(*args)
            finally:
                if heavy:
                    trim_memory()  # here, not on the event loop: it takes a few ms

        return await anyio.to_thread.run_sync(work, limiter=limiter)
