"""Shared fixtures of the worker tests: a small model, a service, the ffmpeg/ffprobe to use."""
from __future__ import annotations

import os
import shutil
import sys
from typing import Optional

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from vrgrpo_worker.flow_grpo import FlowGRPO, SamplerConfig, TrainerConfig  # noqa: E402
from vrgrpo_worker.model import ReferenceVideoModel  # noqa: E402
from vrgrpo_worker.service import GeneratorService  # noqa: E402

PROMPTS = ["a red circle moving left fast on a navy background", "a green cross staying still on a maroon background"]
ADV = [1.2, -0.8, 0.3, -0.7, 0.9, -1.1, 0.5, -0.3]


def make_grpo(seed: int = 0, frames: int = 8, **trainer) -> FlowGRPO:
    return FlowGRPO(ReferenceVideoModel(seed=seed, frames=frames, size=32), TrainerConfig(**trainer))


def make_service(seed: int = 0, frames: int = 8, artifact_root: Optional[str] = None, state_root: Optional[str] = None,
                 **trainer) -> GeneratorService:
    grpo = make_grpo(seed, frames, **trainer)
    return GeneratorService(grpo.model, grpo, SamplerConfig(), artifact_root=artifact_root, state_root=state_root,
                            ffmpeg=find_tool("ffmpeg") or "ffmpeg")


def find_tool(name: str) -> Optional[str]:
    """VRGRPO_TEST_FFMPEG / VRGRPO_TEST_FFPROBE, else the tool on PATH."""
    explicit = os.environ.get(f"VRGRPO_TEST_{name.upper()}")
    if explicit:
        return explicit
    return shutil.which(name)


def rollout_req(prompts=PROMPTS, group=4, seed=7, **extra) -> dict:
    return {"type": "rollout", "id": "x", "prompts": list(prompts), "groupSize": group, "seed": seed, **extra}
