"""GET /metrics: the tracker's state in the Prometheus text format (the official prometheus-client), read from the
database at scrape time, so every web process answers the same; served only with ``Authorization: Bearer
$METRICS_TOKEN`` and not at all (404) while METRICS_TOKEN is unset."""

from __future__ import annotations

import hmac
import math

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notifications.health import health_results_sync, outbox_state, scheduler_state
from notifications.models import OutboxMessage, Reminder


class TrackerCollector(Collector):
    """Reminders and e-mails by outcome, the outbox backlog, the scheduler's pulse and each health check."""

    def collect(self):
        now = timezone.now()
        scheduler = scheduler_state(now=now)
        outbox = outbox_state(now=now)

        reminders = GaugeMetricFamily(
            "tracker_reminders", "Reminders by status and skip reason.", labels=["status", "skip_reason"]
        )
        for status, reason, count in (
            Reminder.objects.values_list("status", "skip_reason").annotate(count=Count("pk")).order_by()
        ):
            reminders.add_metric([status, reason], count)
        yield reminders

        emails = GaugeMetricFamily("tracker_emails", "Outbox e-mails by kind and status.", labels=["kind", "status"])
        for kind, status, count in (
            OutboxMessage.objects.values_list("kind", "status").annotate(count=Count("pk")).order_by()
        ):
            emails.add_metric([kind, status], count)
        yield emails

        yield GaugeMetricFamily("tracker_outbox_pending", "E-mails waiting (due or not).", value=outbox.pending)
        yield GaugeMetricFamily("tracker_outbox_backlog", "E-mails due now and not sent yet.", value=outbox.due)
        yield GaugeMetricFamily(
            "tracker_outbox_oldest_due_age_seconds",
            "How long the oldest due e-mail has waited (0: none).",
            value=outbox.oldest_pending_age_seconds or 0,
        )
        yield GaugeMetricFamily(
            "tracker_outbox_needs_attention", "E-mails flagged for a person.", value=outbox.needs_attention
        )
        yield GaugeMetricFamily(
            "tracker_delivery_failing_seconds",
            "How long delivery has been failing (0: it works).",
            value=outbox.failing_seconds or 0,
        )
        since_tick = scheduler.seconds_since_tick
        yield GaugeMetricFamily(
            "tracker_scheduler_seconds_since_last_tick",
            "Seconds since Celery beat last ticked (+Inf: never).",
            value=math.inf if since_tick is None else since_tick,
        )
        last_success = GaugeMetricFamily(
            "tracker_job_last_success_timestamp_seconds",
            "When each job last ran successfully (Unix time).",
            labels=["job"],
        )
        for job, moment in (
            ("reminders", scheduler.last_reminders_at),
            ("digests", scheduler.last_digests_at),
            ("dispatch", scheduler.last_dispatch_at),
        ):
            if moment is not None:
                last_success.add_metric([job], moment.timestamp())
        yield last_success

        health = GaugeMetricFamily(
            "tracker_health_check_up", "Each /health/ check (1 ok, 0 failing).", labels=["check"]
        )
        for name, result in health_results_sync().items():
            health.add_metric([name], 0 if result.error else 1)
        yield health


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _space, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    if not _authorized(request, token):
        return HttpResponseForbidden("metrics: a valid bearer token is required\n", content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TrackerCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
