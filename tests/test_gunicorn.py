"""The production image's gunicorn command: workers that a long export cannot time out, and recycled workers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gunicorn.config import Config

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def _image_command() -> list[str]:
    text = DOCKERFILE.read_text()
    command = re.search(r"^CMD (\[.*?\])\s*$", text.replace("\\\n", " "), re.MULTILINE | re.DOTALL).group(1)
    return json.loads(command)


def test_the_image_runs_gunicorn_with_threads_a_long_timeout_and_recycled_workers():
    command = _image_command()
    assert command[:2] == ["gunicorn", "tracker.wsgi:application"]
    config = Config()
    for name, value in vars(config.parser().parse_args(command[2:])).items():
        if value is not None and name in config.settings:
            config.set(name, value)
    # gthread: the main loop heartbeats while a thread streams an export; a sync worker would be killed.
    assert config.worker_class_str == "gthread" and config.threads == 4
    assert config.timeout >= 120 and config.graceful_timeout >= 60
    assert config.max_requests == 1000 and config.max_requests_jitter == 100
    assert config.bind == ["0.0.0.0:8000"]
