"""`digitrec serve`: the draw-a-digit page and the REST API, on FastAPI and uvicorn."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
