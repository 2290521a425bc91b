"""Run records, beat's heartbeat, the delivery alert and the reason on a skipped reminder; 관리자 may look at the
run records and the alerts (the 시스템 상태 page itself asks for the role)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ADMIN_PERMISSIONS = ["view_jobrun", "view_deliveryalert"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin_group, _ = Group.objects.get_or_create(name="관리자")
    admin_group.permissions.add(
        *Permission.objects.filter(content_type__app_label="notifications", codename__in=ADMIN_PERMISSIONS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="관리자"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="notifications", codename__in=ADMIN_PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_outbox_attachment"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeliveryAlert",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("failing_since", models.DateTimeField(unique=True, verbose_name="실패 시작 시각")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="감지 시각")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="알림 발송 시각")),
                ("last_error", models.CharField(blank=True, max_length=500, verbose_name="마지막 오류")),
            ],
            options={
                "verbose_name": "발송 장애 알림",
                "verbose_name_plural": "발송 장애 알림",
                "ordering": ["-failing_since"],
            },
        ),
        migrations.CreateModel(
            name="SchedulerHeartbeat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_tick_at", models.DateTimeField(verbose_name="마지막 틱")),
                ("ticks", models.PositiveBigIntegerField(default=0, verbose_name="틱 수")),
                ("beat_started_at", models.DateTimeField(blank=True, null=True, verbose_name="beat 시작 시각")),
            ],
            options={
                "verbose_name": "스케줄러 심장박동",
                "verbose_name_plural": "스케줄러 심장박동",
            },
        ),
        migrations.AddField(
            model_name="reminder",
            name="skip_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("no_email", "전자우편 주소 없음"),
                    ("inactive", "비활성 사용자"),
                    ("opted_out", "알림 받지 않기 설정"),
                    ("lost_access", "열람 권한 없음"),
                ],
                max_length=20,
                verbose_name="보내지 않은 이유",
            ),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="status",
            field=models.CharField(
                choices=[("pending", "대기"), ("sent", "발송 완료"), ("cancelled", "취소"), ("skipped", "보내지 않음")],
                default="pending",
                max_length=20,
                verbose_name="상태",
            ),
        ),
        migrations.CreateModel(
            name="JobRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "job",
                    models.CharField(
                        choices=[
                            ("reminders", "기한 알림 계획"),
                            ("digests", "주간 요약 계획"),
                            ("dispatch", "메일 발송"),
                        ],
                        max_length=20,
                        verbose_name="작업",
                    ),
                ),
                (
                    "trigger",
                    models.CharField(
                        default="task", help_text="task 또는 command", max_length=20, verbose_name="실행 경로"
                    ),
                ),
                ("started_at", models.DateTimeField(verbose_name="시작 시각")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="마친 시각")),
                (
                    "outcome",
                    models.CharField(
                        choices=[("running", "실행 중"), ("ok", "성공"), ("error", "오류")],
                        default="running",
                        max_length=20,
                        verbose_name="결과",
                    ),
                ),
                ("counts", models.JSONField(blank=True, default=dict, verbose_name="건수")),
                ("error", models.CharField(blank=True, max_length=500, verbose_name="오류")),
            ],
            options={
                "verbose_name": "작업 실행 기록",
                "verbose_name_plural": "작업 실행 기록",
                "ordering": ["-started_at"],
                "indexes": [
                    models.Index(fields=["job", "-started_at"], name="jobrun_job_started_idx"),
                    models.Index(fields=["started_at"], name="jobrun_started_idx"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
