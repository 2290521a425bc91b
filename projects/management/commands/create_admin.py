from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from people.services import profile_save
from projects import roles


class Command(BaseCommand):
    help = "관리자 계정이 없으면 만들고 비밀번호를 한 번만 보여 줍니다. / Create the admin account once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--name", default="시스템 관리자", help="성명 (화면·메일에 보이는 이름)")
        parser.add_argument("--position", default="주무관", help="직위")
        parser.add_argument("--department", default="관리자 부서 미지정", help="부서")

    def handle(self, *args, username: str, email: str, name: str, position: str, department: str, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"관리자 계정 '{username}'이(가) 이미 있습니다.")
            return
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user = User.objects.create_superuser(username=username, email=email, password=password)
            user.groups.add(Group.objects.get(name=roles.ADMIN))
            profile_save(user=user, name=name, position=position, department=department)
        self.stdout.write(f"관리자 계정을 만들었습니다 (비밀번호는 지금 한 번만 표시됩니다): {username} / {password}")
