"""Audit finding 5: the mail catcher's web UI (password-reset and one-click links, no login) is not published."""

from __future__ import annotations

import re

from django.conf import settings


def published_ports(service: str) -> list[str]:
    """The `ports:` entries of one service of docker-compose.yml (a flat reading; the file has no anchors there)."""
    text = (settings.BASE_DIR / "docker-compose.yml").read_text()
    block = re.search(rf"^  {service}:\n(.*?)(?=^  \S|^\S|\Z)", text, flags=re.M | re.S)
    assert block, f"no service {service}"
    ports = re.search(r"^    ports:\n((?:      - .*\n)+)", block.group(1), flags=re.M)
    return [line.split("-", 1)[1].strip().strip("\"'") for line in ports.group(1).splitlines()] if ports else []


def test_the_mail_catcher_is_published_on_loopback_only():
    ports = published_ports("mailpit")
    assert ports, "Mailpit's UI should still be reachable from the host"
    assert all(port.startswith("127.0.0.1:") for port in ports), ports
