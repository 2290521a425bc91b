"""Shared fixtures: an owner, a teammate and an outsider; a loopback SMTP server; and the real services some
tests need.

A test that needs PostgreSQL or Redis skips with a reason on a laptop without them, and fails instead
when CI is set, so that CI always exercises the real services.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings

from projects import roles
from tests.factories import CoreProjectFactory, UserFactory
from tests.portfolio import NOW, hand_counted_portfolio
from tests.smtp import SmtpServer

IN_CI = bool(os.environ.get("CI"))


def pytest_collection_modifyitems(items):
    """Mark the tests that need a server, so that the SQLite pass in CI can leave them out (-m)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "postgres" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if "redis_url" in fixtures:
            item.add_marker(pytest.mark.redis)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's ``--dist loadscope`` (make test), kept in the order pytest-django puts the tests in.

    A module (or class) goes to one worker whole, so that its shared rows are made once; the cases of a
    parametrized browser test (tests/e2e) are shared out one by one, so that the slowest do not keep one worker
    busy at the end. Units are handed out in the order of the collection, not largest first: pytest-django runs
    the tests that commit and flush the database (browser, live server, real workers) after all the others,
    because a flush takes the rows the migrations made (the role groups, the milestone templates) with it, so a
    worker must not get a plain database test after one of them. A module whose tests pytest-django split in two
    (plain ones first, transactional ones at the end) is two units.

    A worker gets its next unit when it is down to its last test (xdist: two). A worker cannot start a test before
    it knows the next one, so one unit ahead is the least it can hold; with xdist's two, a worker finishing a
    module took the three role tests of the accessibility crawl (one test each) at once and ran them one after the
    other while the second worker stood idle for half a minute.
    """
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class InCollectionOrder(LoadScopeScheduling):
        units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.units is None:  # self.collection is complete by the first call
                self.units, module, runs = {}, None, 0
                for each in self.collection:
                    if each.split("::", 1)[0] != module:
                        module, runs = each.split("::", 1)[0], runs + 1
                    browser_case = each.startswith("tests/e2e/") and "[" in each
                    self.units[each] = each if browser_case else f"{runs} {super()._split_scope(each)}"
            return self.units[nodeid]

        def _reschedule(self, node) -> None:
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
            elif self._pending_of(self.assigned_work[node]) <= 1:
                self._assign_work_unit(node)

    return InCollectionOrder(config, log)


def require_service(available: bool, reason: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI needs this service, and it is not configured: {reason}")
    pytest.skip(reason)


@contextmanager
def shared_rows(django_db_blocker) -> Iterator[None]:
    """Rows made once for a whole module or class (the plan, the sample portfolio), inside a transaction that is
    rolled back after its last test, so that nothing leaks into other modules.

    Use it in a module- or class-scoped fixture that also depends on ``django_db_setup``. Each test still runs
    in its own savepoint (pytest-django's ``db``), so a test that writes leaves the shared rows as they were
    for the next one. Not for ``transactional_db`` tests (the live server, real workers): they need committed
    rows and would flush the shared ones.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def signed_in(user) -> Client:
    """A test client signed in as ``user`` (without the sign-in form, which tests/security/test_login.py covers)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def postgres():
    """The test database is PostgreSQL (DATABASE_URL=postgres://...)."""
    require_service(connection.vendor == "postgresql", "DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    """A real Redis server's URL (REDIS_URL=redis://...)."""
    require_service(bool(settings.REDIS_URL), "REDIS_URL is not set")
    return settings.REDIS_URL


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A loopback SMTP server (tests/smtp.py), with Django's SMTP backend pointed at it for the test."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 20
        yield server


@pytest.fixture
def owner(db):
    return UserFactory(
        username="owner", role=roles.PROJECT_MANAGER, profile__name="김담당", profile__department="해양정책과"
    )


@pytest.fixture
def teammate(db):
    return UserFactory(
        username="teammate", role=roles.PROJECT_MANAGER, profile__name="이동료", profile__department="투자유치과"
    )


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider", role=roles.PROJECT_MANAGER)


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer", role=roles.VIEWER)


@pytest.fixture
def tf_head(db):
    return UserFactory(username="tfhead", first_name="단장", role=roles.TF_HEAD)


@pytest.fixture
def project(owner, teammate):
    return CoreProjectFactory(managers=[owner, teammate])


@pytest.fixture
def portfolio_clock() -> Iterator[None]:
    """The clock stands at tests.portfolio.NOW, the moment the hand-counted portfolio is counted at."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def portfolio(owner, portfolio_clock):
    """Two strategies, three tasks, four projects and nine milestones, counted by hand (tests/portfolio.py)."""
    return hand_counted_portfolio(owner)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True, role=roles.ADMIN)


@pytest.fixture
def admin_client(client, superuser):
    """A client signed in as ``superuser`` (in place of pytest-django's, whose admin has no role)."""
    client.force_login(superuser)
    return client


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """The user factory hashes a password per user; the default hasher takes ~0.4 s for each (PBKDF2). Session-wide,
    so that a password set in a class- or module-scoped fixture is checked with the same hasher."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def fresh_cache(settings) -> None:
    """Each test starts with a cache of its own (rate limits, trend points, chart pictures: no test sees another's),
    never the Redis the suite may share, whose flush would also empty the broker."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"test-{uuid.uuid4()}"}
    }


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Tasks queued with .delay() run at once, in the test's process (errors propagate)."""
    from tracker.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def korean_first() -> Iterator[None]:
    """Every test starts in the default language: a request in English leaves English active in its thread."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
