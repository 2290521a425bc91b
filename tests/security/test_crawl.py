"""Keep the audit's findings from coming back: every URL pattern, as each role, with another project's ids.

Every pattern the URL resolver knows (the workspace, the e-mail links, the feeds, the accounts pages and every
admin page) is requested with GET and with a POST full of plausible form data, as an anonymous visitor, a
viewer, a project manager and a project manager with staff status. The ids in the URL are those of a project
(and its milestone, note, history…) that none of them manages; signed links are tampered with or made for
the wrong milestone. After each request the database must be exactly as before (a snapshot of every table,
compared whenever the request issued a write statement, and at the end of each role's crawl), no request may
fail with a server error, and no HTML page may carry an inline script or style element.

A new URL pattern is crawled automatically. One with a parameter this module does not know how to fill makes
the test fail until ``parameter_values`` learns it; a view that writes without asking projects.permissions
makes it fail outright. A view that legitimately writes for the person themself goes into ``OWN_WRITES``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notifications import links
from notifications.feeds import calendar_feed_rotate
from notifications.models import DigestPolicy, NotificationPreference, ReminderPolicy
from notifications.reminders import reminders_plan
from projects import roles
from projects.models import CoreProject, Milestone, MilestoneTemplate, ProgressUpdate
from projects.views import MILESTONE_ACTIONS
from tests.factories import CoreProjectFactory, MilestoneFactory, ProgressUpdateFactory, UserFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

# Tables a request may write whoever asks: sessions, and django-axes' record of sign-in attempts.
IGNORED_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}
# Columns that change by signing in (the crawl signs its client in again after a logout).
IGNORED_COLUMNS = {("auth.User", "last_login")}
# (URL name, method) → models it may change: the person's own things, never another project's.
OWN_WRITES = {
    ("notifications:calendar", "GET"): {"notifications.CalendarFeed"},  # the person's feed, made on first visit
    ("notifications:calendar", "POST"): {"notifications.CalendarFeed"},  # the person revokes their own address
    ("notifications:settings", "GET"): {"notifications.NotificationPreference", "notifications.CalendarFeed"},
    ("notifications:settings", "POST"): {"notifications.NotificationPreference", "notifications.CalendarFeed"},
}
# Unnamed patterns: Django admin's redirect from <id>/ to <id>/change/ and its catch-all 404.
UNNAMED_ALLOWED = re.compile(r"^admin/(.*<path:object_id>/|\(\?P<url>\.\*\)\$)$")
WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=\s*[\"']|<style\b", re.IGNORECASE)
JUNK_QUERY = "?per_page=-1&page=-5&sort=nonexistent&_export=pdf&week=junk&q=%27%22%3C"


@dataclass
class Route:
    path: str
    name: str | None
    parameters: list[str]
    positional: int


def routes() -> Iterator[Route]:
    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace])) or None
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                regex = pattern.pattern.regex
                name = pattern.name and ":".join(filter(None, [namespace, pattern.name]))
                yield Route(
                    prefix + str(pattern.pattern), name, list(regex.groupindex), regex.groups - len(regex.groupindex)
                )

    yield from walk(get_resolver().url_patterns, "", None)


def snapshot() -> dict[str, list]:
    """Every row of every table (but the ignored ones), as tuples."""
    state = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table in IGNORED_TABLES or not model._meta.managed:
            continue
        label = model._meta.label
        columns = [f.attname for f in model._meta.concrete_fields if (label, f.attname) not in IGNORED_COLUMNS]
        state[label] = list(model._base_manager.order_by("pk").values_list(*columns))
    return state


def changed_models(before: dict, after: dict) -> set[str]:
    return {label for label in before if before[label] != after[label]}


@pytest.fixture
def world(db):
    """Two projects: ours (the crawling project managers manage it) and theirs (only the outsider does)."""
    owner = UserFactory(username="crawler", role=roles.PROJECT_MANAGER)
    staff = UserFactory(username="crawler-staff", role=roles.PROJECT_MANAGER, is_staff=True)
    viewer = UserFactory(username="crawler-viewer", role=roles.VIEWER)
    outsider = UserFactory(username="outsider", role=roles.PROJECT_MANAGER)
    ours = CoreProjectFactory(name="우리 사업", managers=[owner, staff])
    theirs = CoreProjectFactory(name="다른 팀 사업", managers=[outsider])
    MilestoneFactory(project=ours, owner=owner)
    milestone = MilestoneFactory(project=theirs, owner=outsider, due_date=dt.date(2026, 12, 15))
    note = ProgressUpdateFactory(project=theirs, author=outsider)
    NotificationPreference.objects.create(user=outsider)
    calendar_feed_rotate(user=outsider)
    DigestPolicy.current()
    ReminderPolicy.current()
    reminders_plan(now=dt.datetime(2026, 12, 14, 10, tzinfo=SEOUL))  # a reminder and an outbox row for outsider
    Client().post(reverse("login"), {"username": "outsider", "password": "wrong"})  # axes rows to open
    return {
        "users": {"anonymous": None, "viewer": viewer, "manager": owner, "staff manager": staff},
        "outsider": outsider,
        "theirs": theirs,
        "milestone": milestone,
        "note": note,
        "template": MilestoneTemplate.objects.order_by("pk").first(),
    }


def admin_object(world, model_label: str):
    model = apps.get_model(model_label)
    owned = {CoreProject: world["theirs"], Milestone: world["milestone"], ProgressUpdate: world["note"]}
    if model in owned:
        return owned[model]
    if model is get_user_model():
        return world["outsider"]
    return model._base_manager.order_by("pk").first()


def tampered(token: str) -> str:
    return token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")


def parameter_values(route: Route, world, user) -> list[tuple[dict, tuple]]:
    """The URL arguments to crawl ``route`` with: another project's ids, foreign or tampered tokens."""
    name = route.name or ""
    theirs, milestone = world["theirs"], world["milestone"]
    me = user or world["users"]["viewer"]
    admin_model = re.match(r"admin:(\w+?)_(\w+?)_(change|delete|history|simple_history|password_change)$", name)
    obj = admin_object(world, f"{admin_model[1]}.{admin_model[2]}") if admin_model else None
    known = {
        "pk": {"projects:milestone_edit": milestone.pk, "projects:milestone_action": milestone.pk}.get(
            name, theirs.task.strategy_id if name == "notifications:strategy_calendar" else theirs.pk
        ),
        "template_pk": world["template"].pk,
        "week": "2026-W47",
        "uidb64": urlsafe_base64_encode(force_bytes(world["outsider"].pk)),
        "object_id": obj.pk if obj is not None else theirs.pk,
        "id": world["outsider"].pk,
        "content_type_id": ContentType.objects.get_for_model(CoreProject).pk,
        "app_label": "projects",
    }
    tokens = {
        "notifications:milestone_submit": links.milestone_submit_path(user_id=me.pk, milestone=milestone).split("/")[
            -3
        ],
        "notifications:preferences": tampered(links.preferences_path(user_id=world["outsider"].pk).split("/")[-2]),
        "notifications:unsubscribe": tampered(
            links.unsubscribe_path(user_id=world["outsider"].pk, kind="reminders").split("/")[-2]
        ),
        "notifications:my_calendar": "not-a-feed-token",
        "notifications:strategy_calendar": "not-a-feed-token",
        "password_reset_confirm": "bogus-reset-token",
    }
    if name.endswith("_simple_history") and route.positional == 2:
        version = obj.history.order_by("history_id").first().history_id
        return [({}, (obj.pk, version))]
    kwargs = {}
    for parameter in route.parameters:
        if parameter == "token":
            kwargs["token"] = tokens[name]
        elif parameter == "action":
            continue
        elif parameter in known:
            kwargs[parameter] = known[parameter]
        else:
            pytest.fail(f"{route.path}: the crawl does not know how to fill <{parameter}>; teach parameter_values")
    if route.positional:
        pytest.fail(f"{route.path}: positional URL arguments; teach parameter_values")
    if "action" in route.parameters:
        return [({**kwargs, "action": action}, ()) for action in (*MILESTONE_ACTIONS, "bogus")]
    return [(kwargs, ())]


def post_data(world, user) -> dict:
    """Plausible input for every form of the app at once, aimed at the other project."""
    theirs, milestone = world["theirs"], world["milestone"]
    return {
        "version": str(milestone.version),
        "reason": "크롤러",
        "due_date": "2026-12-31",
        "completed_on": "2026-11-30",
        "amount_secured": "1",
        "amount_requested": "1",
        "kind": "other",
        "title": "크롤러가 쓴 제목",
        "status": "achieved",
        "responsible_agency": "크롤러부",
        "notes": "크롤러",
        "summary": "크롤러 보고",
        "rag_status": "delayed",
        "project": str(theirs.pk),
        "owner": str(user.pk) if user else "",
        "author": str(user.pk) if user else "",
        "week_start": "2026-11-23",
        "task": str(theirs.task_id),
        "code": "CRAWL-1",
        "name": "크롤러 사업",
        "category": "new",
        "budget_total": "1",
        "budget_national": "0",
        "budget_city": "0",
        "budget_private": "0",
        "managers": [str(user.pk)] if user else [],
        "milestones-TOTAL_FORMS": "0",
        "milestones-INITIAL_FORMS": "0",
        "steps-TOTAL_FORMS": "0",
        "steps-INITIAL_FORMS": "0",
        "reminders": "",
        "digest": "",
        "language": "en",
        "fiscal_year": "2027",
        "apply": "1",
        "action": "delete_selected",
        "_selected_action": [str(theirs.pk), str(milestone.pk)],
        "post": "yes",
        "username": "crawler",
        "password": "wrong-password",
        "email": world["outsider"].email,
        "old_password": "wrong-password",
        "new_password1": "Crawler-2026-pass!",
        "new_password2": "Crawler-2026-pass!",
        "is_staff": "on",
        "is_superuser": "on",
        "import_file_name": "/etc/passwd",
        "original_file_name": "x.csv",
        "format": "0",
        "resource": "0",
    }


def request(client: Client, method: str, url: str, data: dict):
    if method == "GET":
        return client.get(url)
    return client.post(url, data)


@pytest.mark.parametrize("role", ["anonymous", "viewer", "manager", "staff manager"])
def test_no_url_lets_a_role_change_what_it_does_not_own(world, role):
    user = world["users"][role]
    client = Client(raise_request_exception=True)
    if user:
        client.force_login(user)
    data = post_data(world, user)
    baseline = snapshot()
    crawled = 0
    for route in routes():
        if route.name is None:
            assert UNNAMED_ALLOWED.match(route.path), f"{route.path}: name the URL pattern so the crawl can reach it"
            continue
        for kwargs, args in parameter_values(route, world, user):
            url = reverse(route.name, args=args or None, kwargs=kwargs or None)
            for method in ("GET", "POST", "GET junk"):
                if method == "GET junk":  # hostile paging and sorting, on pages without arguments
                    if kwargs or args:
                        continue
                    url, method = url + JUNK_QUERY, "GET"
                if user and "_auth_user_id" not in client.session:
                    client.force_login(user)  # a crawled logout (or a password change) signed us out
                with CaptureQueriesContext(connection) as queries:
                    try:
                        response = request(client, method, url, data)
                    except Exception as error:
                        raise AssertionError(f"{role}: {method} {url} failed") from error
                crawled += 1
                # /health/ answers 503 by design while the test setup has no scheduler ticking.
                unhealthy_by_design = route.name == "health" and response.status_code == 503
                assert response.status_code < 500 or unhealthy_by_design, (
                    f"{role}: {method} {url} → {response.status_code}"
                )
                content_type = response.get("Content-Type", "")
                if method == "GET" and response.status_code == 200 and content_type.startswith("text/html"):
                    found = INLINE_SCRIPT.findall(response.content.decode())
                    assert not found, f"{role}: GET {url} has inline script {found[:3]}"
                writes = {match[1] for query in queries for match in [WRITE.match(query["sql"])] if match}
                if writes - IGNORED_TABLES:
                    after = snapshot()
                    changed = changed_models(baseline, after)
                    allowed = OWN_WRITES.get((route.name, method), set())
                    assert changed <= allowed, f"{role}: {method} {url} changed {sorted(changed - allowed)}"
                    baseline = after
    assert crawled > 250
    final = snapshot()
    assert changed_models(baseline, final) == set(), role
    theirs = CoreProject.objects.get(pk=world["theirs"].pk)
    assert theirs.name == "다른 팀 사업" and list(theirs.managers.values_list("username", flat=True)) == ["outsider"]
