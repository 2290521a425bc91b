"""Pages reached from e-mails and calendar programs through signed links or secret tokens, and their settings."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.log import log_response
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications import digest, feeds, links
from notifications.emails import absolute_url
from notifications.models import CalendarFeed, NotificationPreference
from notifications.runs import logfmt
from projects import services
from projects.charts import trend_svg
from projects.models import Milestone, Plan, Strategy
from projects.permissions import can_change_project, can_read_portfolio, ensure_can_read_portfolio
from tracker.dates import parse_iso_week, seoul_today
from tracker.dates import week_start as week_start_of
from tracker.pdf import PDF_MIMETYPE, PdfUnavailable, pdf_response_unavailable

logger = logging.getLogger("tracker.links")


class LinkRefused(Exception):
    """A signed link that is expired or not ours: expected, answered with 403 and one log line (no traceback)."""

    def __init__(self, *, purpose: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.purpose, self.reason, self.message = purpose, reason, message


def _payload(purpose: str, token: str, max_age) -> dict:
    try:
        return links.unsign(purpose, token, max_age=max_age)
    except signing.SignatureExpired as error:
        message = _("링크의 유효 기간이 지났습니다. 사업 페이지에서 직접 처리하세요.")
        raise LinkRefused(purpose=purpose, reason="expired", message=message) from error
    except signing.BadSignature as error:
        raise LinkRefused(purpose=purpose, reason="tampered", message=_("올바르지 않은 링크입니다.")) from error


def refuses_bad_links(view):
    """Answer an expired or tampered signed link with the 403 page and one log line without the token."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, token, *args, **kwargs)
        except LinkRefused as refusal:
            response = render(request, "403.html", {"exception": refusal.message}, status=403)
            # log_response marks the response as logged, so django.request does not log it a second time.
            log_response(
                "signed link refused: %s",
                logfmt({"purpose": refusal.purpose, "reason": refusal.reason, "method": request.method}),
                response=response,
                request=request,
                logger=logger,
                level="warning" if refusal.reason == "tampered" else "info",
            )
            return response

    return wrapped


@require_http_methods(["GET", "POST"])
@refuses_bad_links
def milestone_submit(request: HttpRequest, token: str) -> HttpResponse:
    """'제출 완료로 표시' from a reminder: GET asks for confirmation (changes nothing), POST does it."""
    payload = _payload("submit", token, links.ACTION_LINK_MAX_AGE)
    user = get_object_or_404(get_user_model(), pk=payload["u"], is_active=True)
    milestone = get_object_or_404(Milestone.objects.select_related("project"), pk=payload["m"])
    if not can_change_project(user, milestone.project):
        raise PermissionDenied(_("이 사업을 수정할 권한이 없습니다."))
    context = {"milestone": milestone, "project": milestone.project, "person": user}
    if request.method == "POST":
        try:
            version = int(request.POST.get("version", ""))
            services.milestone_set_status(
                milestone_id=milestone.pk,
                user=user,
                expected_version=version,
                status=Milestone.Status.SUBMITTED,
                reason=_("알림 메일에서 제출 완료로 표시"),
            )
        except (ValueError, services.MilestoneConflict):
            context["error"] = _("그사이 마일스톤이 바뀌었습니다. 아래 현재 상태를 확인하고 다시 누르세요.")
            milestone.refresh_from_db()
        except ValidationError as error:
            context["error"] = " ".join(error.messages)
        else:
            milestone.refresh_from_db()
            context["done"] = True
    return render(request, "notifications/milestone_submit.html", context)


def _link_user(payload: dict):
    """The person a preferences or unsubscribe link was made for; a deactivated account's links stop working
    (and show nothing of the account: no name, no address)."""
    user = get_user_model().objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None:
        raise PermissionDenied(_("더 이상 쓸 수 없는 링크입니다."))
    return user


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = ["reminders", "digest", "digest_whole_plan", "digest_my_projects", "language"]
        labels = {"language": gettext_lazy("언어 (화면과 메일)")}


@login_required
@require_http_methods(["GET", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    """내 설정, from the menu: who I am, which e-mails I get, my calendar address, my language."""
    # Saved only when the person saves the form: opening a page writes nothing.
    preference = NotificationPreference.objects.filter(user=request.user).first() or NotificationPreference(
        user=request.user, language=request.LANGUAGE_CODE
    )
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        language = form.cleaned_data["language"]
        with translation.override(language):
            messages.success(request, _("설정을 저장했습니다."))
        response = redirect("notifications:settings")
        # The same choice for the screens as for the e-mails (the language switch sets this cookie too).
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        )
        return response
    calendar_url = ""
    if can_read_portfolio(request.user):
        feed = feeds.calendar_feed_for(user=request.user)
        calendar_url = absolute_url(reverse("notifications:my_calendar", args=[feed.token]))
    return render(
        request,
        "notifications/my_settings.html",
        {"form": form, "profile": getattr(request.user, "profile", None), "calendar_url": calendar_url},
    )


@require_http_methods(["GET", "POST"])
@refuses_bad_links
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    payload = _payload("preferences", token, links.PREFERENCES_LINK_MAX_AGE)
    user = _link_user(payload)
    preference, _created = NotificationPreference.objects.get_or_create(user=user)
    form = PreferenceForm(request.POST or None, instance=preference)
    saved = request.method == "POST" and form.is_valid()
    if saved:
        form.save()
    return render(request, "notifications/preferences.html", {"form": form, "saved": saved, "person": user})


@csrf_exempt  # RFC 8058 one-click unsubscribe: mail clients POST without a CSRF token; the signed URL is the proof.
@require_http_methods(["GET", "POST"])
@refuses_bad_links
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    payload = _payload("unsubscribe", token, links.PREFERENCES_LINK_MAX_AGE)
    user = _link_user(payload)
    kind = payload["k"]
    field = {"reminders": "reminders", "digest": "digest"}.get(kind)
    if field is None:
        raise PermissionDenied(_("올바르지 않은 링크입니다."))
    done = False
    if request.method == "POST":
        NotificationPreference.objects.update_or_create(user=user, defaults={field: False})
        done = True
    return render(
        request,
        "notifications/unsubscribe.html",
        {"done": done, "kind": kind, "person": user, "preferences_path": links.preferences_path(user_id=user.pk)},
    )


def _feed_user(token: str):
    """The feed's owner, while they are active and still hold a role that reads the portfolio."""
    feed = CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()
    if feed is None or not can_read_portfolio(feed.user):
        raise Http404
    return feed.user


def _ics(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def my_calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    user = _feed_user(token)
    return _ics(
        feeds.calendar_build(name=_("내 마일스톤"), milestones=feeds.milestones_for_user(user)), "my-milestones.ics"
    )


def strategy_calendar_feed(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    _feed_user(token)
    strategy = get_object_or_404(Strategy, pk=pk)
    return _ics(
        feeds.calendar_build(name=str(strategy), milestones=feeds.milestones_for_strategy(strategy)),
        f"strategy-{strategy.code}.ics",
    )


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    """Where a person finds (and can revoke) their private calendar addresses."""
    ensure_can_read_portfolio(request.user)
    if request.method == "POST":
        feed = feeds.calendar_feed_rotate(user=request.user)
        messages.success(request, _("새 구독 주소를 발급했습니다. 예전 주소는 더 이상 동작하지 않습니다."))
    else:
        feed = feeds.calendar_feed_for(user=request.user)
    base = settings.SITE_URL
    return render(
        request,
        "notifications/calendar.html",
        {
            "my_url": base + reverse("notifications:my_calendar", args=[feed.token]),
            "strategy_urls": [
                (strategy, base + reverse("notifications:strategy_calendar", args=[feed.token, strategy.pk]))
                for strategy in Strategy.objects.select_related("plan").order_by("plan", "order")
            ],
        },
    )


def _digest_for(request: HttpRequest, week: str | None) -> tuple[digest.Digest, list[str]]:
    """The digest a reader asked for (a week, ?scope=strategy-<id>) and the archive's weeks; 404 for a week to come."""
    ensure_can_read_portfolio(request.user)
    plan = Plan.objects.order_by("-adopted_on", "code").first()
    if plan is None:
        raise Http404
    latest = digest.latest_complete_week(seoul_today())
    try:
        week_start = parse_iso_week(week) if week else latest
    except ValueError as error:
        raise Http404 from error
    if week_start > latest:
        raise Http404
    scope = digest.Scope("plan")
    scope_key = request.GET.get("scope", "")
    if scope_key.startswith("strategy-") and scope_key[9:].isdigit():
        scope = digest.Scope("strategy", strategy_id=get_object_or_404(Strategy, pk=int(scope_key[9:]), plan=plan).pk)
    first = week_start_of(plan.adopted_on) if plan.adopted_on else latest
    weeks, cursor = [], latest
    while cursor >= first and len(weeks) < 104:
        weeks.append(f"{cursor:%G-W%V}")
        cursor -= dt.timedelta(days=7)
    return digest.digest_build(plan=plan, scope=scope, week_start=week_start), weeks


@login_required
def digest_page(request: HttpRequest, week: str | None = None) -> HttpResponse:
    """The weekly digest as a page, rebuilt from the history for any past week, with an archive by ISO week."""
    chosen = request.GET.get("week", "")
    if week is None and re.fullmatch(r"\d{4}-W\d{2}", chosen):  # the archive's drop-down, sent as a form
        return redirect("notifications:digest_week", chosen)
    built, weeks = _digest_for(request, week)
    # matplotlib's own SVG, never user input
    charts = [(trend, mark_safe(trend_svg(trend, compact=index > 0))) for index, trend in enumerate(built.trends)]
    return render(
        request,
        "notifications/digest_page.html",
        {
            "digest": built,
            "archive": weeks,
            "site_url": "",
            "charts": charts,
            "show_full": request.GET.get("full") == "1",
            "pdf_url": reverse("notifications:digest_pdf", args=[built.week_label])
            + (f"?scope={built.scope.key}" if built.scope.kind != "plan" else ""),
        },
    )


@login_required
def digest_pdf_download(request: HttpRequest, week: str) -> HttpResponse:
    """The same digest as an A4 PDF (same access rules as the page)."""
    built, _weeks = _digest_for(request, week)
    built.written_on = seoul_today()
    try:
        body = digest.digest_pdf(built, language=translation.get_language() or "ko")
    except PdfUnavailable:
        return pdf_response_unavailable()
    response = HttpResponse(body, content_type=PDF_MIMETYPE)
    response["Content-Disposition"] = f'inline; filename="{digest.digest_pdf_name(built)}"'
    return response
