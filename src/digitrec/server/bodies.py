"""Request bodies: read within a size limit, then find the image(s) in whichever form was sent.

The limit is enforced while the body streams in (the declared Content-Length first, then a running
count of the bytes received), so an oversized upload is refused without ever being buffered whole.
The bytes are reserved from the process's body budget as they arrive (limits.py),
the whole body must arrive within BODY_SECONDS, and a client that hangs up mid-upload costs one
log line. Forms accepted: multipart file upload(s), raw image bytes, or JSON holding base64 data
URL(s). A batch takes multipart or JSON only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable

import anyio
from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from ..errors import DigitrecError
from .encoding import decode_data_url
from .limits import BODY_SECONDS, Item, log

JSON_HINT = 'send {"image": "data:image/png;base64,..."}'
BATCH_JSON_HINT = 'send {"images": ["data:image/png;base64,...", ...]} or a JSON list of data URLs'


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(413, f"request body is larger than the {max_bytes:,d}-byte limit; "
                              "send a smaller image (the server's limit is set by --max-upload-mb)")


def _too_many(many: bool, max_items: int) -> HTTPException:
    if not many:
        return HTTPException(400, "more than one file sent to /api/predict; send one, or use /api/predict/batch")
    return HTTPException(413, f"more than {max_items} images in one request; split the batch")


def _ignore(n: int) -> None:
    pass


async def limited_stream(request: Request, max_bytes: int,
                         hold: Callable[[int], None] = _ignore) -> AsyncGenerator[bytes, None]:
    """The body's chunks, raising 413 as soon as the declared or received size passes `max_bytes`.
    `hold(n)` reserves n bytes of the body budget as they arrive (or raises 503): bytes a client only
    declares, and sends slowly or never, hold no budget from anyone else."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise HTTPException(400, f"Content-Length {declared!r} is not a number")
        if int(declared) > max_bytes:
            raise _too_large(max_bytes)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(max_bytes)
            hold(len(chunk))
            yield chunk
    except ClientDisconnect:
        client = request.client
        log.info("%s hung up after %s of its request body's bytes", f"{client.host}:{client.port}" if client
                 else "a client", f"{received:,d}" + (f" of {int(declared):,d}" if declared else ""))
        raise HTTPException(400, "the client disconnected before its request body arrived") from None


async def read_limited(request: Request, max_bytes: int, hold: Callable[[int], None] = _ignore) -> bytes:
    return b"".join([chunk async for chunk in limited_stream(request, max_bytes, hold)])


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _multipart_items(request: Request, max_bytes: int, hold: Callable[[int], None]) -> list[Item]:
    # Spools files over 1 MB to disk; the stream's limit bounds the total.
    # Starlette's own part limits (1000 each) stay: the body's size limit bounds what they can hold,
    # and read_items counts the files against max_items itself.
    parser = MultiPartParser(request.headers, limited_stream(request, max_bytes, hold))
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise HTTPException(400, f"malformed multipart body: {err.message}") from None
    try:
        return [(value.filename or key, await value.read()) for key, value in form.multi_items()
                if isinstance(value, UploadFile)]
    finally:
        await form.close()


def _json_items(body: bytes, many: bool, max_items: int) -> list[Item]:
    hint = BATCH_JSON_HINT if many else JSON_HINT
    try:
        doc = json.loads(body)
    # ValueError: not UTF-8, not JSON, or an integer of over 4300 digits; RecursionError: absurdly deep nesting.
    except (ValueError, RecursionError):
        raise HTTPException(400, f"body is not valid JSON; {hint}") from None
    if many:
        urls = doc.get("images") if isinstance(doc, dict) else doc
        if not isinstance(urls, list):
            raise HTTPException(400, f"JSON has no list of images; {hint}")
        if len(urls) > max_items:  # before decoding any: a 5 MB body can list a million of them
            raise _too_many(many, max_items)
    else:
        if not isinstance(doc, dict) or "image" not in doc:
            raise HTTPException(400, f"JSON has no 'image' field; {hint}")
        urls = [doc["image"]]
    items: list[Item] = []
    for index, url in enumerate(urls):
        source = f"image {index}" if many else "image"
        try:
            items.append((source, decode_data_url(url, source)))
        except DigitrecError as err:
            if not many:
                raise HTTPException(400, str(err)) from None
            items.append((source, err.detached()))
    return items


async def read_items(request: Request, max_bytes: int, many: bool, max_items: int,
                     hold: Callable[[int], None] = _ignore) -> list[Item]:
    """(name, bytes-or-error) for each image in the request; 4xx for a body that holds no usable image,
    408 for one that does not arrive within BODY_SECONDS. `hold` reserves body bytes (see limited_stream)."""
    try:
        with anyio.fail_after(BODY_SECONDS):
            items = await _read(request, max_bytes, many, max_items, hold)
    except TimeoutError:
        raise HTTPException(408, f"the request body did not arrive within {BODY_SECONDS:g} s") from None
    if not items:
        raise HTTPException(400, f"no images in the request; {BATCH_JSON_HINT}")
    if len(items) > max_items:
        raise _too_many(many, max_items)
    return items


async def _read(request: Request, max_bytes: int, many: bool, max_items: int,
                hold: Callable[[int], None]) -> list[Item]:
    kind = media_type(request)
    if kind == "multipart/form-data":
        items = await _multipart_items(request, max_bytes, hold)
        if not items:
            raise HTTPException(400, "multipart body has no file; upload the image as a file field, "
                                     "e.g. curl -F file=@digit.png")
        return items
    if kind == "application/json":
        return _json_items(await read_limited(request, max_bytes, hold), many, max_items)
    if many:
        raise HTTPException(415, f"unsupported Content-Type {kind or '(none)'!r} for a batch; send "
                                 "multipart/form-data with several files, or application/json")
    # Raw bytes under any other type: image/*, octet-stream, or curl --data-binary's default
    # (form-urlencoded). The decoder says clearly if they are not an image.
    body = await read_limited(request, max_bytes, hold)
    if not body:
        raise HTTPException(400, "empty request body; send the image's bytes, a multipart file or JSON")
    return [("request body", body)]
