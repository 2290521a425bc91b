"""The benchmarks' own PostgreSQL databases: dropped and re-created for each run, never the app's."""

from __future__ import annotations

import os
from pathlib import Path


def bench_database_name(base: str) -> str:
    """``base`` plus the BENCH_DB_SUFFIX of the environment, so that two people (or two checkouts) who
    benchmark on one PostgreSQL server never drop each other's database."""
    return base + os.environ.get("BENCH_DB_SUFFIX", "")


def database_recreate(server: str, name: str, *, drop_only: bool = False) -> None:
    """Drop ``name`` on ``server`` (closing Django's connections first, if any) and, unless ``drop_only``, create it."""
    import psycopg
    from django.conf import settings
    from django.db import connections

    if settings.configured:
        connections.close_all()
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            admin.execute(f'CREATE DATABASE "{name}"')


def bench_child_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's child process: production settings (DEBUG off, no template debugging,
    static files from a manifest) on the bench database, and no Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "VAR_DIR": str(var_dir),
        **extra,
    }
    env.pop("REDIS_URL", None)
    return env
