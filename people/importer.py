"""People from a spreadsheet: the admins load the TF's contact list (아이디, 이메일, 성명, 직위, 부서, 역할) before the
portfolio, whose 담당자 이메일 must name existing users. All or nothing, like the portfolio import; every refused
row is listed with the spreadsheet's own row number."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from people.models import Profile
from projects import roles
from projects.spreadsheets.cells import cell_text_or_none, header_key
from projects.spreadsheets.files import PortfolioFileError, read_sheets

COLUMNS = {
    "아이디": "username",
    "이메일": "email",
    "성명": "name",
    "직위": "position",
    "부서": "department",
    "역할": "role",
}
REQUIRED = ("username", "name", "position", "department")


@dataclass
class PeopleImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def refused(self) -> bool:
        return bool(self.problems)


class _Refused(Exception):
    pass


def people_import(*, content: bytes, dry_run: bool = False) -> PeopleImportReport:
    """Create or update users and their profiles (성명, 직위, 부서) and role; a new user signs in after a password
    reset by e-mail (no password is set here)."""
    report = PeopleImportReport(dry_run=dry_run)
    try:
        [sheet, *_rest] = read_sheets(content)
    except PortfolioFileError as error:
        report.problems.append(str(error))
        return report
    keys = {header_key(cell_text_or_none(h)): h for h in sheet.headers or []}
    columns = {COLUMNS[key]: header for key, header in keys.items() if key in COLUMNS}
    unknown = [str(header) for key, header in keys.items() if key and key not in COLUMNS]
    missing = [label for label, name in COLUMNS.items() if name in REQUIRED and name not in columns]
    if unknown or missing:
        if unknown:
            report.problems.append(_("알 수 없는 열: %(columns)s") % {"columns": ", ".join(unknown)})
        if missing:
            report.problems.append(_("꼭 있어야 하는 열이 없습니다: %(columns)s") % {"columns": ", ".join(missing)})
        return report
    try:
        with transaction.atomic():
            for number, row in zip(sheet.row_numbers, sheet.dict, strict=True):
                values = {name: (cell_text_or_none(row[header]) or "").strip() for name, header in columns.items()}
                if not any(values.values()):
                    continue
                try:
                    _person_save(values, report)
                except ValidationError as error:
                    report.problems.append(
                        _("%(row)d행: %(errors)s") % {"row": number, "errors": " ".join(error.messages)}
                    )
            if report.problems or dry_run:
                raise _Refused
    except _Refused:
        pass
    return report


def _person_save(values: dict[str, str], report: PeopleImportReport) -> None:
    User = get_user_model()
    empty = [label for label, name in COLUMNS.items() if name in REQUIRED and not values.get(name)]
    if empty:
        raise ValidationError(_("비어 있는 칸: %(columns)s") % {"columns": ", ".join(empty)})
    if values.get("email"):
        validate_email(values["email"])
    role = values.get("role", "")
    if role and role not in roles.ALL_ROLES:
        raise ValidationError(
            _("역할은 %(roles)s 중 하나여야 합니다: %(role)s") % {"roles": ", ".join(roles.ALL_ROLES), "role": role}
        )
    user = User.objects.filter(username=values["username"]).first()
    created = user is None
    email_changed = False
    if created:
        user = User(username=values["username"], email=values.get("email", ""))
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
    elif "email" in values and user.email != values["email"]:
        user.email = values["email"]
        user.save(update_fields=["email"])
        email_changed = True
    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    before = (profile.pk, profile.name, profile.position, profile.department)
    profile.name, profile.position, profile.department = values["name"], values["position"], values["department"]
    profile.full_clean()
    profile_changed = before != (profile.pk, profile.name, profile.position, profile.department)
    if profile_changed:
        profile.save()
    role_changed = False
    if role:
        current = set(user.groups.filter(name__in=roles.ALL_ROLES).values_list("name", flat=True))
        if current != {role}:
            user.groups.remove(*Group.objects.filter(name__in=roles.ALL_ROLES))
            user.groups.add(Group.objects.get(name=role))
            role_changed = True
    if created:
        report.created += 1
    elif email_changed or profile_changed or role_changed:
        report.updated += 1
    else:
        report.unchanged += 1
