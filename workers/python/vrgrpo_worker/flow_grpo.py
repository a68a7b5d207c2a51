"""Flow-GRPO for any `VideoFlowModel`: SDE sampling with per-step Gaussian log-probabilities, their recomputation
under the current policy, and the all-or-nothing clipped-surrogate + β·KL update with Adam on the adapters.

Maths (see vr-grpo DESIGN.md §3): σ runs from 1 to 0 over T steps (optionally shifted); on an SDE step with
Δt = σ_next − σ < 0 and noise scale σ_t = a·√(σ/(1−σ)) (σ_1 replaces σ in the denominator at σ = 1),
  μ = x + [v + σ_t²/(2σ)·(x + (1−σ)·v)]·Δt,   x' = μ + σ_t·√(−Δt)·ε,
  log p = mean over latent elements of the Gaussian log-density N(x'; μ, (σ_t√(−Δt))²).
Other steps are Euler (ODE) steps x' = x + v·Δt and carry no log-probability.
Recomputation calls the model on exactly the tensors and batch layout used while sampling, so on policy the ratio
is exactly 1.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .errors import WorkerError
from .interface import VideoFlowModel

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class SamplerConfig:
    """The sampler; `sde_end` None = every step from `sde_start` on is an SDE step."""

    mode: str = "sde"
    steps: int = 10
    noise_level: float = 0.7
    shift: float = 1.0
    sde_start: int = 0
    sde_end: Optional[int] = 3
    same_noise_in_group: bool = False

    def with_overrides(self, o: Optional[dict]) -> "SamplerConfig":
        """Applies wire overrides (already validated: mode, steps, noiseLevel, shift, sdeWindow, sameNoiseInGroup)."""
        if not o:
            return self
        c = self
        if "mode" in o:
            c = dataclasses.replace(c, mode=o["mode"])
        if "steps" in o:
            c = dataclasses.replace(c, steps=int(o["steps"]))
        if "noiseLevel" in o:
            c = dataclasses.replace(c, noise_level=float(o["noiseLevel"]))
        if "shift" in o:
            c = dataclasses.replace(c, shift=float(o["shift"]))
        if "sdeWindow" in o:
            w = o["sdeWindow"]
            c = dataclasses.replace(c, sde_start=int(w["start"]), sde_end=None if w["end"] is None else int(w["end"]))
        if "sameNoiseInGroup" in o:
            c = dataclasses.replace(c, same_noise_in_group=bool(o["sameNoiseInGroup"]))
        return c

    def is_sde_step(self, k: int) -> bool:
        return self.mode == "sde" and k >= self.sde_start and (self.sde_end is None or k < self.sde_end)


@dataclass(frozen=True)
class TrainerConfig:
    """Flow-GRPO update settings. `clip_range` ε is tiny because log p is a mean over many latent elements."""

    learning_rate: float = 1e-3
    clip_range: float = 1e-3
    kl_beta: float = 0.004
    advantage_clip: float = 5.0
    max_grad_norm: float = 1.0
    inner_epochs: int = 1
    adam_betas: Tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8


def sigma_schedule(steps: int, shift: float) -> List[float]:
    """σ_0 = 1 > … > σ_T = 0 (length T + 1), shifted σ' = shift·σ/(1 + (shift − 1)·σ)."""
    out = []
    for i in range(steps + 1):
        s = 1.0 - i / steps
        out.append(shift * s / (1.0 + (shift - 1.0) * s))
    return out


def noise_scale(sigma: float, schedule: Sequence[float], noise_level: float) -> float:
    """σ_t = a·√(σ/(1 − σ)); at σ = 1 the schedule's σ_1 stands in the denominator (as Flow-GRPO does)."""
    sigma_max = schedule[1] if len(schedule) > 1 else 0.0
    denominator = 1.0 - (sigma_max if sigma >= 1.0 else sigma)
    return noise_level * math.sqrt(sigma / max(denominator, 1e-12))


def _reduce_dims(x: torch.Tensor) -> Tuple[int, ...]:
    return tuple(range(1, x.dim()))


def sde_mean(x: torch.Tensor, v: torch.Tensor, sigma: float, dt: float, scale: float) -> torch.Tensor:
    """The mean μ of the SDE step's Gaussian transition."""
    return x + (v + (scale * scale / (2.0 * sigma)) * (x + (1.0 - sigma) * v)) * dt


def gaussian_logp(x_next: torch.Tensor, mean: torch.Tensor, std: float) -> torch.Tensor:
    """Per-video mean over latent elements of log N(x_next; mean, std²)."""
    return (-((x_next - mean) ** 2) / (2.0 * std * std) - math.log(std) - _HALF_LOG_2PI).mean(dim=_reduce_dims(x_next))


@dataclass
class SdeStep:
    """One recorded SDE step of a whole rollout batch."""

    index: int
    sigma: float
    dt: float
    scale: float
    before: torch.Tensor  # (N, *latent_shape)
    after: torch.Tensor
    logp: torch.Tensor  # (N,)


@dataclass
class Trajectory:
    """What an update needs from a rollout: conditioning, the SDE steps, and how it was sampled."""

    prompts: List[str]
    group_size: int
    seed: int
    sampler: SamplerConfig
    reference: bool
    cond: torch.Tensor
    steps: List[SdeStep] = field(default_factory=list)

    @property
    def videos(self) -> int:
        return len(self.prompts) * self.group_size


def _finite(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None


class FlowGRPO:
    """Sampler + trainer over a `VideoFlowModel`. Not thread-safe: the server calls it under one lock."""

    def __init__(self, model: VideoFlowModel, config: TrainerConfig = TrainerConfig()) -> None:
        self.model = model
        self.config = config
        self._params = model.trainable_parameters()
        for _, p in self._params:
            p.requires_grad_(True)
        self._adam_m: Dict[str, torch.Tensor] = {n: torch.zeros_like(p) for n, p in self._params}
        self._adam_v: Dict[str, torch.Tensor] = {n: torch.zeros_like(p) for n, p in self._params}
        self._adam_step = 0
        self.policy_updates = 0
        self._digest = self._compute_digest()

    # ---- sampling ----

    def sample(self, prompts: Sequence[str], group_size: int, seed: int, sampler: SamplerConfig,
               reference: bool = False) -> Tuple[torch.Tensor, Trajectory]:
        """Samples len(prompts)·group_size latents (prompt-major); all noise comes from a CPU generator seeded by `seed`."""
        gen = torch.Generator().manual_seed(int(seed) % (2**63))
        shape = tuple(self.model.latent_shape)
        n = len(prompts) * group_size
        with torch.no_grad():
            if sampler.same_noise_in_group:
                x = torch.randn((len(prompts),) + shape, generator=gen).repeat_interleave(group_size, dim=0)
            else:
                x = torch.randn((n,) + shape, generator=gen)
            cond = self.model.encode_prompts(list(prompts)).repeat_interleave(group_size, dim=0)
            traj = Trajectory(list(prompts), group_size, int(seed), sampler, reference, cond)
            sched = sigma_schedule(sampler.steps, sampler.shift)
            for k in range(sampler.steps):
                sigma, dt = sched[k], sched[k + 1] - sched[k]
                v = self.model.velocity(x, torch.full((n,), sigma), cond, not reference)
                if sampler.is_sde_step(k):
                    scale = noise_scale(sigma, sched, sampler.noise_level)
                    std = scale * math.sqrt(-dt)
                    mean = sde_mean(x, v, sigma, dt, scale)
                    x_next = mean + std * torch.randn(x.shape, generator=gen)
                    traj.steps.append(SdeStep(k, sigma, dt, scale, x, x_next, gaussian_logp(x_next, mean, std)))
                else:
                    x_next = x + v * dt
                x = x_next
        return x, traj

    def step_logp(self, traj: Trajectory, step: SdeStep, adapters_on: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
        """(log p of the recorded transition, μ) under the current policy (or the reference with adapters off)."""
        n = step.before.shape[0]
        v = self.model.velocity(step.before, torch.full((n,), step.sigma), traj.cond, adapters_on)
        mean = sde_mean(step.before, v, step.sigma, step.dt, step.scale)
        return gaussian_logp(step.after, mean, step.scale * math.sqrt(-step.dt)), mean

    # ---- the update ----

    def update(self, items: Sequence[Tuple[Trajectory, Sequence[Optional[float]]]]) -> dict:
        """One Flow-GRPO update from (trajectory, advantages) pairs; advantages are finite or None (masked) and already
        clipped. All or nothing: any non-finite loss, gradient, parameter or moment restores the previous state and
        raises UPDATE_REJECTED."""
        cfg = self.config
        prepared = []
        videos = rows = 0
        for traj, adv in items:
            if len(adv) != traj.videos:
                raise WorkerError("INVALID_ARGUMENT", f"expected {traj.videos} advantages, got {len(adv)}")
            if not traj.steps:
                raise WorkerError("INVALID_ARGUMENT", "a rollout without SDE steps (mode ode or an empty sdeWindow) cannot be trained on")
            mask = torch.tensor([0.0 if a is None else 1.0 for a in adv])
            a = torch.tensor([0.0 if a is None else float(a) for a in adv]).clamp(-cfg.advantage_clip, cfg.advantage_clip)
            used = int(mask.sum().item())
            videos += used
            rows += used * len(traj.steps)
            prepared.append((traj, a, mask))
        if rows == 0:
            raise WorkerError("INVALID_ARGUMENT", "every advantage is null: nothing to train on")

        snapshot = self._snapshot()
        try:
            stats = self._run_epochs(prepared, rows)
        except WorkerError:
            self._restore(snapshot)
            raise
        except Exception:
            self._restore(snapshot)
            raise
        self.policy_updates += 1
        self._digest = self._compute_digest()
        stats["rows"], stats["videos"] = rows, videos
        return stats

    def _run_epochs(self, prepared, rows: int) -> dict:
        cfg = self.config
        eps = cfg.clip_range
        on_policy_dev = float("nan")
        for epoch in range(cfg.inner_epochs):
            for _, p in self._params:
                p.grad = None
            tot = {"policy": 0.0, "kl": 0.0, "approx_kl": 0.0, "high": 0.0, "low": 0.0, "r": 0.0, "r2": 0.0}
            max_dev = 0.0
            for traj, adv, mask in prepared:
                for step in traj.steps:
                    logp, mean = self.step_logp(traj, step, True)
                    with torch.no_grad():
                        _, mean_ref = self.step_logp(traj, step, False)
                    std = step.scale * math.sqrt(-step.dt)
                    ratio = torch.exp(logp - step.logp)
                    per_row = torch.maximum(-adv * ratio, -adv * ratio.clamp(1.0 - eps, 1.0 + eps))
                    kl = ((mean - mean_ref) ** 2).mean(dim=_reduce_dims(mean)) / (2.0 * std * std)
                    loss = ((per_row + cfg.kl_beta * kl) * mask).sum() / rows
                    if not torch.isfinite(loss):
                        raise WorkerError("UPDATE_REJECTED", f"non-finite loss in inner epoch {epoch}")
                    loss.backward()
                    with torch.no_grad():
                        r = ratio.detach()
                        sel = mask > 0
                        tot["policy"] += float((per_row.detach() * mask).sum())
                        tot["kl"] += float((kl.detach() * mask).sum())
                        tot["approx_kl"] += float((0.5 * (logp.detach() - step.logp) ** 2 * mask).sum())
                        tot["high"] += float(((r > 1.0 + eps).float() * mask).sum())
                        tot["low"] += float(((r < 1.0 - eps).float() * mask).sum())
                        tot["r"] += float((r * mask).sum())
                        tot["r2"] += float((r * r * mask).sum())
                        if sel.any():
                            max_dev = max(max_dev, float((r[sel] - 1.0).abs().max()))
            if epoch == 0:
                on_policy_dev = max_dev
            grad_norm = self._adam_step_all_or_raise(epoch)
        mean_r = tot["r"] / rows
        return {
            "policyLoss": _finite(tot["policy"] / rows),
            "klLoss": _finite(tot["kl"] / rows),
            "approxKl": _finite(tot["approx_kl"] / rows),
            "clipFracHigh": _finite(tot["high"] / rows),
            "clipFracLow": _finite(tot["low"] / rows),
            "ratioMean": _finite(mean_r),
            "ratioStd": _finite(math.sqrt(max(tot["r2"] / rows - mean_r * mean_r, 0.0))),
            "onPolicyMaxRatioDeviation": _finite(on_policy_dev),
            "gradNorm": _finite(grad_norm),
        }

    def _adam_step_all_or_raise(self, epoch: int) -> float:
        cfg = self.config
        with torch.no_grad():
            grads = [(n, p, p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in self._params]
            norm = math.sqrt(sum(float((g.double() ** 2).sum()) for _, _, g in grads))
            if not math.isfinite(norm):
                raise WorkerError("UPDATE_REJECTED", f"non-finite gradient norm in inner epoch {epoch}")
            factor = min(1.0, cfg.max_grad_norm / (norm + 1e-12)) if cfg.max_grad_norm > 0 else 1.0
            b1, b2 = cfg.adam_betas
            t = self._adam_step + 1
            staged = []
            for n, p, g in grads:
                g = g * factor
                m = b1 * self._adam_m[n] + (1.0 - b1) * g
                v = b2 * self._adam_v[n] + (1.0 - b2) * g * g
                new_p = p - cfg.learning_rate * (m / (1.0 - b1**t)) / ((v / (1.0 - b2**t)).sqrt() + cfg.adam_eps)
                if not (torch.isfinite(m).all() and torch.isfinite(v).all() and torch.isfinite(new_p).all()):
                    raise WorkerError("UPDATE_REJECTED", f"non-finite parameters or optimizer moments ({n}) in inner epoch {epoch}")
                staged.append((n, p, m, v, new_p))
            for n, p, m, v, new_p in staged:
                p.copy_(new_p)
                p.grad = None
                self._adam_m[n], self._adam_v[n] = m, v
            self._adam_step = t
        return norm

    # ---- state ----

    def _snapshot(self):
        return ({n: p.detach().clone() for n, p in self._params}, dict(self._adam_m), dict(self._adam_v),
                self._adam_step, self.policy_updates)

    def _restore(self, snap) -> None:
        params, m, v, step, updates = snap
        with torch.no_grad():
            for n, p in self._params:
                p.copy_(params[n])
                p.grad = None
        self._adam_m, self._adam_v, self._adam_step, self.policy_updates = dict(m), dict(v), step, updates
        self._digest = self._compute_digest()

    def digest(self) -> str:
        """The policy digest as of the last committed change (safe to read from another thread: the server's status
        answers while an update may be running)."""
        return self._digest

    def _compute_digest(self) -> str:
        """Lower-case hex SHA-256 of the adapters as little-endian float32, in `trainable_parameters()` order."""
        h = hashlib.sha256()
        for _, p in self._params:
            h.update(p.detach().contiguous().numpy().astype("<f4", copy=False).tobytes())
        return h.hexdigest()

    def export_state(self) -> Tuple[Dict[str, np.ndarray], dict]:
        """Arrays (adapters and Adam moments) and metadata of the full training state."""
        arrays: Dict[str, np.ndarray] = {}
        for n, p in self._params:
            arrays[f"param/{n}"] = p.detach().numpy().astype("<f4").copy()
            arrays[f"adam_m/{n}"] = self._adam_m[n].numpy().astype("<f4").copy()
            arrays[f"adam_v/{n}"] = self._adam_v[n].numpy().astype("<f4").copy()
        meta = {"policyUpdates": self.policy_updates, "adamStep": self._adam_step, "policyDigest": self._compute_digest(),
                "parameters": [[n, list(p.shape)] for n, p in self._params]}
        return arrays, meta

    def import_state(self, arrays: Dict[str, np.ndarray], meta: dict) -> None:
        """Replaces the training state after checking every shape and number; on any problem raises
        GENERATOR_STATE_CORRUPT and keeps the current state."""
        def corrupt(why: str) -> WorkerError:
            return WorkerError("GENERATOR_STATE_CORRUPT", why)

        updates, step = meta.get("policyUpdates"), meta.get("adamStep")
        if not (isinstance(updates, int) and not isinstance(updates, bool) and updates >= 0):
            raise corrupt("policyUpdates is missing or not a non-negative integer")
        if not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
            raise corrupt("adamStep is missing or not a non-negative integer")
        staged = {}
        for n, p in self._params:
            for kind in ("param", "adam_m", "adam_v"):
                a = arrays.get(f"{kind}/{n}")
                if a is None:
                    raise corrupt(f"{kind}/{n} is missing")
                if tuple(a.shape) != tuple(p.shape) or a.dtype != np.dtype("<f4"):
                    raise corrupt(f"{kind}/{n} has shape {tuple(a.shape)} {a.dtype}, expected {tuple(p.shape)} float32")
                if not np.isfinite(a).all():
                    raise corrupt(f"{kind}/{n} holds a non-finite number")
                if kind == "adam_v" and (a < 0).any():
                    raise corrupt(f"{kind}/{n} holds a negative second moment")
                staged[(kind, n)] = torch.from_numpy(np.array(a, dtype=np.float32))
        with torch.no_grad():
            for n, p in self._params:
                p.copy_(staged[("param", n)])
                p.grad = None
                self._adam_m[n] = staged[("adam_m", n)]
                self._adam_v[n] = staged[("adam_v", n)]
        self._adam_step, self.policy_updates = step, updates
        self._digest = self._compute_digest()
