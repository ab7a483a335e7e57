"""REST handlers of the sidebar: they parse the request, call the Python API in a worker thread, and
answer JSON. A bad parameter or an unknown run answers 400 or 404 with ``{"error": reason}``.

    GET status                          tracking URL (masked), artifacts, runs in progress
    GET experiments                     [{id, name, created_time}]
    GET runs?experiment=&filter=&order_by=&limit=&offset=
                                        {runs: [...], total, offset, limit}
    GET runs/RUN                        one run: code, context cells, params, metrics, tags, inputs, ...
    GET runs/RUN/metrics/KEY            {steps: [...], values: [...]}
    GET models                          registered models with their aliases
    GET models/NAME                     versions, newest first, with aliases and metrics
    GET deployments                     name, status, backend, url, routes, shadow, pid, updated_time
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import AmbiguousRef, FilterSyntaxError, InvalidValue, MlopsError, NotFound
from . import views

MAX_PAGE = 500


class MlopsHandler(APIHandler):
    """Runs ``answer`` off the event loop and writes its value as JSON, errors as ``{"error": ...}``."""

    async def respond(self, answer: Callable[[], Any]) -> None:
        try:
            value = await asyncio.to_thread(answer)
        except (InvalidValue, FilterSyntaxError, AmbiguousRef) as err:
            self._fail(400, str(err))
            return
        except NotFound as err:
            self._fail(404, str(err))
            return
        except MlopsError as err:  # the database is unreachable or out of date
            self._fail(503, str(err))
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(_plain(value), allow_nan=False))

    def _fail(self, status: int, reason: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": reason}))

    def number(self, name: str, default: int, low: int, high: int) -> int:
        """A whole-number query parameter in [low, high]; InvalidValue (a 400) otherwise."""
        text = self.get_query_argument(name, None)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise InvalidValue(f"{name} must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise InvalidValue(f"{name} must be between {low} and {high}, got {value}")
        return value


class ViewHandler(MlopsHandler):
    """GET answers ``view(*path_arguments)``."""

    view: Callable[..., Any]

    @tornado.web.authenticated
    async def get(self, *path: str) -> None:
        view = type(self).view
        await self.respond(lambda: view(*path))


def _answering(view: Callable[..., Any]) -> type[ViewHandler]:
    return type(f"{view.__name__}_handler", (ViewHandler,), {"view": staticmethod(view)})


class RunsHandler(MlopsHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        def answer() -> Any:
            return views.runs_page(
                experiment=self.get_query_argument("experiment", None) or None,
                filter=self.get_query_argument("filter", None) or None,
                order_by=self.get_query_argument("order_by", None) or None,
                limit=self.number("limit", 50, 1, MAX_PAGE),
                offset=self.number("offset", 0, 0, 10**9),
            )

        await self.respond(answer)


def routes(base_url: str) -> list[tuple[str, type[APIHandler]]]:
    api = url_path_join(base_url, "jupyter-mlops", "api")
    return [
        (url_path_join(api, "status"), _answering(views.status)),
        (url_path_join(api, "experiments"), _answering(views.experiments)),
        (url_path_join(api, "runs"), RunsHandler),
        (url_path_join(api, "runs", r"([^/]+)"), _answering(views.run_details)),
        (url_path_join(api, "runs", r"([^/]+)", "metrics", r"(.+)"), _answering(views.metric_series)),
        (url_path_join(api, "models"), _answering(views.models)),
        (url_path_join(api, "models", r"([^/]+)"), _answering(views.model_versions)),
        (url_path_join(api, "deployments"), _answering(views.deployments)),
    ]


def _plain(value: Any) -> Any:
    """JSON-ready: NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
