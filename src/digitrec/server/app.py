"""The FastAPI app behind `digitrec serve`: the draw-a-digit page, the REST API and offline docs.

Everything the browser loads comes from this package (static/), so the page and /docs work with no
internet. The app answers with the same `Recognizer` that `digitrec predict` uses: one code path.
It may serve several models side by side (`--model A --model B`, server/insight.py); the first is
the default.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..devices import available_cpus
from ..errors import DigitrecError, option_error
from ..malloc import tune_malloc
from . import insight, limits
from .routes import model_name, router

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_BATCH = 64
SETTINGS_ENV = "DIGITREC_SERVE_SETTINGS"  # create_app's arguments as JSON, for worker processes


def _served(recognizer: Any, model_path: str | Path | Sequence[str] | None) -> dict[str, Any]:
    """The models to serve by name, the default first."""
    if isinstance(recognizer, Mapping):
        if not recognizer:
            raise DigitrecError(None, "no model to serve", "pass at least one --model")
        return dict(recognizer)
    if recognizer is not None:
        return {recognizer.name: recognizer}
    specs = [str(model_path)] if isinstance(model_path, (str, Path)) else list(model_path or [])
    # One inference thread per request: requests run side by side, and a second intra-op thread
    # would only spin-wait for work on these tiny batches, burning the CPU other requests need.
    return insight.load_recognizers(specs, threads=1)


def create_app(recognizer: Any = None, model_path: str | Path | Sequence[str] | None = None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, max_batch: int = DEFAULT_MAX_BATCH,
               inference_threads: int = 0) -> FastAPI:
    """The app serving `recognizer` (one, or a {name: Recognizer} mapping, the default first), or the
    models loaded from `model_path`: one path or the --model values of `serve` (None: the shipped model).

    Request bodies over `max_upload_bytes` get 413; so do batches of more than `max_batch` images.
    At most `inference_threads` requests are recognised at once (0: one per CPU core).
    """
    if max_upload_bytes < 1 or max_batch < 1 or inference_threads < 0:
        raise DigitrecError(f"upload limit {max_upload_bytes}, batch limit {max_batch}, inference threads "
                            f"{inference_threads}", "the limits must be positive and the threads zero or more")
    tune_malloc()  # before the model and the first image are allocated
    served = _served(recognizer, model_path)
    app = FastAPI(title="digitrec", version=__version__, docs_url=None, redoc_url=None,
                  description="Handwritten-digit recognition. Draw at `/`, or POST images to `/api/predict`.")
    app.state.recognizers = served
    app.state.recognizer = next(iter(served.values()))
    app.state.max_upload_bytes = max_upload_bytes
    app.state.max_batch = max_batch
    app.state.inference_threads = inference_threads or available_cpus()
    app.state.lanes = None  # made on the first request, on the event loop that serves it
    app.state.bodies = limits.BodyBudget()
    app.include_router(router)
    app.include_router(insight.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        # FastAPI's default page pulls Swagger UI from a CDN; these are vendored copies (static/docs).
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="digitrec API",
            swagger_js_url="/static/docs/swagger-ui-bundle.js", swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})  # the default validator is an external service

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        # Only bugs get here (users' errors are 4xx); keep the JSON shape and the traceback in the log.
        return JSONResponse({"detail": "internal server error; please report it with the request"}, 500)

    return app


def _listen(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening socket, so that a busy port or unknown host is one clear error, not a traceback.
    With `reuse_port`, several sockets can listen on one port and the kernel spreads connections
    across them (Linux SO_REUSEPORT)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError) as err:
        raise DigitrecError(f"--host {host}", f"cannot be resolved ({err})", "try 127.0.0.1") from None
    try:
        sock = socket.create_server((host, port), family=family, reuse_port=reuse_port, backlog=2048)
    except OSError as err:
        raise DigitrecError(f"--port {port}", f"cannot listen on {host}:{port} ({err.strerror})",
                            "choose another --port") from None
    # Connections accepted here inherit this. asyncio sets it only on sockets whose proto is TCP, and
    # create_server's is 0: without it the response body waited for the client's delayed ACK behind
    # the headers (Nagle), about 40 ms per keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _run_worker(sock: socket.socket, settings: dict[str, Any], access_log: bool) -> None:
    """One server process of `digitrec serve --workers N` on Linux, accepting on its own socket."""
    import uvicorn

    app = create_app(**settings)
    uvicorn.Server(_uvicorn_config(app, access_log)).run(sockets=[sock])


def _uvicorn_config(app: Any, access_log: bool, **options: Any) -> Any:
    """uvicorn's settings, with the request head bounded (limits.py)."""
    import uvicorn

    return uvicorn.Config(app, log_level="info", access_log=access_log, **limits.uvicorn_settings(), **options)


def _serve_reuse_port(first: socket.socket, host: str, workers: int, settings: dict[str, Any],
                      access_log: bool) -> None:
    """N processes, each with its own SO_REUSEPORT socket on the port. Sharing one socket (uvicorn's
    Multiprocess) let one worker accept every waiting keep-alive connection at once and leave the
    others idle; the kernel's per-socket balancing keeps all cores busy."""
    import multiprocessing

    bound_port = first.getsockname()[1]  # port 0 picked a free port; the others must join that one
    socks = [first] + [_listen(host, bound_port, reuse_port=True) for _ in range(workers - 1)]
    context = multiprocessing.get_context("fork")  # the children inherit their sockets
    processes = [context.Process(target=_run_worker, args=(sock, settings, access_log)) for sock in socks]
    for process in processes:
        process.start()
    for sock in socks:
        sock.close()  # the children hold them now

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # `kill` or a supervisor stops the workers too
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()


def app_from_env() -> FastAPI:
    """The app of one worker process of `digitrec serve --workers N`, built from the parent's settings."""
    return create_app(**json.loads(os.environ[SETTINGS_ENV]))


def serve(host: str = "127.0.0.1", port: int = 8000, model_path: str | Path | Sequence[str] | None = None,
          max_upload_mb: float = 5.0, workers: int = 0, access_log: bool = False) -> None:
    """Serve the page and the API with uvicorn until interrupted. `model_path`: one path, or the
    --model values (server/insight.py), the first the default. `workers` > 1 runs that many
    processes on one port: preprocessing is Python and numpy, so one process is held to about one
    core by the GIL, and more processes use more cores. 0: one per CPU core on Linux (measured on
    2 cores: 418 requests/s with 2 processes, 227 with one), 1 elsewhere."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if not (math.isfinite(max_upload_mb) and 0 < max_upload_mb <= 1024):
        raise option_error("--max-upload-mb", max_upload_mb, "positive and at most 1024")
    if not 0 <= workers <= 256:
        raise option_error("--workers", workers, "0 (one per CPU core) or more, and at most 256")
    if not 0 <= port <= 65535:
        raise option_error("--port", port, "from 0 (any free port) to 65535")
    if workers == 0:
        workers = available_cpus() if sys.platform == "linux" else 1
    specs = [str(model_path)] if isinstance(model_path, (str, Path)) else [str(m) for m in model_path or []]
    settings = {"model_path": specs,
                "max_upload_bytes": int(max_upload_mb * 1024 * 1024),
                "inference_threads": max(1, available_cpus() // workers)}
    app = create_app(**settings)  # loads the model here too, so that a bad --model fails before listening
    reuse_port = workers > 1 and sys.platform == "linux"
    sock = _listen(host, port, reuse_port=reuse_port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    models = ", ".join(f"{name} ({model_name(r)})" for name, r in app.state.recognizers.items())
    print(f"digitrec serve: {models} at http://{shown}:{bound_port}/ "
          f"(API docs at /docs), {workers} process{'es' if workers > 1 else ''}; Ctrl+C stops",
          file=sys.stderr, flush=True)
    if workers == 1:
        uvicorn.Server(_uvicorn_config(app, access_log)).run(sockets=[sock])
        return
    del app  # each worker loads its own
    if reuse_port:
        _serve_reuse_port(sock, host, workers, settings, access_log)
        return
    os.environ[SETTINGS_ENV] = json.dumps(settings)  # inherited by the worker processes
    Multiprocess(_uvicorn_config(f"{__name__}:app_from_env", access_log, factory=True, workers=workers),
                 sockets=[sock]).run()
