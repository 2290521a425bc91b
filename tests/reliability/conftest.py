"""Fixtures for the delivery reliability suite: committed data in PostgreSQL shared with real workers, Celery
workers (in this process or as child processes) that send to the ``smtp_server`` fixture (tests/conftest.py), and
a Redis server of our own.

Every test here needs PostgreSQL (workers in other threads and processes must see committed rows) and Redis;
on a laptop without them the tests skip, under CI they fail (tests/conftest.py: require_service).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import factory
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import connection

from notifications.models import OutboxMessage, ReminderPolicy
from projects import roles
from tests.conftest import require_service
from tests.factories import CoreProjectFactory, MilestoneFactory, UserFactory
from tests.smtp import SmtpServer, free_port
from tracker.celery import app

WAIT = 60.0  # seconds: the longest any single wait in this suite may take before the test fails


def wait_for(condition: Callable[[], bool], *, timeout: float = WAIT, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(interval)


def outbox_ids(**filters) -> set[str]:
    return set(OutboxMessage.objects.filter(**filters).values_list("message_id", flat=True))


def people_with_due_milestones(people: int, *, due, per_person: int = 1, prefix: str = "pm") -> list:
    """``people`` project managers, each the owner of ``per_person`` open milestones due on ``due``."""
    project = CoreProjectFactory()
    # An unusable password: hashing a real one costs half a second a user, and nobody logs in here.
    users = [
        UserFactory(username=f"{prefix}{n}", password=factory.Transformer.Force("!"), role=roles.PROJECT_MANAGER)
        for n in range(people)
    ]
    project.managers.add(*users)  # reminders follow access: owners who may change their project
    for user in users:
        for _ in range(per_person):
            MilestoneFactory(project=project, owner=user, due_date=due)
    return users


def terminate_other_backends() -> None:
    """End the test database's other sessions (worker threads and killed workers leave theirs open)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def role_groups_ensure() -> None:
    """The role groups as migration projects/0002 makes them: a database flushed by another transactional test
    has lost them (and may have lost the permissions), and reminders go only to people with a role."""
    for app_config in django_apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, codes in importlib.import_module("projects.migrations.0002_role_groups").ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set(
            [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in codes]
        )


@pytest.fixture
def live_db(postgres, transactional_db) -> Iterator[None]:
    """Committed rows in PostgreSQL, visible to workers in other threads and processes."""
    role_groups_ensure()
    yield
    terminate_other_backends()


@pytest.fixture
def sends_now(live_db) -> ReminderPolicy:
    """A policy under which a reminder is ready the moment its threshold's day begins, whatever the hour,
    so that tests driven by the real clock (workers call timezone.now()) do not depend on when they run."""
    ReminderPolicy.objects.update_or_create(pk=1, defaults={"send_hour": 0, "shift_to_working_day": False})
    return ReminderPolicy.current()


def broker_idle(client: redis.Redis, queue: str) -> bool:
    """No task waiting in ``queue`` and none delivered but unacknowledged (acks are late: after the task)."""
    if client.llen(queue):
        return False
    for raw in client.hvals("unacked"):
        _payload, _exchange, routing_key = json.loads(raw)
        if routing_key == queue:
            return False
    return True


def purge_queue(client: redis.Redis, queue: str) -> None:
    """Remove ``queue``, its bindings and its unacknowledged deliveries (a killed worker leaves one)."""
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    for tag, raw in client.hgetall("unacked").items():
        if json.loads(raw)[2] == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture
def task_queue(redis_url) -> Iterator[str]:
    """A queue of our own on the shared Redis: this process routes the notification tasks to it, and the
    workers of the test consume only it, so nothing else on that Redis is touched or consumed."""
    queue = f"reliability-{uuid.uuid4().hex[:12]}"
    previous = app.conf.task_routes
    app.conf.update(task_routes={"notifications.tasks.*": {"queue": queue}})
    client = redis.Redis.from_url(redis_url)
    try:
        yield queue
    finally:
        app.conf.update(task_routes=previous)
        purge_queue(client, queue)
        client.close()


@pytest.fixture
def broker(redis_url) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def inprocess_worker(live_db, task_queue, smtp_server) -> Callable:
    """``with inprocess_worker(concurrency=2):`` a Celery worker in threads of this process, on task_queue."""

    def start(*, concurrency: int = 2):
        return start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            queues=[task_queue],
            shutdown_timeout=30,
        )

    return start


class WorkerProcess:
    """``celery -A tracker worker`` as a child process in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, *, queue: str | None, pool: str, concurrency: int):
        self.env, self.log_path = env, log_path
        self.name = f"reliability-{uuid.uuid4().hex[:8]}"
        self.args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{self.name}@%h",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ]
        if queue:
            self.args += ["--queues", queue]
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 30) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: " ready." in self.log() or self.process.poll() is not None, timeout=timeout, what="worker ready"
        )
        assert self.process.poll() is None, f"the worker exited at start:\n{self.log()}"
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the worker and its pool children: no shutdown, no acknowledgement, no cleanup."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def database_url() -> str:
    """The test database (test_<name>) as a DATABASE_URL for the worker processes."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_processes(live_db, smtp_server, redis_url, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """``worker_processes(queue=..., redis_url=..., pool=..., concurrency=...)`` starts a worker process with the
    environment a deployed worker has (DATABASE_URL, REDIS_URL, EMAIL_URL); all are killed when the test ends."""
    started: list[WorkerProcess] = []

    def start(
        *, queue: str | None, broker_url: str = redis_url, pool: str = "solo", concurrency: int = 1
    ) -> WorkerProcess:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tracker.settings",
            "DEBUG": "true",
            "VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": database_url(),
            "CONN_MAX_AGE": "0",
            "REDIS_URL": broker_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
            "EMAIL_TIMEOUT": "10",
            "LOG_LEVEL": "INFO",
        }
        worker = WorkerProcess(
            env, tmp_path / f"worker-{len(started)}.log", queue=queue, pool=pool, concurrency=concurrency
        )
        started.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()
        forget_workers(redis_url, [worker.name for worker in started])


def forget_workers(broker_url: str, names: list[str]) -> None:
    """A killed worker leaves its remote-control binding behind on the broker: remove it."""
    client = redis.Redis.from_url(broker_url)
    try:
        for member in client.smembers("_kombu.binding.celery.pidbox"):
            queue = member.decode().split("\x06\x16")[-1]  # kombu's binding: routing key, pattern, queue
            if queue.split("@")[0] in names:
                client.srem("_kombu.binding.celery.pidbox", member)
    finally:
        client.close()


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence: a restart loses everything."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            wait_for(lambda: self._pings(client), timeout=15, what=f"redis-server on port {self.port}")
        finally:
            client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)


@pytest.fixture
def own_redis(redis_url, tmp_path) -> Iterator[RedisServer]:
    """For the tests that kill or restart Redis: never the shared server."""
    require_service(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


def delivered_recipients(smtp_server: SmtpServer) -> Counter[str]:
    return Counter(address for message in smtp_server.delivered for address in message.rcpt_tos)
