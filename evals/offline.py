"""The environment every bench and eval runs in: offline (no model download, no telemetry) and with
OpenMP threads that sleep rather than spin between calls (they share two cores with the chat)."""
from __future__ import annotations

import os

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
               "OMP_WAIT_POLICY": "PASSIVE"}


def offline_env() -> None:
    """Set what is not set already (a caller's own choice wins)."""
    for k, v in OFFLINE_ENV.items():
        os.environ.setdefault(k, v)
