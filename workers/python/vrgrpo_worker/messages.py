"""Edge parsing of client messages (protocol version 2): JSON text → a validated dict, or a `ParseFailure` with the
protocol code and a message naming the offending field (as `src/protocol/generator-messages.ts` does with zod)."""
from __future__ import annotations

import json
import math
import re
from typing import Any, Dict, List, Optional, Tuple

MAX_VIDEOS_PER_ROLLOUT = 4096
CLIENT_TYPES = ("hello", "rollout", "update", "discard", "status", "ping", "save", "restore")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class ParseFailure(Exception):
    def __init__(self, code: str, message: str, msg_id: Optional[str]) -> None:
        super().__init__(message)
        self.code, self.message, self.id = code, message[:1000], msg_id


class _Invalid(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '(message)'}: {message}")


def _p(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _obj(v: Any, path: str, required: Tuple[str, ...], optional: Tuple[str, ...]) -> Dict[str, Any]:
    if not isinstance(v, dict):
        raise _Invalid(path, "expected object")
    unknown = [k for k in v if k not in required and k not in optional]
    if unknown:
        raise _Invalid(path, f"unknown field(s) {', '.join(str(k)[:64] for k in unknown[:5])}")
    for k in required:
        if k not in v:
            raise _Invalid(_p(path, k), "required")
    return v


def _num(v: Any, path: str, gt: Optional[float] = None, lo: Optional[float] = None, hi: Optional[float] = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Invalid(path, "expected number")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Invalid(path, "expected a finite number")
    if gt is not None and not v > gt:
        raise _Invalid(path, f"must be > {gt}")
    if lo is not None and v < lo:
        raise _Invalid(path, f"Too small: must be >= {lo}")
    if hi is not None and v > hi:
        raise _Invalid(path, f"Too big: must be <= {hi}")
    return float(v)


def _int(v: Any, path: str, lo: Optional[int] = None, hi: Optional[int] = None) -> int:
    _num(v, path)
    if isinstance(v, float) and not v.is_integer():
        raise _Invalid(path, "expected integer")
    i = int(v)
    if lo is not None and i < lo:
        raise _Invalid(path, f"Too small: must be >= {lo}")
    if hi is not None and i > hi:
        raise _Invalid(path, f"Too big: must be <= {hi}")
    return i


def _str(v: Any, path: str, lo: int = 0, hi: int = 10**9) -> str:
    if not isinstance(v, str):
        raise _Invalid(path, "expected string")
    if len(v) < lo:
        raise _Invalid(path, f"Too small: expected at least {lo} characters")
    if len(v) > hi:
        raise _Invalid(path, f"Too big: expected at most {hi} characters")
    return v


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise _Invalid(path, "expected boolean")
    return v


def _arr(v: Any, path: str, lo: int, hi: int) -> List[Any]:
    if not isinstance(v, list):
        raise _Invalid(path, "expected array")
    if len(v) < lo:
        raise _Invalid(path, f"Too small: expected at least {lo} items")
    if len(v) > hi:
        raise _Invalid(path, f"Too big: expected at most {hi} items")
    return v


def _sampler(v: Any, path: str) -> Dict[str, Any]:
    o = _obj(v, path, (), ("mode", "steps", "noiseLevel", "shift", "sdeWindow", "sameNoiseInGroup"))
    if "mode" in o and o["mode"] not in ("sde", "ode"):
        raise _Invalid(_p(path, "mode"), "expected 'sde' or 'ode'")
    if "steps" in o:
        _int(o["steps"], _p(path, "steps"), 1, 1000)
    if "noiseLevel" in o:
        _num(o["noiseLevel"], _p(path, "noiseLevel"), gt=0, hi=5)
    if "shift" in o:
        _num(o["shift"], _p(path, "shift"), gt=0, hi=100)
    if "sdeWindow" in o:
        w = _obj(o["sdeWindow"], _p(path, "sdeWindow"), ("start", "end"), ())
        _int(w["start"], _p(path, "sdeWindow.start"), 0)
        if w["end"] is not None:
            _int(w["end"], _p(path, "sdeWindow.end"), 1)
    if "sameNoiseInGroup" in o:
        _bool(o["sameNoiseInGroup"], _p(path, "sameNoiseInGroup"))
    return o


def _prompts_group(o: Dict[str, Any], path: str) -> None:
    prompts = _arr(o["prompts"], _p(path, "prompts"), 1, 1024)
    for i, s in enumerate(prompts):
        _str(s, _p(path, f"prompts.{i}"), 1, 4000)
    g = _int(o["groupSize"], _p(path, "groupSize"), 1, 256)
    if len(prompts) * g > MAX_VIDEOS_PER_ROLLOUT:
        raise _Invalid(_p(path, "groupSize"), f"prompts × groupSize = {len(prompts) * g} exceeds {MAX_VIDEOS_PER_ROLLOUT} videos per rollout")
    _int(o["seed"], _p(path, "seed"))


def _order(entry: dict, path: str) -> None:
    """An update entry's optional place in the row order: an integer 0..1000000."""
    if "order" in entry:
        v = entry["order"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > 1_000_000:
            raise _Invalid(f"{path}.order", "expected an integer in 0..1000000")


def _advantages(v: Any, path: str, advantage_clip: float) -> Tuple[List[Optional[float]], int]:
    """Validates advantages (finite numbers or null) and clips them to ±advantage_clip; returns (values, clipped count)."""
    items = _arr(v, path, 1, MAX_VIDEOS_PER_ROLLOUT)
    out: List[Optional[float]] = []
    clipped = 0
    for j, a in enumerate(items):
        if a is None:
            out.append(None)
            continue
        x = _num(a, f"{path}.{j}")
        if abs(x) > advantage_clip:
            clipped += 1
            x = max(-advantage_clip, min(advantage_clip, x))
        out.append(x)
    return out, clipped


def _validate(m: Dict[str, Any], advantage_clip: float) -> Dict[str, Any]:
    t = m["type"]
    if t == "hello":
        _obj(m, "", ("type", "protocol"), ("client", "maxPayloadBytes"))
        _int(m["protocol"], "protocol")
        if "client" in m:
            _str(m["client"], "client", 0, 200)
        if "maxPayloadBytes" in m:
            _int(m["maxPayloadBytes"], "maxPayloadBytes", 1)
    elif t == "rollout":
        _obj(m, "", ("type", "id", "prompts", "groupSize", "seed"), ("sampler", "reference", "delivery"))
        _prompts_group(m, "")
        if "sampler" in m:
            _sampler(m["sampler"], "sampler")
        if "reference" in m:
            _bool(m["reference"], "reference")
        if "delivery" in m:
            if not isinstance(m["delivery"], dict) or m["delivery"].get("mode") not in ("inline", "reference"):
                raise _Invalid("delivery.mode", "expected 'inline' or 'reference'")
            if m["delivery"]["mode"] == "inline":
                _obj(m["delivery"], "delivery", ("mode",), ())
            else:
                d = _obj(m["delivery"], "delivery", ("mode",), ("judgeCopy",))
                if d.get("judgeCopy") is not None:
                    j = _obj(d["judgeCopy"], "delivery.judgeCopy", ("frameCount", "width", "height"), ())
                    _int(j["frameCount"], "delivery.judgeCopy.frameCount", 1, 256)
                    for k in ("width", "height"):
                        # the schema allows any size in [8, 4096]; H.264 in yuv420p needs even sides
                        if _int(j[k], f"delivery.judgeCopy.{k}", 8, 4096) % 2:
                            raise _Invalid(f"delivery.judgeCopy.{k}", "must be even (H.264 yuv420p)")
    elif t == "update":
        _obj(m, "", ("type", "id", "rollouts"), ("replays",))
        rollouts = _arr(m["rollouts"], "rollouts", 0, 1024)
        m["_clipped"] = 0
        for i, r in enumerate(rollouts):
            _obj(r, f"rollouts.{i}", ("rolloutId", "advantages"), ("order",))
            _order(r, f"rollouts.{i}")
            _str(r["rolloutId"], f"rollouts.{i}.rolloutId", 1, 128)
            r["advantages"], c = _advantages(r["advantages"], f"rollouts.{i}.advantages", advantage_clip)
            m["_clipped"] += c
        replays = _arr(m.get("replays", []), "replays", 0, 1024)
        for i, r in enumerate(replays):
            path = f"replays.{i}"
            _obj(r, path, ("prompts", "groupSize", "seed", "advantages"), ("sampler", "order"))
            _order(r, path)
            _prompts_group(r, path)
            if "sampler" in r:
                _sampler(r["sampler"], f"{path}.sampler")
            r["advantages"], c = _advantages(r["advantages"], f"{path}.advantages", advantage_clip)
            m["_clipped"] += c
            expected = len(r["prompts"]) * r["groupSize"]
            if len(r["advantages"]) != expected:
                raise _Invalid(f"{path}.advantages", f"expected {expected} advantages (prompts × groupSize), got {len(r['advantages'])}")
        if not rollouts and not replays:
            raise _Invalid("rollouts", "rollouts and replays are both empty")
    elif t == "discard":
        _obj(m, "", ("type", "id", "rolloutIds"), ())
        for i, r in enumerate(_arr(m["rolloutIds"], "rolloutIds", 0, 1024)):
            _str(r, f"rolloutIds.{i}", 1, 128)
    elif t in ("status", "ping"):
        _obj(m, "", ("type",), ("id",) + (("t",) if t == "ping" else ()))
        if "t" in m:
            _num(m["t"], "t")
    elif t == "save":
        _obj(m, "", ("type", "id", "tag"), ())
        if not TAG_RE.match(_str(m["tag"], "tag")):
            raise _Invalid("tag", "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    elif t == "restore":
        _obj(m, "", ("type", "id", "ref"), ())
        _str(m["ref"], "ref", 1, 1024)
    if "id" in m:
        _str(m["id"], "id", 1, 128)
    return m


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_client_message(text: str, advantage_clip: float = 5.0) -> Dict[str, Any]:
    """Parses and validates one client text message; raises ParseFailure."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ParseFailure("BAD_MESSAGE", "message is not valid JSON", None) from None
    msg_id = None
    if isinstance(value, dict):
        raw = value.get("id")
        if isinstance(raw, str) and 1 <= len(raw) <= 128:
            msg_id = raw
    if not isinstance(value, dict):
        raise ParseFailure("INVALID_REQUEST", "(message): expected a JSON object", None)
    t = value.get("type")
    if not isinstance(t, str):
        raise ParseFailure("INVALID_REQUEST", "type: expected string", msg_id)
    if t not in CLIENT_TYPES:
        raise ParseFailure("UNKNOWN_TYPE", f"unknown message type {json.dumps(t[:64])}", msg_id)
    try:
        return _validate(value, advantage_clip)
    except _Invalid as e:
        raise ParseFailure("INVALID_REQUEST", str(e), msg_id) from None
