from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from projects import roles


class Command(BaseCommand):
    help = "관리자 계정이 없으면 만들고 비밀번호를 한 번만 보여 줍니다. / Create the admin account once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.com")

    def handle(self, *args, username: str, email: str, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"관리자 계정 '{username}'이(가) 이미 있습니다.")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email=email, password=password)
        user.groups.add(Group.objects.get(name=roles.ADMIN))
        self.stdout.write(f"관리자 계정을 만들었습니다 (비밀번호는 지금 한 번만 표시됩니다): {username} / {password}")
