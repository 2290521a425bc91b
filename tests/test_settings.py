"""Settings come from the environment only; each case reads them in a fresh process with its own environment.

tracker/settings.py is what reads the environment, so most cases load the settings alone (a fifth of the time
of ``django.setup()``); the refusal to start and the production-like start run ``django.setup()`` in full.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings

from tracker.dates import seoul_today

# Variables the tests set themselves, never inherited from the shell that runs the suite.
OWN_VARIABLES = {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "VAR_DIR"}

SHOW_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "SECRET_KEY": settings.SECRET_KEY,
    "ENGINE": settings.DATABASES["default"]["ENGINE"],
    "DB_NAME": settings.DATABASES["default"]["NAME"],
    "DB_HOST": settings.DATABASES["default"]["HOST"],
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
}))
"""


def start_django(tmp_path, code: str = SHOW_SETTINGS, **variables: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name not in OWN_VARIABLES}
    environment.update(DJANGO_SETTINGS_MODULE="tracker.settings", VAR_DIR=str(tmp_path), **variables)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def started_settings(tmp_path, **variables: str) -> dict[str, str]:
    result = start_django(tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_it_refuses_to_start_with_debug_off_and_no_secret_key(tmp_path):
    result = start_django(tmp_path, "import django; django.setup()", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()


@pytest.fixture(scope="module")
def debug_start(tmp_path_factory) -> tuple:
    """The settings of one start in debug mode with nothing else set, in a fresh VAR_DIR: read by three tests."""
    var_dir = tmp_path_factory.mktemp("var")
    return var_dir, started_settings(var_dir, DEBUG="true")


def test_in_debug_without_a_secret_key_one_is_generated_once_into_var(debug_start):
    tmp_path, started = debug_start
    first = started["SECRET_KEY"]
    second = started_settings(tmp_path, DEBUG="true")["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert len(first) >= 50
    assert first == second == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


STRONG_KEY = "k3y-" + "0123456789abcdef" * 4  # 68 characters, 18 distinct


def test_a_secret_key_from_the_environment_wins_and_django_starts_in_production_mode(tmp_path):
    result = start_django(
        tmp_path, "import django; django.setup()" + SHOW_SETTINGS, DEBUG="false", SECRET_KEY=STRONG_KEY
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["SECRET_KEY"] == STRONG_KEY
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_a_secret_key_that_djangos_check_calls_weak(tmp_path):
    for weak in ["short-but-random-7f3a9", "k" * 60, "django-insecure-" + "0123456789abcdef" * 4]:
        result = start_django(tmp_path, "import django; django.setup()", DEBUG="false", SECRET_KEY=weak)
        assert result.returncode != 0, weak
        assert "SECRET_KEY is weak" in result.stderr


def test_a_postgres_database_url_selects_postgresql(tmp_path):
    started = started_settings(tmp_path, DEBUG="true", DATABASE_URL="postgres://tracker:secret@db:5432/tracker")
    assert (started["ENGINE"], started["DB_NAME"], started["DB_HOST"]) == (
        "django.db.backends.postgresql",
        "tracker",
        "db",
    )


def test_without_a_database_url_the_database_is_sqlite_under_var(debug_start):
    tmp_path, started = debug_start
    assert started["ENGINE"] == "django.db.backends.sqlite3"
    assert started["DB_NAME"] == str(tmp_path / "tracker.sqlite3")


def test_a_redis_url_becomes_the_celery_broker(tmp_path):
    started = started_settings(tmp_path, DEBUG="true", REDIS_URL="redis://cache:6379/0")
    assert started["CELERY_BROKER_URL"] == "redis://cache:6379/0"


def test_without_redis_celery_queues_in_files_under_var(debug_start):
    tmp_path, started = debug_start
    assert started["CELERY_BROKER_URL"] == "filesystem://"
    assert (tmp_path / "broker" / "queue").is_dir()


def test_the_tracker_speaks_korean_on_seoul_time():
    assert settings.TIME_ZONE == "Asia/Seoul"
    assert settings.LANGUAGE_CODE == "ko"
    assert settings.USE_TZ is True


def test_today_is_the_seoul_date_while_utc_is_still_on_yesterday():
    with time_machine.travel(dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC), tick=False):
        assert seoul_today() == dt.date(2026, 11, 25)
    with time_machine.travel(dt.datetime(2026, 11, 24, 14, 59, tzinfo=dt.UTC), tick=False):
        assert seoul_today() == dt.date(2026, 11, 24)
