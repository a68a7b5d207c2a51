"""The worker's error: a catalogue code (docs/errors.md of vr-grpo) plus a message; the server sends it as `error`."""
from __future__ import annotations


class WorkerError(Exception):
    """A failure with a protocol error code (INVALID_ARGUMENT, UPDATE_REJECTED, CHECKPOINT_NOT_FOUND, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
