"""Command line: `python3 -m vrgrpo_worker --host 127.0.0.1 --port 0 --artifact-root DIR --state-root DIR …`.
Prints exactly one line `listening ws://HOST:PORT` once it accepts connections; SIGTERM/SIGINT drain and exit 0."""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import shutil
import signal
import sys

import torch

from .flow_grpo import FlowGRPO, SamplerConfig, TrainerConfig
from .model import ReferenceVideoModel
from .server import WorkerServer
from .service import GeneratorService


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv):
    p = argparse.ArgumentParser(prog="vrgrpo_worker", description="vr-grpo reference generator worker (protocol 2)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--artifact-root", default=None, help="folder for MP4s of reference delivery (absent: inline only)")
    p.add_argument("--state-root", default=None, help="folder for save/restore (absent: not supported)")
    p.add_argument("--token-env", default="VRGRPO_GENERATOR_TOKEN", help="environment variable holding the bearer token")
    p.add_argument("--allow-unauthenticated", action="store_true", help="allow a non-loopback host without a token")
    p.add_argument("--ffmpeg", default=None, help="ffmpeg binary (default: ffmpeg on PATH)")
    p.add_argument("--seed", type=int, default=0, help="seed of the base weights")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--clip-range", type=float, default=1e-3)
    p.add_argument("--kl-beta", type=float, default=0.004)
    p.add_argument("--advantage-clip", type=float, default=5.0)
    p.add_argument("--drain-timeout", type=float, default=30.0, help="seconds")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    return p.parse_args(argv)


async def _serve(args, token) -> int:
    model = ReferenceVideoModel(seed=args.seed, frames=args.frames, size=args.size)
    grpo = FlowGRPO(model, TrainerConfig(learning_rate=args.learning_rate, clip_range=args.clip_range,
                                         kl_beta=args.kl_beta, advantage_clip=args.advantage_clip))
    ffmpeg = args.ffmpeg or shutil.which("ffmpeg") or "ffmpeg"
    service = GeneratorService(model, grpo, SamplerConfig(steps=args.steps), artifact_root=args.artifact_root,
                               state_root=args.state_root, ffmpeg=ffmpeg)
    server = await WorkerServer.start(service, host=args.host, port=args.port, token=token,
                                      advantage_clip=args.advantage_clip, drain_timeout_s=args.drain_timeout)
    host = f"[{args.host}]" if ":" in args.host else args.host
    sys.stdout.write(f"listening ws://{host}:{server.port}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.close()
    return 0


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # it logs every /healthz probe at INFO
    token = os.environ.get(args.token_env) or None
    if token is None and not is_loopback(args.host) and not args.allow_unauthenticated:
        sys.stderr.write(f"INVALID_ARGUMENT: host {args.host} is not loopback and ${args.token_env} is not set "
                         "(set a token or pass --allow-unauthenticated)\n")
        return 1
    if not (0 <= args.port <= 65535):
        sys.stderr.write("INVALID_ARGUMENT: --port must be in [0, 65535]\n")
        return 1
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    return asyncio.run(_serve(args, token))


if __name__ == "__main__":
    sys.exit(main())
