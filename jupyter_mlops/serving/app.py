"""The model server as a plain ASGI app (run by uvicorn).

    POST /invocations   MLflow's formats -> {"predictions": [...]}
    POST /feedback      {"request_id": "...", "value": 1} (or a list of those) -> ground truth for monitoring
    GET  /ping /health /version /metrics

Every answer carries ``x-request-id`` (the client's, or a new one) and, for predictions,
``x-model-version`` (``churn:3``). Every bad request gets a 4xx with ``{"error": reason}``; the server
keeps serving. The model runs in a thread pool with a timeout, so one slow request never stalls others.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .defaults import LOOPBACK, MAX_BODY, PREDICT_TIMEOUT
from .metrics import ServiceMetrics
from .payload import BadRequest, conform, parse
from .predlog import PredictionLog
from .routing import Router, Served

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ServingApp:
    """One deployment's server. ``router`` is replaced whole when the routes change (in-flight
    requests finish on the versions they started with)."""

    def __init__(
        self,
        name: str,
        deployment_id: int,
        log: PredictionLog | None,
        token_digest: bytes | None = None,
        loopback_port: int | None = None,
        max_body: int = MAX_BODY,
        timeout: float = PREDICT_TIMEOUT,
    ) -> None:
        self.name = name
        self.deployment_id = deployment_id
        self.router: Router | None = None
        self.generation: int | None = None
        self.log = log
        self.metrics = ServiceMetrics()
        self.max_body = max_body
        self.timeout = timeout
        self._token_digest = token_digest  # sha256 of the token: the token itself is never kept
        # Bound to loopback: only these Host headers are answered (a web page cannot rebind a name to us).
        self._hosts = {f"{h}:{loopback_port}".encode() for h in LOOPBACK} if loopback_port else None
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="mlops-predict")
        self._shadow_pool = ThreadPoolExecutor(2, thread_name_prefix="mlops-shadow")
        self._shadow_pending = 0
        self.shadow_dropped = 0
        self.started = time.time()
        self.closed = threading.Event()

    def install(self, router: Router, generation: int) -> None:
        self.router, self.generation = router, generation

    # -- ASGI --------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        answer = _Answer(send, request_id)
        path, method = scope["path"], scope["method"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):  # behind a route prefix (Ray Serve: /NAME/invocations)
            path = path[len(root) :] or "/"
        if self._hosts is not None and headers.get(b"host") not in self._hosts:
            await answer.error(421, "this server answers only to its loopback address")
            return
        if path == "/ping":
            await answer.json(200, {"status": "ok"})
            return
        if self._token_digest is not None and not self._authorised(headers):
            await answer.error(401, "send the deployment token: Authorization: Bearer <token>")
            return
        try:
            if path == "/invocations":
                _method(method, "POST")
                await self._invocations(headers, receive, answer)
            elif path == "/health":
                _method(method, "GET")
                await self._health(answer)
            elif path == "/version":
                _method(method, "GET")
                await answer.json(200, self.version())
            elif path == "/metrics":
                _method(method, "GET")
                dropped = self.log.dropped if self.log else 0
                queued = self.log.queue.qsize() if self.log else 0
                await answer.send(
                    200, self.metrics.render(dropped, queued).encode(), b"text/plain; version=0.0.4"
                )
            elif path == "/feedback":
                _method(method, "POST")
                await self._feedback(headers, receive, answer)
            else:
                raise BadRequest(
                    404, f"no route {path}: use /invocations, /feedback, /ping, /health, /version, /metrics"
                )
        except BadRequest as err:
            await answer.error(err.status, err.reason)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Ray Serve runs the ASGI lifespan: ready at once (the versions loaded before), closed at the end."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _authorised(self, headers: Mapping[bytes, bytes]) -> bool:
        given = headers.get(b"authorization", b"")
        if not given.startswith(b"Bearer "):
            return False
        assert self._token_digest is not None
        return hmac.compare_digest(hashlib.sha256(given[7:].strip()).digest(), self._token_digest)

    async def _body(self, headers: Mapping[bytes, bytes], receive: Receive) -> bytes:
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise BadRequest(
                413, f"the body is larger than {self.max_body:,} bytes: send fewer rows per request"
            )
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise BadRequest(
                    413, f"the body is larger than {self.max_body:,} bytes: send fewer rows per request"
                )
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _invocations(self, headers: Mapping[bytes, bytes], receive: Receive, answer: _Answer) -> None:
        started = time.perf_counter()
        router = self.router
        if router is None:
            raise BadRequest(503, "the model is still loading: retry when /health is green")
        body = await self._body(headers, receive)
        frame = parse(body, headers.get(b"content-type", b"").decode("latin-1"))
        sticky = headers.get(router.sticky.encode()) if router.sticky else None
        served = router.pick(sticky.decode("latin-1") if sticky is not None else None)
        answer.version = served.ref
        self.metrics.in_progress += 1
        status, outputs, error = 200, None, None
        try:
            inputs = conform(frame, served.signature)
            outputs = await self._predict(self._pool, served, inputs)
        except BadRequest as err:
            status, error = err.status, err.reason
        except TimeoutError:
            status, error = 504, f"the model took longer than {self.timeout:g} s"
        except Exception as err:  # the model raised: a 500 with its message, counted; the server goes on
            status, error = 500, f"the model failed: {type(err).__name__}: {err}"[:1000]
        finally:
            self.metrics.in_progress -= 1
        elapsed = time.perf_counter() - started
        self.metrics.observe(served.ref, status, elapsed)
        if status == 200:
            await answer.json(200, {"predictions": outputs})
        else:
            await answer.error(status, error or "")
        logged = self.log is not None and self.log.wanted()
        if logged:
            self._log(answer.request_id, served.ref, False, elapsed, status, frame, outputs, error)
        if router.shadow is not None:
            self._shadow(router.shadow, frame, answer.request_id, logged)

    async def _predict(self, pool: ThreadPoolExecutor, served: Served, inputs: Any) -> list[Any]:
        loop = asyncio.get_running_loop()
        result = await asyncio.wait_for(loop.run_in_executor(pool, served.predict, inputs), self.timeout)
        return _listed(result)

    def _shadow(self, served: Served, frame: Any, request_id: str, logged: bool) -> None:
        """Send a copy to the shadow version off the response path; a busy shadow drops copies."""
        if self._shadow_pending >= 64:
            self.shadow_dropped += 1
            return
        self._shadow_pending += 1

        def run() -> None:
            started = time.perf_counter()
            status, outputs, error = 200, None, None
            try:
                outputs = _listed(served.predict(conform(frame, served.signature)))
            except BadRequest as err:
                status, error = err.status, err.reason
            except Exception as err:  # a failing shadow is logged, never seen by the client
                status, error = 500, f"{type(err).__name__}: {err}"[:1000]
            finally:
                self._shadow_pending -= 1
            elapsed = time.perf_counter() - started
            self.metrics.observe(served.ref, status, elapsed, shadow=True)
            if logged:
                self._log(request_id, served.ref, True, elapsed, status, frame, outputs, error)

        self._shadow_pool.submit(run)

    def _log(
        self,
        request_id: str,
        model: str,
        shadow: bool,
        elapsed: float,
        status: int,
        frame: Any,
        outputs: Any,
        error: str | None,
    ) -> None:
        assert self.log is not None
        self.log.log(
            {
                "deployment_id": self.deployment_id,
                "request_id": request_id,
                "model": model,
                "shadow": shadow,
                "time": time.time(),
                "latency_ms": elapsed * 1000,
                "status": status,
                # plain columns and one array, serialised by the log's own thread off the request path
                # (a queued DataFrame is hundreds of objects for the garbage collector to walk)
                "inputs": ([str(c) for c in frame.columns], frame.to_numpy()),
                "outputs": outputs,
                "error": error,
            }
        )

    async def _health(self, answer: _Answer) -> None:
        if self.router is None:
            await answer.json(503, {"status": "loading", "deployment": self.name})
            return
        await answer.json(200, {"status": "healthy", "deployment": self.name, **self.router.describe()})

    def version(self) -> dict[str, Any]:
        from .._version import __version__

        described = self.router.describe() if self.router else {"routes": []}
        return {
            "deployment": self.name,
            "jupyter_mlops": __version__,
            "generation": self.generation,
            **described,
        }

    async def _feedback(self, headers: Mapping[bytes, bytes], receive: Receive, answer: _Answer) -> None:
        body = await self._body(headers, receive)
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise BadRequest(
                400, 'feedback is JSON: {"request_id": "...", "value": ...} or a list of those'
            ) from None
        items = document if isinstance(document, list) else [document]
        rows = []
        for item in items:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("request_id"), str)
                or "value" not in item
            ):
                raise BadRequest(400, 'each feedback item needs "request_id" (a string) and "value"')
            rows.append((item["request_id"][:64], json.dumps(item["value"])))
        if self.log is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._pool, self.log.store.write_feedback, self.deployment_id, rows
            )
        await answer.json(200, {"stored": len(rows)})

    def close(self) -> None:
        self.closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._shadow_pool.shutdown(wait=False, cancel_futures=True)
        if self.log is not None:
            self.log.close()


class _Answer:
    """Sends one response with the request id (and the model version once known)."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self.request_id = request_id
        self.version: str | None = None

    async def json(self, status: int, document: Any) -> None:
        await self.send(status, json.dumps(document).encode(), b"application/json")

    async def error(self, status: int, reason: str) -> None:
        await self.json(status, {"error": reason})

    async def send(self, status: int, body: bytes, content_type: bytes) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", self.request_id.encode("latin-1", "replace")),
        ]
        if self.version:
            headers.append((b"x-model-version", self.version.encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})


def _method(method: str, wanted: str) -> None:
    if method != wanted:
        raise BadRequest(405, f"use {wanted} here, not {method}")


def _listed(result: Any) -> list[Any]:
    if hasattr(result, "tolist"):
        return list(result.tolist())
    return list(result)
