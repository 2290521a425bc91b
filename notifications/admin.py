from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from notifications.feeds import calendar_feed_rotate
from notifications.models import (
    CalendarFeed,
    DeliveryAlert,
    DigestPolicy,
    JobRun,
    NotificationPreference,
    OutboxMessage,
    Reminder,
    ReminderPolicy,
)
from notifications.outbox import outbox_resend
from notifications.reminder_emails import reminder_email_preview


class SingletonPolicyAdmin(admin.ModelAdmin):
    """One row: it can be edited, never added twice or deleted."""

    def has_add_permission(self, request) -> bool:
        return not self.model.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(SingletonPolicyAdmin):
    list_display = [
        "__str__",
        "thresholds",
        "overdue_every_days",
        "send_hour",
        "shift_to_working_day",
        "escalate_after_days",
    ]


@admin.register(DigestPolicy)
class DigestPolicyAdmin(SingletonPolicyAdmin):
    list_display = ["__str__", "weekday", "hour", "enabled"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "reminders", "digest", "digest_whole_plan", "digest_my_projects", "language", "updated_at"]
    list_filter = ["reminders", "digest", "digest_whole_plan", "digest_my_projects", "language"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = [
        "milestone",
        "recipient",
        "threshold",
        "due_date",
        "send_on",
        "is_escalation",
        "status",
        "skip_reason",
        "message",
    ]
    list_filter = ["status", "skip_reason", "is_escalation", "send_on"]
    search_fields = ["milestone__title", "milestone__project__code", "recipient__username", "recipient__email"]
    list_select_related = ["milestone", "recipient", "message"]
    raw_id_fields = ["milestone", "recipient", "message"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "to_email", "status", "needs_attention", "attempts", "not_before", "sent_at"]
    list_filter = ["status", "needs_attention", "kind"]
    search_fields = ["key", "to_email", "subject", "message_id"]
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient"]
    show_full_result_count = False
    actions = ["resend"]
    exclude = ["body_html"]  # shown rendered (body_html_shown), never as an editable field
    readonly_fields = [
        "key",
        "kind",
        "recipient",
        "to_email",
        "subject",
        "body_text",
        "body_html_shown",
        "preview",
        "headers",
        "message_id",
        "status",
        "not_before",
        "send_by",
        "attempts",
        "last_error",
        "claim_token",
        "lease_expires_at",
        "smtp_started_at",
        "needs_attention",
        "sent_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("HTML 본문"))
    def body_html_shown(self, message: OutboxMessage) -> str:
        """The HTML part as the recipient sees it (in a sandboxed frame: no scripts, no forms), source on request."""
        if not message.body_html:
            return "-"
        return format_html(
            '<iframe class="email-preview" sandbox="" srcdoc="{}" title="{}" width="720" height="480"></iframe>'
            "<details><summary>{}</summary><pre>{}</pre></details>",
            message.body_html,
            _("보낸 HTML 메일 미리보기"),
            _("HTML 소스 보기"),
            message.body_html,
        )

    @admin.display(description=_("미리보기 (지금 보낸다면)"))
    def preview(self, message: OutboxMessage) -> str:
        """A reminder e-mail is written when it is sent; until then the admin shows what it would say now."""
        if message.kind != OutboxMessage.Kind.REMINDER or message.status != OutboxMessage.Status.PENDING:
            return "-"
        written = reminder_email_preview(message.pk)
        if written is None:
            return _("알릴 항목이 남지 않아 보내지 않습니다.")
        return format_html("<strong>{}</strong><pre>{}</pre>", written.subject, written.body_text)

    @admin.action(description=_("선택한 실패·취소 메시지를 다시 보내기"))
    def resend(self, request, queryset):
        count = outbox_resend(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(count)d건을 다시 보내도록 예약했습니다.") % {"count": count}, messages.SUCCESS)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["user", "issued_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    fields = ["user", "issued_at"]
    readonly_fields = ["user", "issued_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("선택한 사용자의 구독 주소 새로 발급 (예전 주소 폐기)"))
    def revoke(self, request, queryset):
        for feed in queryset.select_related("user"):
            calendar_feed_rotate(user=feed.user)
        self.message_user(request, _("구독 주소를 새로 발급했습니다."), messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system itself: looked at, never edited."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["job", "trigger", "started_at", "finished_at", "outcome", "counts", "error"]
    list_filter = ["job", "outcome", "trigger"]
    date_hierarchy = "started_at"
    show_full_result_count = False


@admin.register(DeliveryAlert)
class DeliveryAlertAdmin(ReadOnlyAdmin):
    list_display = ["failing_since", "created_at", "sent_at", "last_error"]
