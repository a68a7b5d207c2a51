"""The asyncio WebSocket edge (protocol version 2): handshake, auth, /healthz, per-connection ordered queues, one
global lock around the model (run off the event loop), limits, draining. Every message is parsed by messages.py
before anything else looks at it."""
from __future__ import annotations

import asyncio
import hmac
import http
import json
import logging
import math
from typing import Any, Dict, Optional, Set

import websockets
from websockets.exceptions import ConnectionClosed

from . import PROTOCOL_VERSION, WORKER_NAME
from .errors import WorkerError
from .messages import ParseFailure, parse_client_message
from .service import GeneratorService

log = logging.getLogger("vrgrpo_worker")

MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
MAX_QUEUED_PER_CONNECTION = 64


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become null (JSON has no NaN/Infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def dumps(msg: Dict[str, Any]) -> str:
    return json.dumps(_clean(msg), allow_nan=False, separators=(",", ":"))


class _Conn:
    def __init__(self, cid: int, ws: Any) -> None:
        self.id, self.ws = cid, ws
        self.send_lock = asyncio.Lock()
        self.queue: "asyncio.Queue[Optional[dict]]" = asyncio.Queue()
        self.pending: Set[str] = set()
        self.closed = False
        self.client_max_payload: Optional[int] = None


class WorkerServer:
    """Serves one `GeneratorService`. Create with `await WorkerServer.start(...)`; stop with `await close()`."""

    def __init__(self, service: GeneratorService, *, token: Optional[str], generator: str, advantage_clip: float,
                 max_queued: int, drain_timeout_s: float) -> None:
        self.service, self.token, self.generator = service, token, generator
        self.advantage_clip, self.max_queued, self.drain_timeout_s = advantage_clip, max_queued, drain_timeout_s
        self.state = "starting"
        self._conns: Set[_Conn] = set()
        self._next_conn = 0
        self._queued = 0
        self._lock = asyncio.Lock()
        self._server: Any = None
        self.port = 0
        self._closed = asyncio.Event()

    @classmethod
    async def start(cls, service: GeneratorService, *, host: str = "127.0.0.1", port: int = 0, token: Optional[str] = None,
                    generator: str = "torch-reference", advantage_clip: float = 5.0,
                    max_queued: int = MAX_QUEUED_PER_CONNECTION, drain_timeout_s: float = 30.0,
                    heartbeat_s: float = 30.0) -> "WorkerServer":
        self = cls(service, token=token, generator=generator, advantage_clip=advantage_clip, max_queued=max_queued,
                   drain_timeout_s=drain_timeout_s)
        self._server = await websockets.serve(self._handle, host, port, process_request=self._process_request,
                                              max_size=MAX_PAYLOAD_BYTES, compression=None, ping_interval=heartbeat_s,
                                              ping_timeout=heartbeat_s)
        self.port = self._server.sockets[0].getsockname()[1]
        self.state = "running"
        return self

    # ---- HTTP side ----

    def _http_json(self, status: http.HTTPStatus, body: Dict[str, Any], extra=()):
        return status, [("Content-Type", "application/json"), *extra], dumps(body).encode()

    def _process_request(self, path: str, headers: Any):
        if path.split("?", 1)[0] == "/healthz":
            body = {"status": "ok" if self.state == "running" else "draining", "generator": self.generator,
                    "trainable": True, "queued": self._queued, "connections": len(self._conns)}
            return self._http_json(http.HTTPStatus.OK if self.state == "running" else http.HTTPStatus.SERVICE_UNAVAILABLE, body)
        if self.state != "running":
            return self._http_json(http.HTTPStatus.SERVICE_UNAVAILABLE, {"code": "GENERATOR_UNAVAILABLE", "message": "the worker is draining"})
        if self.token is not None:
            got = headers.get("Authorization", "")
            if not hmac.compare_digest(got.encode(), f"Bearer {self.token}".encode()):
                return self._http_json(http.HTTPStatus.UNAUTHORIZED, {"code": "UNAUTHORIZED", "message": "missing or wrong bearer token"},
                                       [("WWW-Authenticate", "Bearer")])
        return None

    # ---- WebSocket side ----

    async def _send(self, conn: _Conn, msg: Dict[str, Any]) -> None:
        async with conn.send_lock:
            await conn.ws.send(dumps(msg))

    async def _error(self, conn: _Conn, msg_id: Optional[str], code: str, message: str) -> None:
        await self._send(conn, {"type": "error", "id": msg_id, "code": code, "message": message[:1000]})

    def hello(self) -> Dict[str, Any]:
        root = self.service.artifact_root
        return {"type": "hello", "protocol": PROTOCOL_VERSION, "generator": self.generator, "trainable": True,
                "worker": WORKER_NAME, "limits": {"maxPayloadBytes": MAX_PAYLOAD_BYTES},
                "features": {"delivery": ["inline", "reference"] if root else ["inline"],
                             "state": self.service.state_root is not None, "replay": True},
                "artifactRoot": root}

    def status(self, msg_id: Optional[str]) -> Dict[str, Any]:
        return {"type": "status", "id": msg_id, "generator": self.generator, "trainable": True,
                "state": "running" if self.state == "running" else "draining", "queued": self._queued,
                "connections": len(self._conns), "rollouts": self.service.rollouts_done,
                "updates": self.service.updates_done, "policyUpdates": self.service.grpo.policy_updates,
                "policyDigest": self.service.grpo.digest()}

    async def _handle(self, ws: Any, path: Optional[str] = None) -> None:
        self._next_conn += 1
        conn = _Conn(self._next_conn, ws)
        self._conns.add(conn)
        consumer = asyncio.ensure_future(self._consume(conn))
        try:
            await self._send(conn, self.hello())
            async for raw in ws:
                if not await self._on_message(conn, raw):
                    break
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            conn.queue.put_nowait(None)
            try:
                await consumer
            finally:
                async with self._lock:
                    await asyncio.to_thread(self.service.release_owner, conn.id)
                self._conns.discard(conn)

    async def _on_message(self, conn: _Conn, raw: Any) -> bool:
        """Handles one message; False = stop reading (the connection is being closed)."""
        if isinstance(raw, (bytes, bytearray)):
            await self._error(conn, None, "BAD_MESSAGE", "binary messages are not accepted from clients")
            return True
        try:
            m = parse_client_message(raw, self.advantage_clip)
        except ParseFailure as f:
            await self._error(conn, f.id, f.code, f.message)
            return True
        t = m["type"]
        if t == "hello":
            if m["protocol"] != PROTOCOL_VERSION:
                await self._error(conn, None, "PROTOCOL_MISMATCH", f"this worker speaks protocol {PROTOCOL_VERSION}, the client {m['protocol']}")
                await conn.ws.close(1002, "protocol mismatch")
                return False
            conn.client_max_payload = m.get("maxPayloadBytes")
        elif t == "ping":
            await self._send(conn, {"type": "pong", "id": m.get("id"), "t": m.get("t")})
        elif t == "status":
            await self._send(conn, self.status(m.get("id")))
        elif self.state != "running":
            await self._error(conn, m["id"], "GENERATOR_UNAVAILABLE", "the worker is draining")
        elif m["id"] in conn.pending:
            await self._error(conn, m["id"], "INVALID_REQUEST", f"id: request id {json.dumps(m['id'])} is already pending on this connection")
        elif len(conn.pending) >= self.max_queued:
            await self._error(conn, m["id"], "OVERLOADED", f"more than {self.max_queued} requests waiting on this connection")
        else:
            if m.get("_clipped"):
                log.warning("update %s: %d advantage(s) clipped to ±%g", m["id"], m["_clipped"], self.advantage_clip)
            conn.pending.add(m["id"])
            self._queued += 1
            conn.queue.put_nowait(m)
        return True

    async def _consume(self, conn: _Conn) -> None:
        while True:
            m = await conn.queue.get()
            if m is None:
                return
            try:
                if not conn.closed:
                    await self._run(conn, m)
            except ConnectionClosed:
                pass
            except Exception:  # never let one request kill the connection's queue
                log.exception("request %s failed", m.get("id"))
            finally:
                conn.pending.discard(m["id"])
                self._queued -= 1

    async def _run(self, conn: _Conn, m: Dict[str, Any]) -> None:
        t, msg_id = m["type"], m["id"]
        svc = self.service
        try:
            async with self._lock:
                if conn.closed:
                    return
                if t == "rollout":
                    result = await asyncio.to_thread(svc.rollout, m, conn.id, conn.client_max_payload)
                elif t == "update":
                    result = await asyncio.to_thread(svc.update, m, conn.id)
                elif t == "discard":
                    result = await asyncio.to_thread(svc.discard, m["rolloutIds"], conn.id)
                elif t == "save":
                    result = await asyncio.to_thread(svc.save, m["tag"])
                elif t == "restore":
                    result = await asyncio.to_thread(svc.restore, m["ref"])
                else:  # parse_client_message admits no other type
                    raise WorkerError("UNKNOWN_TYPE", f"unknown message type {t}")
        except WorkerError as e:
            await self._error(conn, msg_id, e.code, e.message)
            return
        except Exception as e:
            log.exception("generator call %s failed", msg_id)
            await self._error(conn, msg_id, "GENERATOR_FAILED", f"{type(e).__name__}: {e}")
            return
        if t == "rollout":
            await self._deliver(conn, m, result)
        elif t == "update":
            stats = dict(result)
            updates, digest = stats.pop("policyUpdates"), stats.pop("policyDigest")
            await self._send(conn, {"type": "update_result", "id": msg_id, "stats": stats, "policyUpdates": updates, "policyDigest": digest})
        elif t == "discard":
            await self._send(conn, {"type": "discarded", "id": msg_id, "rolloutIds": result})
        elif t == "save":
            await self._send(conn, {"type": "saved", "id": msg_id, "tag": m["tag"], **result})
        else:
            await self._send(conn, {"type": "restored", "id": msg_id, **result})

    async def _deliver(self, conn: _Conn, m: Dict[str, Any], result: Any) -> None:
        rid, items, metas, timing = result
        try:
            if conn.closed:
                raise ConnectionClosed(None, None)
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    await self._send(conn, {"type": "video_ref", "id": m["id"], "rolloutId": rid, "index": i, **item})
                    continue
                f, h, w, _ = item.shape
                header = {"type": "video", "id": m["id"], "rolloutId": rid, "index": i, "width": w, "height": h,
                          "frameCount": f, "fps": float(self.service.model.fps), "pixelFormat": "rgb24"}
                async with conn.send_lock:  # nothing may come between a header and its binary
                    await conn.ws.send(dumps(header))
                    await conn.ws.send(item.tobytes())
            await self._send(conn, {"type": "rollout_result", "id": m["id"], "rolloutId": rid, "videos": metas, "timing": timing})
        except ConnectionClosed:
            async with self._lock:
                await asyncio.to_thread(self.service.discard, [rid], conn.id)
            raise

    # ---- lifecycle ----

    async def close(self) -> None:
        """Drains (new requests refused, accepted ones may finish for drain_timeout_s), then closes every connection
        with 1001 and stops listening. Idempotent."""
        if self.state in ("draining", "closed"):
            await self._closed.wait()
            return
        self.state = "draining"
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.drain_timeout_s
            while self._queued > 0 and loop.time() < deadline:
                await asyncio.sleep(0.05)
            for conn in list(self._conns):
                try:
                    await asyncio.wait_for(conn.ws.close(1001, "worker draining"), 5)
                except Exception:
                    pass
            self._server.close()
            await asyncio.wait_for(self._server.wait_closed(), 10)
        finally:
            self.state = "closed"
            self._closed.set()
