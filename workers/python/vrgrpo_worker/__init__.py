"""vr-grpo reference generator worker: a small flow-matching video model trained with Flow-GRPO, served over the
generator-worker WebSocket protocol (version 2)."""

PROTOCOL_VERSION = 2
WORKER_NAME = "vr-grpo-python-worker"
