"""End to end: the worker as a real child process (`python3 -m vrgrpo_worker`) driven by a websockets client over
loopback — handshake, both deliveries, updates with replays, save/restore, error codes, pings during a long rollout,
auth, /healthz, and a clean exit on SIGTERM."""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode

from helpers import ADV, PROMPTS, find_tool

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)
TOKEN = "test-token-123"
FFMPEG = find_tool("ffmpeg")
FFPROBE = find_tool("ffprobe")
TIMEOUT_S = 30.0


def run(coro) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


class Client:
    """A tiny protocol client: JSON out, messages in (text parsed, binary as bytes)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, token: Optional[str] = TOKEN) -> "Client":
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await websockets.connect(url, extra_headers=headers, max_size=64 * 1024 * 1024, compression=None)
        return cls(ws)

    async def send(self, msg: Any) -> None:
        await self.ws.send(msg if isinstance(msg, (str, bytes)) else json.dumps(msg))

    async def recv(self) -> Any:
        raw = await asyncio.wait_for(self.ws.recv(), TIMEOUT_S)
        return raw if isinstance(raw, bytes) else json.loads(raw)

    async def call(self, msg: Any) -> Dict[str, Any]:
        await self.send(msg)
        return await self.recv()

    async def rollout(self, msg: Dict[str, Any]) -> List[Any]:
        """Sends a rollout and collects everything up to its result or error."""
        await self.send(msg)
        out = []
        while True:
            m = await self.recv()
            out.append(m)
            if isinstance(m, dict) and m["type"] in ("rollout_result", "error"):
                return out

    async def close(self) -> None:
        await self.ws.close()


class ProtocolTest(unittest.TestCase):
    proc: subprocess.Popen
    url: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.mkdtemp(prefix="vrgrpo-proto-")
        cls.artifacts = os.path.join(cls.tmp, "artifacts")
        cls.state = os.path.join(cls.tmp, "state")
        args = [sys.executable, "-m", "vrgrpo_worker", "--host", "127.0.0.1", "--port", "0",
                "--artifact-root", cls.artifacts, "--state-root", cls.state, "--threads", "2"]
        if FFMPEG:
            args += ["--ffmpeg", FFMPEG]
        env = {**os.environ, "VRGRPO_GENERATOR_TOKEN": TOKEN, "PYTHONDONTWRITEBYTECODE": "1"}
        cls.proc = subprocess.Popen(args, cwd=PKG_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()  # the worker prints exactly this one line once it listens
        m = re.fullmatch(r"listening (ws://127\.0\.0\.1:(\d+))\n", line)
        if m is None:
            cls.proc.kill()
            raise AssertionError(f"unexpected first line {line!r}; stderr: {cls.proc.stderr.read()[-2000:]}")
        cls.url, cls.port = m.group(1), int(m.group(2))

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            cls.proc.send_signal(signal.SIGTERM)
            code = cls.proc.wait(timeout=30)
            rest = cls.proc.stdout.read()
            cls.proc.stderr.close()
            cls.proc.stdout.close()
            assert code == 0, f"worker exited {code} on SIGTERM"
            assert rest == "", f"more stdout after the listening line: {rest!r}"
        finally:
            if cls.proc.poll() is None:
                cls.proc.kill()
                cls.proc.wait(5)
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- handshake, auth, health ----

    def test_hello_and_health(self) -> None:
        async def go() -> None:
            c = await Client.open(self.url)
            hello = await c.recv()
            self.assertEqual(hello["type"], "hello")
            self.assertEqual(hello["protocol"], 2)
            self.assertEqual((hello["generator"], hello["trainable"], hello["worker"]), ("torch-reference", True, "vr-grpo-python-worker"))
            self.assertEqual(hello["limits"], {"maxPayloadBytes": 16777216})
            self.assertEqual(hello["features"], {"delivery": ["inline", "reference"], "state": True, "replay": True})
            self.assertEqual(hello["artifactRoot"], os.path.realpath(self.artifacts))
            await c.send({"type": "hello", "protocol": 2, "client": "test"})  # same version: no answer
            self.assertEqual(await c.call({"type": "ping", "id": "p", "t": 5}), {"type": "pong", "id": "p", "t": 5})
            st = await c.call({"type": "status", "id": "s"})
            self.assertEqual((st["type"], st["state"], st["trainable"]), ("status", "running", True))
            self.assertRegex(st["policyDigest"], r"^[0-9a-f]{64}$")
            self.assertIsInstance(st["policyUpdates"], int)
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as r:
                body = json.loads(r.read())
            self.assertEqual(body["status"], "ok")
            self.assertEqual((body["generator"], body["trainable"]), ("torch-reference", True))
            self.assertGreaterEqual(body["connections"], 1)
            await c.close()

        run(go())

    def test_auth_and_protocol_mismatch(self) -> None:
        async def go() -> None:
            for token in (None, "wrong"):
                with self.assertRaises(InvalidStatusCode) as e:
                    await Client.open(self.url, token)
                self.assertEqual(e.exception.status_code, 401)
            req = urllib.request.Request(f"http://127.0.0.1:{self.port}/", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"})
            with self.assertRaises(urllib.error.HTTPError) as h:
                urllib.request.urlopen(req, timeout=10)
            self.assertEqual(h.exception.code, 401)
            self.assertEqual(json.loads(h.exception.read())["code"], "UNAUTHORIZED")
            c = await Client.open(self.url)
            await c.recv()
            err = await c.call({"type": "hello", "protocol": 1})
            self.assertEqual((err["type"], err["code"], err["id"]), ("error", "PROTOCOL_MISMATCH", None))
            with self.assertRaises(ConnectionClosed):
                await c.recv()
            self.assertEqual(c.ws.close_code, 1002)

        run(go())

    # ---- rollouts, updates ----

    def test_inline_rollout_update_and_replay(self) -> None:
        async def go() -> None:
            c = await Client.open(self.url)
            await c.recv()
            msgs = await c.rollout({"type": "rollout", "id": "ro-1", "prompts": PROMPTS, "groupSize": 4, "seed": 3})
            self.assertEqual(len(msgs), 17, [m if isinstance(m, dict) else len(m) for m in msgs])
            for i in range(8):
                header, blob = msgs[2 * i], msgs[2 * i + 1]
                self.assertEqual((header["type"], header["id"], header["index"], header["pixelFormat"]), ("video", "ro-1", i, "rgb24"))
                self.assertEqual((header["width"], header["height"], header["frameCount"], header["fps"]), (64, 64, 24, 8))
                self.assertIsInstance(blob, bytes)
                self.assertEqual(len(blob), 64 * 64 * 3 * 24)
            result = msgs[-1]
            rid = result["rolloutId"]
            self.assertEqual([v["id"] for v in result["videos"]][:5], ["p0-m0", "p0-m1", "p0-m2", "p0-m3", "p1-m0"])
            self.assertTrue(all(v["latent"] is None for v in result["videos"]))
            self.assertEqual(set(result["timing"]), {"sampleMs", "renderMs", "encodeMs"})
            # same request, same policy → same bytes
            again = await c.rollout({"type": "rollout", "id": "ro-2", "prompts": PROMPTS, "groupSize": 4, "seed": 3})
            self.assertEqual(again[1], msgs[1])
            await c.call({"type": "discard", "id": "d", "rolloutIds": [again[-1]["rolloutId"]]})
            # errors before any update
            e = await c.call({"type": "update", "id": "u0", "rollouts": [{"rolloutId": rid, "advantages": ADV[:3]}]})
            self.assertEqual(e["code"], "INVALID_ARGUMENT")
            e = await c.call('{"type":"update","id":"u1","rollouts":[{"rolloutId":"%s","advantages":[1,1e999,0,0,0,0,0,0]}]}' % rid)
            self.assertEqual(e["code"], "INVALID_REQUEST")
            self.assertIn("rollouts.0.advantages.1", e["message"])
            other = await Client.open(self.url)
            await other.recv()
            e = await other.call({"type": "update", "id": "u2", "rollouts": [{"rolloutId": rid, "advantages": ADV}]})
            self.assertEqual((e["code"], e["id"]), ("INVALID_ARGUMENT", "u2"))
            await other.close()
            st0 = await c.call({"type": "status", "id": "s0"})
            clipped = [50.0] + ADV[1:]  # clipped to ±5 at the edge
            u = await c.call({"type": "update", "id": "u3", "rollouts": [{"rolloutId": rid, "advantages": clipped}],
                              "replays": [{"prompts": PROMPTS[:1], "groupSize": 2, "seed": 99, "sampler": {"steps": 6},
                                           "advantages": [0.5, None]}]})
            self.assertEqual(u["type"], "update_result", u)
            self.assertEqual(u["policyUpdates"], st0["policyUpdates"] + 1)
            self.assertRegex(u["policyDigest"], r"^[0-9a-f]{64}$")
            self.assertNotEqual(u["policyDigest"], st0["policyDigest"])
            self.assertEqual(u["stats"]["videos"], 9)
            self.assertEqual(u["stats"]["rows"], 9 * 3)
            self.assertEqual(u["stats"]["onPolicyMaxRatioDeviation"], 0)
            e = await c.call({"type": "update", "id": "u4", "rollouts": [{"rolloutId": rid, "advantages": ADV}]})
            self.assertEqual(e["code"], "INVALID_ARGUMENT")  # released
            u = await c.call({"type": "update", "id": "u5", "rollouts": [],
                              "replays": [{"prompts": PROMPTS, "groupSize": 1, "seed": 1, "advantages": [1, -1]}]})
            self.assertEqual(u["type"], "update_result", u)
            st = await c.call({"type": "status", "id": "s1"})
            self.assertEqual(st["policyDigest"], u["policyDigest"])
            await c.close()

        run(go())

    @unittest.skipIf(FFMPEG is None, "no ffmpeg (set VRGRPO_TEST_FFMPEG)")
    def test_reference_delivery(self) -> None:
        async def go() -> None:
            c = await Client.open(self.url)
            await c.recv()
            msgs = await c.rollout({"type": "rollout", "id": "rr", "prompts": PROMPTS, "groupSize": 2, "seed": 4,
                                    "delivery": {"mode": "reference", "judgeCopy": {"frameCount": 32, "width": 32, "height": 32}}})
            self.assertEqual([m["type"] for m in msgs], ["video_ref"] * 4 + ["rollout_result"], msgs)
            rid = msgs[-1]["rolloutId"]
            folder = os.path.join(os.path.realpath(self.artifacts), "rollouts", rid)
            for i, ref in enumerate(msgs[:4]):
                self.assertEqual((ref["id"], ref["rolloutId"], ref["index"]), ("rr", rid, i))
                self.assertEqual((ref["width"], ref["height"], ref["frameCount"], ref["fps"]), (64, 64, 24, 8))
                path = ref["uri"][len("file://"):]
                self.assertEqual(path, os.path.join(folder, f"{i}.mp4"))
                self.assertEqual(os.path.getsize(path), ref["bytes"])
                self.assertEqual(ref["judge"]["uri"], "file://" + os.path.join(folder, f"{i}.judge.mp4"))
                if FFPROBE:
                    self.assertEqual(probe(path), ("h264", 64, 64, 24, "yuv420p"))
                    self.assertEqual(probe(ref["judge"]["uri"][7:]), ("h264", 32, 32, 32, "yuv420p"))
            self.assertEqual(sorted(os.listdir(folder)), sorted([f"{i}.mp4" for i in range(4)] + [f"{i}.judge.mp4" for i in range(4)]))
            plain = await c.rollout({"type": "rollout", "id": "rr2", "prompts": PROMPTS[:1], "groupSize": 1, "seed": 4,
                                     "delivery": {"mode": "reference"}})
            self.assertIsNone(plain[0]["judge"])
            u = await c.call({"type": "update", "id": "u", "rollouts": [{"rolloutId": rid, "advantages": [1, -1, 0.5, -0.5]}]})
            self.assertEqual(u["type"], "update_result", u)
            self.assertFalse(os.path.exists(folder))  # released with the update
            plain_folder = os.path.join(os.path.realpath(self.artifacts), "rollouts", plain[-1]["rolloutId"])
            self.assertTrue(os.path.exists(plain_folder))
            await c.close()
            for _ in range(100):  # the worker releases the closed connection's rollouts right after the close
                if not os.path.exists(plain_folder):
                    break
                await asyncio.sleep(0.05)
            self.assertFalse(os.path.exists(plain_folder))

        run(go())

    def test_save_and_restore_messages(self) -> None:
        async def go() -> None:
            c = await Client.open(self.url)
            await c.recv()
            saved = await c.call({"type": "save", "id": "s1", "tag": "step-000001"})
            self.assertEqual((saved["type"], saved["id"], saved["tag"]), ("saved", "s1", "step-000001"), saved)
            self.assertLessEqual(len(saved["ref"]), 1024)
            msgs = await c.rollout({"type": "rollout", "id": "r", "prompts": PROMPTS, "groupSize": 2, "seed": 8})
            await c.call({"type": "update", "id": "u", "rollouts": [{"rolloutId": msgs[-1]["rolloutId"], "advantages": [1, -1, 1, -1]}]})
            pending = await c.rollout({"type": "rollout", "id": "r2", "prompts": PROMPTS, "groupSize": 1, "seed": 8})
            restored = await c.call({"type": "restore", "id": "r1", "ref": saved["ref"]})
            self.assertEqual(restored, {"type": "restored", "id": "r1", "ref": saved["ref"], "policyUpdates": saved["policyUpdates"],
                                        "policyDigest": saved["policyDigest"]})
            e = await c.call({"type": "update", "id": "u2", "rollouts": [{"rolloutId": pending[-1]["rolloutId"], "advantages": [1, -1]}]})
            self.assertEqual(e["code"], "INVALID_ARGUMENT")  # restore released it
            for ref, code in (("checkpoints/none", "CHECKPOINT_NOT_FOUND"), ("../../etc", "FORBIDDEN_PATH"), ("/etc", "FORBIDDEN_PATH")):
                e = await c.call({"type": "restore", "id": "rx", "ref": ref})
                self.assertEqual((e["type"], e["code"]), ("error", code), e)
            e = await c.call({"type": "save", "id": "sx", "tag": "../evil"})
            self.assertEqual(e["code"], "INVALID_REQUEST")
            self.assertIn("tag", e["message"])
            await c.close()

        run(go())

    def test_bad_messages_get_codes(self) -> None:
        async def go() -> None:
            c = await Client.open(self.url)
            await c.recv()
            cases = [
                ("not json", "BAD_MESSAGE", None, None),
                (b"\x00\x01", "BAD_MESSAGE", None, None),
                ('{"type":"ping","t":NaN}', "BAD_MESSAGE", None, None),
                ("[1,2]", "INVALID_REQUEST", None, None),
                ({"id": "a"}, "INVALID_REQUEST", "a", "type"),
                ({"type": "explode", "id": "b"}, "UNKNOWN_TYPE", "b", None),
                ({"type": "rollout", "id": "c", "prompts": PROMPTS, "groupSize": 0, "seed": 1}, "INVALID_REQUEST", "c", "groupSize"),
                ({"type": "rollout", "id": "d", "prompts": [], "groupSize": 1, "seed": 1}, "INVALID_REQUEST", "d", "prompts"),
                ({"type": "rollout", "id": "e", "prompts": ["x"], "groupSize": 1, "seed": 1.5}, "INVALID_REQUEST", "e", "seed"),
                ({"type": "rollout", "id": "f", "prompts": ["x"], "groupSize": 1, "seed": 1, "sampler": {"noiseLevel": 0}},
                 "INVALID_REQUEST", "f", "sampler.noiseLevel"),
                ({"type": "rollout", "id": "g", "prompts": ["x"], "groupSize": 1, "seed": 1, "sampler": {"steps": 1001}},
                 "INVALID_REQUEST", "g", "sampler.steps"),
                ({"type": "rollout", "id": "h", "prompts": ["x"], "groupSize": 1, "seed": 1, "extra": 1}, "INVALID_REQUEST", "h", "extra"),
                ({"type": "rollout", "id": "i", "prompts": ["x"] * 100, "groupSize": 256, "seed": 1}, "INVALID_REQUEST", "i", "groupSize"),
                ({"type": "update", "id": "j", "rollouts": []}, "INVALID_REQUEST", "j", "rollouts"),
                ({"type": "update", "id": "k", "rollouts": [{"rolloutId": "nope", "advantages": [1]}]}, "INVALID_ARGUMENT", "k", "nope"),
                ({"type": "update", "id": "l", "rollouts": [], "replays": [{"prompts": ["x"], "groupSize": 2, "seed": 1, "advantages": [1]}]},
                 "INVALID_REQUEST", "l", "replays.0.advantages"),
                ({"type": "rollout", "id": "n", "prompts": ["x"], "groupSize": 1, "seed": 1, "delivery": {"mode": "inline", "judgeCopy": None}},
                 "INVALID_REQUEST", "n", "judgeCopy"),
                ({"type": "rollout", "id": "o", "prompts": ["x"], "groupSize": 1, "seed": 1,
                  "delivery": {"mode": "reference", "judgeCopy": {"frameCount": 257, "width": 64, "height": 64}}},
                 "INVALID_REQUEST", "o", "delivery.judgeCopy.frameCount"),
                ({"type": "rollout", "id": "m", "prompts": ["x"], "groupSize": 1, "seed": 1, "delivery": {"mode": "carrier-pigeon"}},
                 "INVALID_REQUEST", "m", "delivery.mode"),
            ]
            for msg, code, msg_id, field in cases:
                e = await c.call(msg)
                self.assertEqual((e["type"], e["code"], e["id"]), ("error", code, msg_id), (msg, e))
                if field:
                    self.assertIn(field, e["message"])
            await c.close()

        run(go())

    def test_ping_during_long_rollout_and_overload(self) -> None:
        async def go() -> None:
            c = await Client.open(self.url)
            await c.recv()
            await c.send({"type": "rollout", "id": "long", "prompts": PROMPTS, "groupSize": 4, "seed": 1,
                          "sampler": {"mode": "ode", "steps": 150}})
            for i in range(70):  # queued behind the rollout: 64 may wait, the rest are refused
                await c.send({"type": "discard", "id": f"d{i}", "rolloutIds": []})
            await c.send({"type": "ping", "id": "p", "t": 1})
            seen: List[Any] = []
            while True:
                m = await c.recv()
                seen.append(m)
                if isinstance(m, dict) and m.get("type") == "pong":
                    break
            kinds = [m["type"] if isinstance(m, dict) else "binary" for m in seen]
            self.assertNotIn("video", kinds, "the pong came only after the rollout")
            self.assertEqual([m["code"] for m in seen if m["type"] == "error"], ["OVERLOADED"] * 7)
            rest = []
            while len([m for m in rest if isinstance(m, dict) and m["type"] == "discarded"]) < 63:
                rest.append(await c.recv())
            self.assertIn("rollout_result", [m["type"] for m in rest if isinstance(m, dict)])
            await c.close()

        run(go())

    def test_client_payload_limit(self) -> None:
        async def go() -> None:
            c = await Client.open(self.url)
            await c.recv()
            await c.send({"type": "hello", "protocol": 2, "maxPayloadBytes": 1000})
            msgs = await c.rollout({"type": "rollout", "id": "big", "prompts": ["x"], "groupSize": 1, "seed": 1})
            self.assertEqual([(m["type"], m.get("code")) for m in msgs], [("error", "GENERATOR_FAILED")])
            await c.close()

        run(go())


class CommandLineTest(unittest.TestCase):
    def test_refuses_a_non_loopback_host_without_token(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "VRGRPO_GENERATOR_TOKEN"}
        r = subprocess.run([sys.executable, "-m", "vrgrpo_worker", "--host", "0.0.0.0"], cwd=PKG_ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("INVALID_ARGUMENT", r.stderr)

    def test_sigterm_drains_accepted_work_then_exits_zero(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "VRGRPO_GENERATOR_TOKEN"}
        proc = subprocess.Popen([sys.executable, "-m", "vrgrpo_worker", "--frames", "8", "--size", "32"], cwd=PKG_ROOT,
                                env={**env, "PYTHONDONTWRITEBYTECODE": "1"}, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()
            url = line.split()[1]
            port = int(url.rsplit(":", 1)[1])

            async def go() -> None:
                c = await Client.open(url, None)
                await c.recv()
                await c.send({"type": "rollout", "id": "slow", "prompts": PROMPTS, "groupSize": 2, "seed": 1,
                              "sampler": {"mode": "ode", "steps": 500}})
                self.assertEqual((await c.call({"type": "ping", "id": "p"}))["type"], "pong")  # the rollout is accepted
                proc.send_signal(signal.SIGTERM)
                statuses = []
                for _ in range(40):
                    await asyncio.sleep(0.05)
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()
                        statuses.append(200)
                    except urllib.error.HTTPError as e:
                        statuses.append(e.code)
                        break
                self.assertEqual(statuses[-1], 503)
                e = await c.call({"type": "discard", "id": "late", "rolloutIds": []})
                self.assertEqual(e["code"], "GENERATOR_UNAVAILABLE")
                got = []
                with self.assertRaises(ConnectionClosed):
                    while True:
                        got.append(await c.recv())
                self.assertEqual(c.ws.close_code, 1001)
                self.assertEqual(got[-1]["type"], "rollout_result")

            run(go())
            self.assertEqual(proc.wait(timeout=30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            proc.stdout.close()


def probe(path: str):
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                          "stream=codec_name,width,height,nb_read_frames,pix_fmt", "-of", "json", path],
                         capture_output=True, text=True, timeout=30, check=True)
    s = json.loads(out.stdout)["streams"][0]
    return s["codec_name"], s["width"], s["height"], int(s["nb_read_frames"]), s["pix_fmt"]


if __name__ == "__main__":
    unittest.main()
