"""/health/ for uptime checkers and compose, and the admin's 시스템 상태 page and index banner, all from the same
checks (health.py)."""

from __future__ import annotations

import datetime as dt
import logging

from asgiref.sync import async_to_sync
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.log import log_response
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from health_check.base import HealthCheckResult
from health_check.contrib.celery import Ping
from health_check.views import HealthCheckView

from notifications.health import OutboxState, SchedulerState, health_report, health_results, health_results_sync
from notifications.models import DeliveryAlert, JobRun, OutboxMessage, Reminder
from notifications.runs import logfmt
from projects.permissions import is_portfolio_admin

logger = logging.getLogger("tracker.health")

CHECK_LABELS = {
    "database": gettext_lazy("데이터베이스"),
    "cache": gettext_lazy("캐시"),
    "broker": gettext_lazy("메시지 브로커"),
    "scheduler": gettext_lazy("스케줄러 (Celery beat)"),
    "outbox": gettext_lazy("메일 발송"),
    "workers": gettext_lazy("워커 (Celery)"),
}
COUNT_LABELS = {
    "planned": gettext_lazy("새 알림"),
    "queued": gettext_lazy("메일 준비"),
    "sent": gettext_lazy("발송"),
    "retried": gettext_lazy("재시도 예정"),
    "failed": gettext_lazy("실패"),
    "cancelled": gettext_lazy("취소"),
    "recovered": gettext_lazy("재개"),
    "flagged": gettext_lazy("확인 필요"),
    **{f"skipped_{value}": label for value, label in Reminder.SkipReason.choices},
}
RUNS_SHOWN = 30
MESSAGES_SHOWN = 50


class HealthView(HealthCheckView):
    """GET /health/: JSON, 200 when all is well, 503 when anything is not (never cached, no personal data)."""

    async def get(self, request, *args, **kwargs):
        report = health_report(await health_results())
        healthy = report["status"] == "ok"
        response = JsonResponse(report, status=200 if healthy else 503, json_dumps_params={"ensure_ascii": False})
        if not healthy:
            # One line per failing poll, in place of django.request's ERROR line for a 5xx.
            failing = ",".join(name for name, part in report.items() if isinstance(part, dict) and not part["ok"])
            log_response(
                "%s",
                logfmt({"health": "error", "failing": failing}),
                response=response,
                request=request,
                logger=logger,
                level="warning",
            )
        return response


def can_view_system_status(user) -> bool:
    """관리자 and superusers; the page shows every failed e-mail's address."""
    return user.is_authenticated and user.is_staff and is_portfolio_admin(user)


def system_problems(results) -> list[str]:
    """One Korean sentence per unhealthy part."""
    problems = []
    for name, result in results.items():
        if result.error is None:
            continue
        state = getattr(result.check, "state", None)
        if state is not None and state.problems():
            problems.extend(state.problems())
        else:
            values = {"part": CHECK_LABELS[name], "error": result.error.message}
            problems.append(_("%(part)s: 연결할 수 없습니다 (%(error)s)") % values)
    return problems


def _counts_text(counts: dict) -> str:
    return " · ".join(f"{COUNT_LABELS.get(key, key)} {value}" for key, value in counts.items() if value)


def system_status(request: HttpRequest) -> HttpResponse:
    """The admin's 시스템 상태: the same facts as /health/ in Korean, the last runs, and what needs a person."""
    if not can_view_system_status(request.user):
        raise PermissionDenied(_("시스템 상태는 관리자만 볼 수 있습니다."))
    results = health_results_sync()
    workers = workers_ping()
    scheduler = results["scheduler"].check.state
    outbox = results["outbox"].check.state
    runs = list(JobRun.objects.order_by("-started_at")[:RUNS_SHOWN])
    for run in runs:
        run.counts_text = _counts_text(run.counts)
    week_ago = timezone.now() - dt.timedelta(days=7)
    skipped = dict(
        Reminder.objects.filter(status=Reminder.Status.SKIPPED, created_at__gte=week_ago)
        .values_list("skip_reason")
        .annotate(count=Count("pk"))
        .order_by()
    )
    rows = [
        {"name": name, "label": CHECK_LABELS[name], "ok": result.error is None, "error": result.error}
        for name, result in [*results.items(), ("workers", workers)]
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("시스템 상태"),
        "healthy": not any(result.error for result in results.values()),
        "problems": system_problems(results),
        "rows": rows,
        "scheduler": scheduler if isinstance(scheduler, SchedulerState) else None,
        "outbox": outbox if isinstance(outbox, OutboxState) else None,
        "runs": runs,
        "skipped": [(label, skipped.get(value, 0), value) for value, label in Reminder.SkipReason.choices],
        "reminder_changelist": reverse("admin:notifications_reminder_changelist"),
        "attention": OutboxMessage.objects.filter(Q(needs_attention=True) | Q(status=OutboxMessage.Status.FAILED))
        .select_related("recipient")
        .order_by("-updated_at")[:MESSAGES_SHOWN],
        "alerts": DeliveryAlert.objects.all()[:5],
    }
    return render(request, "admin/system_status.html", context)


def workers_ping() -> HealthCheckResult:
    """Whether workers answer (django-health-check's Celery ping: a second's wait for the replies)."""
    return async_to_sync(Ping().get_result)()


def admin_banner(request: HttpRequest) -> dict:
    """Context processor: ``system_problems`` (called only by a template that uses it: the admin index)."""

    def problems() -> list[str]:
        if not can_view_system_status(request.user):
            return []
        return system_problems(health_results_sync())

    return {"system_problems": problems, "may_view_system_status": lambda: can_view_system_status(request.user)}
