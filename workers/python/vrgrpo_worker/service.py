"""The synchronous generator core the server drives (always from one thread, under one lock): rollouts and their
handles, updates (own rollouts + replays), discard, MP4 delivery by reference, and save/restore of training state."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .errors import WorkerError
from .flow_grpo import FlowGRPO, SamplerConfig, Trajectory
from .interface import VideoFlowModel

STATE_FORMAT = "vrgrpo-python-state/1"


@dataclass
class _Held:
    trajectory: Trajectory
    owner: int
    folder: Optional[str]


def judge_indices(total: int, count: int) -> List[int]:
    """`count` frame indices spread uniformly over `total` frames: round(i·(T−1)/(n−1))."""
    if count == 1:
        return [0]
    return [int(round(i * (total - 1) / (count - 1))) for i in range(count)]


def write_mp4(ffmpeg: str, frames: np.ndarray, fps: float, path: str, timeout_s: float = 120.0) -> int:
    """Encodes uint8 (T, H, W, 3) frames as H.264/yuv420p at `path` (temp name + rename); returns the file size."""
    t, h, w, _ = frames.shape
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    cmd = [ffmpeg, "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", f"{fps:g}", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "18",
           "-movflags", "+faststart", "-f", "mp4", tmp]
    try:
        proc = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        _remove(tmp)
        raise WorkerError("GENERATOR_FAILED", f"ffmpeg could not run ({ffmpeg}): {e}") from e
    if proc.returncode != 0:
        _remove(tmp)
        raise WorkerError("GENERATOR_FAILED", f"ffmpeg exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-300:]}")
    os.replace(tmp, path)
    return os.path.getsize(path)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class GeneratorService:
    """Owns the model, the Flow-GRPO trainer and every rollout handle. Not thread-safe by design."""

    def __init__(self, model: VideoFlowModel, grpo: FlowGRPO, sampler: SamplerConfig = SamplerConfig(), *,
                 artifact_root: Optional[str] = None, state_root: Optional[str] = None, ffmpeg: str = "ffmpeg") -> None:
        self.model, self.grpo, self.sampler = model, grpo, sampler
        self.artifact_root = os.path.realpath(artifact_root) if artifact_root else None
        self.state_root = os.path.realpath(state_root) if state_root else None
        self.ffmpeg = ffmpeg
        self._held: Dict[str, _Held] = {}
        self._boot = secrets.token_hex(3)
        self._next = 0
        self.rollouts_done = 0
        self.updates_done = 0
        for root in (self.artifact_root, self.state_root):
            if root:
                os.makedirs(root, exist_ok=True)

    # ---- rollouts ----

    def rollout(self, req: dict, owner: int, max_frame_bytes: Optional[int] = None) -> Tuple[str, list, list, dict]:
        """Samples and delivers one rollout. Returns (rolloutId, deliveries, metas, timing) where deliveries are uint8
        arrays (inline) or video_ref dicts without id/rolloutId/index (reference)."""
        delivery = req.get("delivery") or {"mode": "inline"}
        if delivery["mode"] == "reference" and not self.artifact_root:
            raise WorkerError("NOT_SUPPORTED", "reference delivery needs --artifact-root")
        sampler = self.sampler.with_overrides(req.get("sampler"))
        t0 = time.perf_counter()
        latents, traj = self.grpo.sample(req["prompts"], req["groupSize"], req["seed"], sampler, bool(req.get("reference")))
        t1 = time.perf_counter()
        if not torch.isfinite(latents).all():
            raise WorkerError("GENERATOR_FAILED", "the sampler produced a non-finite latent")
        frames = self.model.decode(latents)
        t2 = time.perf_counter()
        n, f, h, w, _ = frames.shape
        if max_frame_bytes is not None and delivery["mode"] == "inline" and f * h * w * 3 > max_frame_bytes:
            raise WorkerError("GENERATOR_FAILED", f"a video of {f * h * w * 3} bytes exceeds the client's maxPayloadBytes {max_frame_bytes}")
        self._next += 1
        rid = f"r{self._boot}-{self._next}"
        folder = None
        out: list = []
        if delivery["mode"] == "reference":
            folder = os.path.join(self.artifact_root, "rollouts", rid)
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            try:
                out = self._write_refs(frames, folder, delivery.get("judgeCopy"))
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        else:
            out = [frames[i] for i in range(n)]
        t3 = time.perf_counter()
        self._held[rid] = _Held(traj, owner, folder)
        self.rollouts_done += 1
        g = req["groupSize"]
        metas = [{"id": f"p{i // g}-m{i % g}", "prompt": req["prompts"][i // g], "promptIndex": i // g, "member": i % g,
                  "latent": None} for i in range(n)]
        timing = {"sampleMs": (t1 - t0) * 1e3, "renderMs": (t2 - t1) * 1e3, "encodeMs": (t3 - t2) * 1e3}
        return rid, out, metas, timing

    def _write_refs(self, frames: np.ndarray, folder: str, judge: Optional[dict]) -> list:
        fps = float(self.model.fps)
        refs = []
        for i in range(frames.shape[0]):
            video = frames[i]
            path = os.path.join(folder, f"{i}.mp4")
            size = write_mp4(self.ffmpeg, video, fps, path)
            ref = {"width": video.shape[2], "height": video.shape[1], "frameCount": video.shape[0], "fps": fps,
                   "uri": "file://" + path, "bytes": size, "judge": None}
            if judge:
                picked = torch.from_numpy(video[judge_indices(video.shape[0], judge["frameCount"])])
                x = picked.permute(0, 3, 1, 2).float()
                x = F.interpolate(x, size=(judge["height"], judge["width"]), mode="bilinear", align_corners=False)
                small = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
                jpath = os.path.join(folder, f"{i}.judge.mp4")
                write_mp4(self.ffmpeg, small, fps, jpath)
                ref["judge"] = {"uri": "file://" + jpath, "frameCount": judge["frameCount"], "width": judge["width"],
                                "height": judge["height"]}
            refs.append(ref)
        return refs

    def _release(self, rid: str) -> None:
        held = self._held.pop(rid, None)
        if held is not None and held.folder:
            shutil.rmtree(held.folder, ignore_errors=True)

    def discard(self, ids: Sequence[str], owner: int) -> List[str]:
        gone = []
        for rid in ids:
            held = self._held.get(rid)
            if held is not None and held.owner == owner and rid not in gone:
                self._release(rid)
                gone.append(rid)
        return gone

    def release_owner(self, owner: int) -> None:
        for rid in [r for r, h in self._held.items() if h.owner == owner]:
            self._release(rid)

    def held_count(self) -> int:
        return len(self._held)

    # ---- updates ----

    def update(self, req: dict, owner: int) -> dict:
        items = []
        seen = set()
        for i, r in enumerate(req["rollouts"]):
            rid = r["rolloutId"]
            held = self._held.get(rid)
            if held is None or held.owner != owner:
                raise WorkerError("INVALID_ARGUMENT", f"rollouts.{i}: unknown, expired, released or foreign rollout {json.dumps(rid)}")
            if rid in seen:
                raise WorkerError("INVALID_ARGUMENT", f"rollouts.{i}: rollout {json.dumps(rid)} listed twice")
            seen.add(rid)
            if len(r["advantages"]) != held.trajectory.videos:
                raise WorkerError("INVALID_ARGUMENT", f"rollouts.{i}.advantages: expected {held.trajectory.videos} advantages, got {len(r['advantages'])}")
            items.append((r.get("order"), len(items), held.trajectory, r["advantages"]))
        for i, r in enumerate(req.get("replays", [])):
            videos = len(r["prompts"]) * r["groupSize"]
            if len(r["advantages"]) != videos:
                raise WorkerError("INVALID_ARGUMENT", f"replays.{i}.advantages: expected {videos} advantages, got {len(r['advantages'])}")
            sampler = self.sampler.with_overrides(r.get("sampler"))
            _, traj = self.grpo.sample(r["prompts"], r["groupSize"], r["seed"], sampler, False)
            items.append((r.get("order"), len(items), traj, r["advantages"]))
        # Rows in ascending `order` (entries without one after, as given): workers applying the same update in
        # parallel must concatenate the same rows in the same order, or their float sums and policies drift apart.
        items.sort(key=lambda it: (it[0] if it[0] is not None else 1_000_001, it[1]))
        stats = self.grpo.update([(traj, adv) for _, _, traj, adv in items])
        for rid in seen:
            self._release(rid)
        self.updates_done += 1
        stats["policyUpdates"] = self.grpo.policy_updates
        stats["policyDigest"] = self.grpo.digest()
        return stats

    # ---- training state ----

    def save(self, tag: str) -> dict:
        if not self.state_root:
            raise WorkerError("NOT_SUPPORTED", "save needs --state-root")
        arrays, meta = self.grpo.export_state()
        if not all(np.isfinite(a).all() for a in arrays.values()):
            raise WorkerError("UPDATE_REJECTED", "the training state holds a non-finite number; not saved")
        parent = os.path.join(self.state_root, "checkpoints")
        os.makedirs(parent, exist_ok=True)
        tmp = os.path.join(parent, f".tmp-{tag}-{uuid.uuid4().hex}")
        os.makedirs(tmp)
        try:
            with open(os.path.join(tmp, "state.npz"), "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as fh:
                json.dump({"format": STATE_FORMAT, "tag": tag, **meta}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            target = os.path.join(parent, tag)
            old = None
            if os.path.exists(target):
                old = os.path.join(parent, f".old-{tag}-{uuid.uuid4().hex}")
                os.rename(target, old)
            os.rename(tmp, target)
            if old:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return {"ref": f"checkpoints/{tag}", "policyUpdates": meta["policyUpdates"], "policyDigest": meta["policyDigest"]}

    def restore(self, ref: str) -> dict:
        if not self.state_root:
            raise WorkerError("NOT_SUPPORTED", "restore needs --state-root")
        if "\x00" in ref:
            raise WorkerError("FORBIDDEN_PATH", "ref contains a NUL character")
        path = os.path.realpath(os.path.join(self.state_root, ref))
        if not path.startswith(self.state_root + os.sep):
            raise WorkerError("FORBIDDEN_PATH", "ref resolves outside the state root")
        if not os.path.isdir(path):
            raise WorkerError("CHECKPOINT_NOT_FOUND", f"no checkpoint at ref {json.dumps(ref[:200])}")
        try:
            with open(os.path.join(path, "manifest.json"), encoding="utf-8") as fh:
                meta = json.load(fh, parse_constant=lambda c: float("nan"))
            if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
                raise WorkerError("GENERATOR_STATE_CORRUPT", "manifest.json is not a vr-grpo python worker state")
            with open(os.path.join(path, "state.npz"), "rb") as fh, np.load(fh, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except WorkerError:
            raise
        except Exception as e:  # unreadable files of any kind
            raise WorkerError("GENERATOR_STATE_CORRUPT", f"checkpoint is unreadable: {type(e).__name__}: {str(e)[:200]}") from e
        self.grpo.import_state(arrays, meta)
        for rid in list(self._held):
            self._release(rid)
        return {"ref": ref, "policyUpdates": self.grpo.policy_updates, "policyDigest": self.grpo.digest()}
