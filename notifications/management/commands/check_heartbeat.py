from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.health import TICK_STALE
from notifications.models import SchedulerHeartbeat


class Command(BaseCommand):
    help = (
        "Celery beat의 마지막 틱이 오래되었으면 0이 아닌 코드로 끝납니다 (컨테이너 healthcheck용). "
        "/ Exit non-zero when beat's last tick is too old."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age", type=int, default=int(TICK_STALE.total_seconds()), help="허용하는 마지막 틱의 나이(초)"
        )

    def handle(self, *args, max_age: int, **options):
        heartbeat = SchedulerHeartbeat.objects.filter(pk=1).first()
        if heartbeat is None:
            raise CommandError("beat가 한 번도 틱을 기록하지 않았습니다. / beat has never ticked.")
        age = timezone.now() - heartbeat.last_tick_at
        if age > dt.timedelta(seconds=max_age):
            raise CommandError(
                f"beat의 마지막 틱이 {int(age.total_seconds())}초 전입니다 (허용 {max_age}초). "
                f"/ beat last ticked {int(age.total_seconds())} s ago."
            )
        self.stdout.write(f"beat ok: {int(age.total_seconds())}초 전 틱 / last tick {int(age.total_seconds())} s ago")
