"""Reminders and the outbox. Unique keys in the database, not luck, are what stop a duplicate."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from projects.models import Milestone


def default_thresholds() -> list[int]:
    return [30, 14, 7, 3, 1, 0]


class SingletonPolicy(models.Model):
    """A policy admins edit: exactly one row (pk=1), created with its defaults the first time it is read."""

    class Meta:
        abstract = True

    @classmethod
    def current(cls):
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class ReminderPolicy(SingletonPolicy):
    """When reminders go out. One row (pk=1), edited by admins."""

    thresholds = models.JSONField(
        _("알림 시점 (기한 며칠 전)"),
        default=default_thresholds,
        help_text=_("기한 며칠 전에 알릴지, 예: [30, 14, 7, 3, 1, 0]. 0은 기한 당일(D-day)입니다."),
    )
    overdue_every_days = models.PositiveSmallIntegerField(
        _("기한 경과 후 알림 간격(일)"), default=7, help_text=_("0이면 기한이 지난 뒤에는 알리지 않습니다.")
    )
    send_hour = models.PositiveSmallIntegerField(_("발송 시각 (시, 한국 시간)"), default=9)
    shift_to_working_day = models.BooleanField(
        _("주말·공휴일이면 앞 근무일로"),
        default=True,
        help_text=_("알림 날이 토·일요일이나 공휴일이면 바로 앞 근무일에 보냅니다."),
    )
    escalate_after_days = models.PositiveSmallIntegerField(
        _("상급 보고 기준 (기한 경과 일수)"),
        default=14,
        help_text=_("기한이 이 일수 이상 지나면 전략 책임자와 TF 단장에게도 알립니다. 0이면 보고하지 않습니다."),
    )
    updated_at = models.DateTimeField(_("수정 시각"), auto_now=True)

    class Meta:
        verbose_name = _("알림 정책")
        verbose_name_plural = _("알림 정책")
        constraints = [
            models.CheckConstraint(condition=Q(send_hour__lte=23), name="reminder_send_hour_valid"),
        ]

    def __str__(self) -> str:
        return str(_("알림 정책"))

    def clean(self) -> None:
        values = self.thresholds
        if not isinstance(values, list) or not values or not all(isinstance(v, int) and 0 <= v <= 365 for v in values):
            raise ValidationError(
                {"thresholds": _("0에서 365 사이의 정수 목록이어야 합니다. 예: [30, 14, 7, 3, 1, 0]")}
            )
        self.thresholds = sorted(set(values), reverse=True)


class DigestPolicy(SingletonPolicy):
    """When the weekly roll-up goes out. One row (pk=1), edited by admins."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("월요일")
        TUESDAY = 1, _("화요일")
        WEDNESDAY = 2, _("수요일")
        THURSDAY = 3, _("목요일")
        FRIDAY = 4, _("금요일")

    weekday = models.PositiveSmallIntegerField(_("발송 요일"), choices=Weekday.choices, default=Weekday.MONDAY)
    hour = models.PositiveSmallIntegerField(_("발송 시각 (시, 한국 시간)"), default=8)
    enabled = models.BooleanField(_("주간 요약 발송"), default=True)
    updated_at = models.DateTimeField(_("수정 시각"), auto_now=True)

    class Meta:
        verbose_name = _("주간 요약 정책")
        verbose_name_plural = _("주간 요약 정책")
        constraints = [models.CheckConstraint(condition=Q(hour__lte=23), name="digest_hour_valid")]

    def __str__(self) -> str:
        return str(_("주간 요약 정책"))


class NotificationPreference(models.Model):
    """Which e-mails a person gets, and in which language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("사용자"),
    )
    reminders = models.BooleanField(_("기한 알림 받기"), default=True)
    digest = models.BooleanField(
        _("주간 요약 받기"),
        default=True,
        help_text=_("끄면 어떤 주간 요약도 받지 않습니다 (TF 단장·전략 책임자 포함)."),
    )
    digest_whole_plan = models.BooleanField(
        _("전체 계획 주간 요약 구독"),
        default=False,
        help_text=_("TF 단장이 아니어도 전체 계획의 주간 요약을 받습니다."),
    )
    digest_my_projects = models.BooleanField(
        _("내 사업 주간 요약 구독"), default=False, help_text=_("담당하는 사업만 모은 주간 요약을 받습니다.")
    )
    language = models.CharField(_("언어"), max_length=5, choices=settings.LANGUAGES, default="ko")
    updated_at = models.DateTimeField(_("수정 시각"), auto_now=True)

    class Meta:
        verbose_name = _("알림 설정")
        verbose_name_plural = _("알림 설정")

    def __str__(self) -> str:
        return str(self.user)

    def accepts(self, kind: str) -> bool:
        """Whether this person still wants e-mails of an outbox kind (checked again just before sending)."""
        return self.reminders if kind == OutboxMessage.Kind.REMINDER else self.digest


class OutboxMessage(models.Model):
    """An e-mail: written here first, sent second, marked sent third (only by the holder of the claim)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("대기")
        SENDING = "sending", _("발송 중")
        SENT = "sent", _("발송 완료")
        FAILED = "failed", _("실패")
        CANCELLED = "cancelled", _("취소")
        SKIPPED = "skipped", _("건너뜀")

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("기한 알림")
        DIGEST = "digest", _("주간 요약")

    key = models.CharField(_("고유 키"), max_length=200, unique=True)
    kind = models.CharField(_("종류"), max_length=20, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outbox_messages", verbose_name=_("받는 사람")
    )
    to_email = models.EmailField(_("받는 주소"))
    subject = models.CharField(_("제목"), max_length=300, blank=True)
    body_text = models.TextField(_("본문 (텍스트)"), blank=True)
    body_html = models.TextField(_("본문 (HTML)"), blank=True)
    headers = models.JSONField(_("추가 헤더"), default=dict, blank=True)
    attachment = models.BinaryField(_("첨부 파일"), null=True, blank=True)
    attachment_name = models.CharField(_("첨부 파일 이름"), max_length=200, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, unique=True)
    status = models.CharField(_("상태"), max_length=20, choices=Status.choices, default=Status.PENDING)
    not_before = models.DateTimeField(_("발송 예정 시각"))
    send_by = models.DateTimeField(
        _("발송 기한"),
        null=True,
        blank=True,
        help_text=_("이 시각까지 보내지 못한 기한 알림 메일은 실패하지 않고, 알림을 다음 근무일 메일로 넘깁니다."),
    )
    attempts = models.PositiveSmallIntegerField(_("시도 횟수"), default=0)
    last_error = models.TextField(_("마지막 오류"), blank=True)
    claim_token = models.UUIDField(_("점유 토큰"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("점유 만료 시각"), null=True, blank=True)
    smtp_started_at = models.DateTimeField(_("SMTP 전송 시작 시각"), null=True, blank=True)
    needs_attention = models.BooleanField(
        _("확인 필요"), default=False, help_text=_("전송 중에 멈춰 이미 발송되었을 수 있습니다. 확인 후 재발송하세요.")
    )
    sent_at = models.DateTimeField(_("발송 시각"), null=True, blank=True)
    created_at = models.DateTimeField(_("생성 시각"), auto_now_add=True)
    updated_at = models.DateTimeField(_("수정 시각"), auto_now=True)

    class Meta:
        verbose_name = _("발송함 메시지")
        verbose_name_plural = _("발송함")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["not_before"], condition=Q(status="pending"), name="outbox_pending_due_idx"),
            models.Index(fields=["lease_expires_at"], condition=Q(status="sending"), name="outbox_sending_lease_idx"),
            models.Index(fields=["status", "created_at"], name="outbox_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_status_display()})"


class Reminder(models.Model):
    """One threshold of one milestone for one person; the unique key makes a second one impossible."""

    class Status(models.TextChoices):
        PENDING = "pending", _("대기")
        SENT = "sent", _("발송 완료")
        CANCELLED = "cancelled", _("취소")
        SKIPPED = "skipped", _("보내지 않음")

    class SkipReason(models.TextChoices):
        """Why a person owed a reminder did not get it (the answer to "why didn't I get it?")."""

        NO_EMAIL = "no_email", _("전자우편 주소 없음")
        INACTIVE = "inactive", _("비활성 사용자")
        OPTED_OUT = "opted_out", _("알림 받지 않기 설정")
        LOST_ACCESS = "lost_access", _("열람 권한 없음")

    # No index of their own: the unique key leads with the recipient, and the (milestone, status) index with the
    # milestone. Two fewer indexes to write for each of the ~30,000 rows a first pass at ×100 records.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reminders",
        verbose_name=_("받는 사람"),
        db_index=False,
    )
    milestone = models.ForeignKey(
        Milestone, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("마일스톤"), db_index=False
    )
    threshold = models.SmallIntegerField(
        _("알림 시점"), help_text=_("기한까지 남은 일수. 음수는 기한이 지난 일수입니다.")
    )
    due_date = models.DateField(_("당시 기한"))
    send_on = models.DateField(_("알림 날짜"))
    is_escalation = models.BooleanField(_("상급 보고"), default=False)
    status = models.CharField(_("상태"), max_length=20, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(_("보내지 않은 이유"), max_length=20, choices=SkipReason.choices, blank=True)
    message = models.ForeignKey(
        OutboxMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("메시지"),
    )
    created_at = models.DateTimeField(_("생성 시각"), auto_now_add=True)

    class Meta:
        verbose_name = _("기한 알림")
        verbose_name_plural = _("기한 알림")
        ordering = ["-send_on", "recipient"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "milestone", "threshold", "due_date"], name="one_reminder_per_threshold"
            ),
        ]
        indexes = [
            models.Index(fields=["milestone", "status"], name="reminder_milestone_status_idx"),
            models.Index(fields=["status", "message"], name="reminder_status_message_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.milestone} D{-self.threshold:+d} → {self.recipient}"

    @staticmethod
    def still_applies_q() -> Q:
        """A pending reminder still applies while its milestone is open and due on the date it was planned for."""
        return Milestone.open_q("milestone__") & Q(due_date=F("milestone__due_date"))


class CalendarFeed(models.Model):
    """A person's private calendar address; issuing a new token revokes the old address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed", verbose_name=_("사용자")
    )
    token = models.CharField(_("비밀 토큰"), max_length=64, unique=True)
    issued_at = models.DateTimeField(_("발급 시각"), auto_now=True)

    class Meta:
        verbose_name = _("캘린더 구독 주소")
        verbose_name_plural = _("캘린더 구독 주소")

    def __str__(self) -> str:
        return str(self.user)


class OutboxAttachment(models.Model):
    """A further file sent with an outbox message (the digest's A4 PDF report), stored with it: the row is exactly
    what went out, and a deliberate resend sends the same file."""

    message = models.ForeignKey(
        OutboxMessage, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("메시지")
    )
    filename = models.CharField(_("파일 이름"), max_length=200)
    mimetype = models.CharField(_("형식"), max_length=100)
    content = models.BinaryField(_("내용"))

    class Meta:
        verbose_name = _("첨부 파일")
        verbose_name_plural = _("첨부 파일")
        ordering = ["message", "id"]

    def __str__(self) -> str:
        return self.filename


class JobRun(models.Model):
    """One run of a planner or of the dispatcher: when it started and ended, how it ended, and its counts."""

    class Job(models.TextChoices):
        REMINDERS = "reminders", _("기한 알림 계획")
        DIGESTS = "digests", _("주간 요약 계획")
        DISPATCH = "dispatch", _("메일 발송")

    class Outcome(models.TextChoices):
        RUNNING = "running", _("실행 중")
        OK = "ok", _("성공")
        ERROR = "error", _("오류")

    job = models.CharField(_("작업"), max_length=20, choices=Job.choices)
    trigger = models.CharField(_("실행 경로"), max_length=20, default="task", help_text=_("task 또는 command"))
    started_at = models.DateTimeField(_("시작 시각"))
    finished_at = models.DateTimeField(_("마친 시각"), null=True, blank=True)
    outcome = models.CharField(_("결과"), max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    counts = models.JSONField(_("건수"), default=dict, blank=True)
    error = models.CharField(_("오류"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("작업 실행 기록")
        verbose_name_plural = _("작업 실행 기록")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["job", "-started_at"], name="jobrun_job_started_idx"),
            models.Index(fields=["started_at"], name="jobrun_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_job_display()} {self.started_at:%Y-%m-%d %H:%M:%S} ({self.get_outcome_display()})"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class SchedulerHeartbeat(models.Model):
    """Celery beat's pulse. One row (pk=1), written by beat itself as it ticks (notifications/beat.py)."""

    last_tick_at = models.DateTimeField(_("마지막 틱"))
    ticks = models.PositiveBigIntegerField(_("틱 수"), default=0)
    beat_started_at = models.DateTimeField(_("beat 시작 시각"), null=True, blank=True)

    class Meta:
        verbose_name = _("스케줄러 심장박동")
        verbose_name_plural = _("스케줄러 심장박동")

    def __str__(self) -> str:
        return f"{self.last_tick_at:%Y-%m-%d %H:%M:%S}"


class DeliveryAlert(models.Model):
    """The one e-mail to the admins for one stretch of failing delivery; the unique start makes a second one
    impossible. ``sent_at`` stays empty until the e-mail actually went out (the relay may be the trouble)."""

    failing_since = models.DateTimeField(_("실패 시작 시각"), unique=True)
    created_at = models.DateTimeField(_("감지 시각"), auto_now_add=True)
    sent_at = models.DateTimeField(_("알림 발송 시각"), null=True, blank=True)
    last_error = models.CharField(_("마지막 오류"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("발송 장애 알림")
        verbose_name_plural = _("발송 장애 알림")
        ordering = ["-failing_since"]

    def __str__(self) -> str:
        return f"{self.failing_since:%Y-%m-%d %H:%M}"
