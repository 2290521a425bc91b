"""Pages reached from e-mails through signed links: no login needed, one purpose and one person per link."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications import links
from notifications.models import NotificationPreference
from projects import services
from projects.models import Milestone
from projects.permissions import can_change_project


def _payload(purpose: str, token: str, max_age) -> dict:
    try:
        return links.unsign(purpose, token, max_age=max_age)
    except signing.SignatureExpired as error:
        raise PermissionDenied(_("링크의 유효 기간이 지났습니다. 사업 페이지에서 직접 처리하세요.")) from error
    except signing.BadSignature as error:
        raise PermissionDenied(_("올바르지 않은 링크입니다.")) from error


@require_http_methods(["GET", "POST"])
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


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = ["reminders", "digest", "language"]


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    payload = _payload("preferences", token, links.PREFERENCES_LINK_MAX_AGE)
    user = get_object_or_404(get_user_model(), pk=payload["u"])
    preference, _created = NotificationPreference.objects.get_or_create(user=user)
    form = PreferenceForm(request.POST or None, instance=preference)
    saved = request.method == "POST" and form.is_valid()
    if saved:
        form.save()
    return render(request, "notifications/preferences.html", {"form": form, "saved": saved, "person": user})


@csrf_exempt  # RFC 8058 one-click unsubscribe: mail clients POST without a CSRF token; the signed URL is the proof.
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    payload = _payload("unsubscribe", token, links.PREFERENCES_LINK_MAX_AGE)
    user = get_object_or_404(get_user_model(), pk=payload["u"])
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
