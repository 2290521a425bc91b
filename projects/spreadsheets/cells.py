"""What people type into portfolio spreadsheet cells, read the way they mean it.

Each widget turns one cell into a model value (or a Korean reason why it cannot) and back: 억원 amounts with
units and commas, dates in the ways Korean offices write them, 사업기간 "2026-2030", choices by label,
strategies and tasks by code or name, people by user name or e-mail. Lookups go through the resource
(``self.resource``), which loads each table once per import.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Manager, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from import_export import widgets

from projects.models import CoreProject, Department, Organization, Strategy, Task
from projects.money import MAX_EOK, WON_PER_EOK

if TYPE_CHECKING:
    from projects.spreadsheets.columns import PortfolioResource

# Headers ---------------------------------------------------------------------------------------------------

_INVISIBLE = re.compile(r"[\s\ufeff\u200b]+")
# A unit or a hint in brackets after a column name is optional: "국비(억원)" is "국비", "구분(신규/고도화/확대)" is
# "구분". Any other bracket (say "국비(백만원)") is a different column, and is refused rather than misread.
_OPTIONAL_SUFFIX = re.compile(r"\((?:억원|억|단위:억원|신규/고도화/확대)\)$")


def header_key(header: Any) -> str:
    """A header as compared: without spaces, a byte-order mark or letter case."""
    return _INVISIBLE.sub("", "" if header is None else str(header)).casefold()


def header_base(key: str) -> str:
    return _OPTIONAL_SUFFIX.sub("", key)


# Cell values -----------------------------------------------------------------------------------------------


class MissingFormulaValue:
    """An XLSX formula cell that was saved without its computed value (a file written by a program)."""

    def __init__(self, coordinate: str):
        self.coordinate = coordinate

    def __str__(self) -> str:
        return f"={self.coordinate}"


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SHOWN_LENGTH = 40


def shown(value: Any) -> str:
    """A cell's value quoted in a message, cut short."""
    text = str(value)
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH] + "…"


def cell_text(value: Any) -> str:
    """A cell read as text: a number without a spurious '.0'; never a date, a truth value or a control character."""
    if value is None:
        return ""
    if isinstance(value, MissingFormulaValue):
        raise ValueError(_("수식의 계산된 값이 파일에 없습니다. Excel에서 열어 저장하거나, 값으로 붙여 넣어 주세요."))
    if isinstance(value, bool):
        raise ValueError(_("참/거짓(TRUE/FALSE) 값이 아니라 글자를 적어 주세요."))
    if isinstance(value, str):
        text = value
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(_("읽을 수 없는 숫자입니다."))
        text = str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(_("읽을 수 없는 숫자입니다."))
        text = format(value.normalize(), "f")
    elif isinstance(value, dt.date | dt.time | dt.timedelta):
        raise ValueError(_("날짜나 시각이 아니라 글자를 적어 주세요."))
    else:
        raise ValueError(_("읽을 수 없는 값입니다."))
    if _CONTROL_CHARS.search(text):
        raise ValueError(_("보이지 않는 제어 문자가 들어 있습니다. 글자만 남기고 지워 주세요."))
    return text.strip()


def split_list(text: str) -> list[str]:
    """A list cell: one item per line, or items separated by commas."""
    parts = text.splitlines() if "\n" in text or "\r" in text else text.split(",")
    items: list[str] = []
    for part in (part.strip() for part in parts):
        if part and part not in items:
            items.append(part)
    return items


def join_list(items: list[str]) -> str:
    """The inverse of ``split_list``: commas, or one item per line when an item holds a comma itself."""
    return "\n".join(items) if any("," in item for item in items) else ", ".join(items)


class PortfolioWidget(widgets.Widget):
    """A widget that knows its resource (the plan, caches of related rows)."""

    resource: PortfolioResource | None = None

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class TextWidget(PortfolioWidget):
    def __init__(self, *, required: bool = False):
        super().__init__()
        self.required = required

    def clean(self, value, row=None, **kwargs) -> str:
        text = cell_text(value)
        if self.required and not text:
            raise ValueError(_("비어 있을 수 없습니다."))
        return text


def _choice_key(text: str) -> str:
    return _INVISIBLE.sub("", text).casefold()


class ChoiceWidget(PortfolioWidget):
    """A choice written as its Korean label ("고도화"); the stored value ("upgraded") is accepted too."""

    def __init__(self, choices: type[models.TextChoices]):
        super().__init__()
        self.choices = choices
        self._lookups: dict[str, dict[str, str]] = {}

    def _lookup(self) -> dict[str, str]:
        language = translation.get_language() or ""
        if language not in self._lookups:
            self._lookups[language] = self._build_lookup()
        return self._lookups[language]

    def _build_lookup(self) -> dict[str, str]:
        lookup = {}
        for value, label in self.choices.choices:
            lookup[_choice_key(value)] = value
            lookup[_choice_key(str(label))] = value
            with translation.override("ko"):
                lookup[_choice_key(str(label))] = value
        return lookup

    def clean(self, value, row=None, **kwargs) -> str | None:
        text = cell_text(value)
        if not text:
            return None
        choice = self._lookup().get(_choice_key(text))
        if choice is None:
            with translation.override("ko"):
                labels = ", ".join(str(label) for label in self.choices.labels)
            raise ValueError(
                _("'%(value)s'은(는) 쓸 수 없습니다. 다음 중 하나를 적어 주세요: %(choices)s")
                % {"value": shown(text), "choices": labels}
            )
        return choice

    def render(self, value, obj=None, **kwargs) -> str:
        if not value:
            return ""
        if not hasattr(self, "_korean_labels"):  # once per widget, not once per cell
            with translation.override("ko"):
                self._korean_labels = {choice: str(label) for choice, label in self.choices.choices}
        return self._korean_labels.get(value) or str(self.choices(value).label)


class YesNoWidget(PortfolioWidget):
    YES = {"예", "네", "y", "yes", "o", "○", "●", "v", "✓", "true", "1", "대표"}
    NO = {"", "아니오", "아니요", "n", "no", "x", "-", "false", "0"}

    def clean(self, value, row=None, **kwargs) -> bool:
        if isinstance(value, bool):
            return value
        key = _choice_key(cell_text(value))
        if key in self.YES:
            return True
        if key in self.NO:
            return False
        raise ValueError(_("'%(value)s': '예' 또는 '아니오'로 적어 주세요.") % {"value": shown(value)})

    def render(self, value, obj=None, **kwargs) -> str:
        return _("예") if value else _("아니오")


_EOK_SUFFIX = re.compile(r"(억\s*원|억)$")
_MAX_NUMBER_LENGTH = 40


class EokWidget(PortfolioWidget):
    """An amount written in 억원 (19270, 0.5, "1,234.5") and stored in whole won; a blank is 0, or None if allowed."""

    def __init__(self, *, blank_is_none: bool):
        super().__init__()
        self.blank_is_none = blank_is_none

    def clean(self, value, row=None, **kwargs) -> int | None:
        if isinstance(value, MissingFormulaValue | bool):
            cell_text(value)  # raises the right message
        if value is None or (isinstance(value, str) and not value.strip()):
            return None if self.blank_is_none else 0
        if isinstance(value, float):
            # A number cell: a float computed by a formula carries noise past the 15th digit (295.40000000000003),
            # so it is rounded to whole won. Text is taken as typed, and must not go below one won.
            if not math.isfinite(value):
                raise ValueError(_("읽을 수 없는 숫자입니다."))
            if abs(value) > float(MAX_EOK) * 10:
                raise ValueError(_("금액이 너무 큽니다. 억원 단위로 적었는지 확인해 주세요 (최대 9천만 억원)."))
            eok = (Decimal(repr(value)) * WON_PER_EOK).to_integral_value(rounding=ROUND_HALF_UP) / WON_PER_EOK
        elif isinstance(value, int | Decimal):
            eok = Decimal(value)
        elif isinstance(value, str):
            text = _EOK_SUFFIX.sub("", value.strip().replace(",", "").replace(" ", ""))
            if len(text) > _MAX_NUMBER_LENGTH:
                raise ValueError(_("숫자가 너무 깁니다."))
            try:
                eok = Decimal(text)
            except InvalidOperation:
                raise ValueError(
                    _("'%(value)s'은(는) 금액이 아닙니다. 억원 단위 숫자로 적어 주세요 (예: 1927, 0.5).")
                    % {"value": shown(value)}
                ) from None
        else:
            cell_text(value)  # dates and other types: raises the right message
            raise ValueError(_("금액이 아닙니다."))
        if not eok.is_finite():
            raise ValueError(_("읽을 수 없는 숫자입니다."))
        if eok < 0:
            raise ValueError(_("금액은 0 이상이어야 합니다."))
        if eok > MAX_EOK:
            raise ValueError(_("금액이 너무 큽니다. 억원 단위로 적었는지 확인해 주세요 (최대 9천만 억원)."))
        with localcontext(Context(prec=60)):
            won = eok * WON_PER_EOK
        if won != won.to_integral_value():
            raise ValueError(_("1원보다 작은 금액은 적을 수 없습니다 (억원 단위로 소수점 8자리까지)."))
        return int(won)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None if kwargs.get("force_native_type") else ""
        eok = (Decimal(value) / WON_PER_EOK).normalize()
        if kwargs.get("force_native_type"):
            return int(eok) if eok == eok.to_integral_value() else eok
        return format(eok, "f")


_DATE_SEPARATORS = re.compile(r"\s*[./-]\s*")


class DateWidget(PortfolioWidget):
    """A date: an Excel date cell, or 2026-04-15, 2026.4.15, 2026. 4. 15., 2026/04/15 or 20260415."""

    def __init__(self, *, required: bool = False):
        super().__init__()
        self.required = required

    def clean(self, value, row=None, **kwargs) -> dt.date | None:
        if isinstance(value, dt.datetime):
            if value.time() != dt.time(0):
                raise ValueError(_("시각 없이 날짜만 적어 주세요."))
            day = value.date()
        elif isinstance(value, dt.date):
            day = value
        else:
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                text = cell_text(value)
                if not re.fullmatch(r"\d{8}", text):
                    raise ValueError(_("'%(value)s'은(는) 날짜가 아닙니다 (예: 2026-04-15).") % {"value": shown(text)})
            else:
                text = cell_text(value)
            if not text:
                if self.required:
                    raise ValueError(_("비어 있을 수 없습니다."))
                return None
            day = self._parse(text)
        if not dt.date(1990, 1, 1) <= day <= dt.date(2100, 12, 31):
            raise ValueError(_("%(day)s: 1990년부터 2100년 사이의 날짜만 적을 수 있습니다.") % {"day": day})
        return day

    @staticmethod
    def _parse(text: str) -> dt.date:
        candidate = text.rstrip(".").strip()
        match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", candidate)
        parts = match.groups() if match else _DATE_SEPARATORS.split(candidate)
        if len(parts) == 3 and all(part.isdigit() and len(part) <= 4 for part in parts) and len(parts[0]) == 4:
            try:
                return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                pass
        raise ValueError(_("'%(value)s'은(는) 날짜가 아닙니다 (예: 2026-04-15).") % {"value": shown(text)})

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None if kwargs.get("force_native_type") else ""
        return value if kwargs.get("force_native_type") else value.isoformat()


_PERIOD = re.compile(r"(\d{4})?\s*년?\s*(?:[-~–]\s*(\d{4})?\s*년?)?")


class PeriodWidget(PortfolioWidget):
    """사업기간: "2026-2030", "2026~2030", "2026년~2030년", "2026" (one year), "2026-" (end open) or blank."""

    def clean(self, value, row=None, **kwargs) -> tuple[int | None, int | None]:
        text = cell_text(value)
        if not text:
            return None, None
        match = _PERIOD.fullmatch(text)
        if not match or not any(match.groups()):
            raise ValueError(_("'%(value)s'은(는) 사업기간이 아닙니다 (예: 2026-2030).") % {"value": shown(text)})
        start, end = (int(year) if year else None for year in match.groups())
        if "-" not in text and "~" not in text and "–" not in text:
            end = start
        for year in (start, end):
            if year is not None and not 1990 <= year <= 2100:
                raise ValueError(_("%(year)d년: 1990년부터 2100년 사이의 연도만 적을 수 있습니다.") % {"year": year})
        return start, end

    def render(self, value, obj=None, **kwargs) -> str:
        start, end = value or (None, None)
        if start is None and end is None:
            return ""
        return f"{start or ''}-{end or ''}"


def _match_coded(items: list, text: str):
    """A strategy or task written as its code ("S1"), "code. name" (as exported) or its name."""
    coded = re.fullmatch(r"(\S+)\.\s+.*", text)
    code = coded.group(1) if coded else text
    for item in items:
        if item.code.casefold() in (text.casefold(), code.casefold()):
            return item
    name = _choice_key(text)
    for item in items:
        if _choice_key(item.name) == name:
            return item
    return None


class StrategyWidget(PortfolioWidget):
    def clean(self, value, row=None, **kwargs) -> Strategy:
        text = cell_text(value)
        if not text:
            raise ValueError(_("비어 있을 수 없습니다."))
        strategy = _match_coded(self.resource.plan_strategies(), text)
        if strategy is None:
            raise ValueError(
                _(
                    "전략 '%(value)s'을(를) 계획 '%(plan)s'에서 찾을 수 없습니다. "
                    "전략 코드(예: S1)나 이름을 적어 주세요."
                )
                % {"value": shown(text), "plan": self.resource.plan.code}
            )
        return strategy

    def render(self, value, obj=None, **kwargs) -> str:
        return f"{value.code}. {value.name}" if value else ""


class TaskWidget(PortfolioWidget):
    def clean(self, value, row=None, **kwargs) -> Task:
        text = cell_text(value)
        if not text:
            raise ValueError(_("비어 있을 수 없습니다."))
        strategy = None
        strategy_column = self.resource.fields["strategy"].column_name
        if row is not None and strategy_column in row:
            try:
                strategy = self.resource.fields["strategy"].widget.clean(row[strategy_column])
            except ValueError:
                strategy = None  # reported on the 전략 column
        every_task = self.resource.plan_tasks()
        if strategy is not None:
            task = _match_coded([task for task in every_task if task.strategy_id == strategy.pk], text)
            if task is None and _match_coded(every_task, text) is not None:
                raise ValueError(
                    _("추진과제 '%(value)s'은(는) 전략 %(strategy)s에 속하지 않습니다.")
                    % {"value": shown(text), "strategy": strategy.code}
                )
        else:
            task = _match_coded(every_task, text)
        if task is None:
            raise ValueError(
                _("추진과제 '%(value)s'을(를) 찾을 수 없습니다. 과제 코드(예: T01)나 이름을 적어 주세요.")
                % {"value": shown(text)}
            )
        return task

    def render(self, value, obj=None, **kwargs) -> str:
        return f"{value.code}. {value.name}" if value else ""


class DepartmentWidget(PortfolioWidget):
    """주관부서 by name; a department the database does not know yet is created with the project."""

    def clean(self, value, row=None, **kwargs) -> Department | None:
        name = cell_text(value)
        if not name:
            return None
        if len(name) > Department._meta.get_field("name").max_length:
            raise ValueError(_("부서명이 너무 깁니다 (100자까지)."))
        return self.resource.find_department(name)

    def render(self, value, obj=None, **kwargs) -> str:
        return value.name if value else ""


def _related_items(value) -> list:
    if value is None:
        return []
    if isinstance(value, Manager | QuerySet):
        return list(value.all())
    return list(value)


class UserListWidget(PortfolioWidget, widgets.ManyToManyWidget):
    """Users by e-mail (or by user name, for a user without a unique e-mail), separated by commas."""

    def __init__(self):
        PortfolioWidget.__init__(self)
        self.model = get_user_model()
        self.separator = ","
        self.field = "email"

    def clean(self, value, row=None, **kwargs) -> list:
        return [self.resource.find_user(token) for token in split_list(cell_text(value))]

    def render(self, value, obj=None, **kwargs) -> str:
        users = sorted(_related_items(value), key=lambda user: self.resource.user_token(user))
        return join_list([self.resource.user_token(user) for user in users])


class UserWidget(PortfolioWidget):
    def clean(self, value, row=None, **kwargs):
        token = cell_text(value)
        return self.resource.find_user(token) if token else None

    def render(self, value, obj=None, **kwargs) -> str:
        return self.resource.user_token(value) if value else ""


class OrganizationListWidget(PortfolioWidget, widgets.ManyToManyWidget):
    """협력기관 by name; one the database does not know yet is created (as 기타) with the project."""

    def __init__(self):
        PortfolioWidget.__init__(self)
        self.model = Organization
        self.separator = ","
        self.field = "name"

    def clean(self, value, row=None, **kwargs) -> list:
        names = split_list(cell_text(value))
        for name in names:
            if len(name) > Organization._meta.get_field("name").max_length:
                raise ValueError(_("기관명이 너무 깁니다 (200자까지): '%(value)s'") % {"value": shown(name)})
        return [self.resource.find_organization(name) for name in names]

    def render(self, value, obj=None, **kwargs) -> str:
        return join_list(sorted(organization.name for organization in _related_items(value)))


class SupportNeedsWidget(PortfolioWidget):
    """요청 지원: 재정, 세제, 금융, 인력, 규제, 입지 (comma-separated)."""

    def __init__(self):
        super().__init__()
        self.choice = ChoiceWidget(CoreProject.Support)

    def clean(self, value, row=None, **kwargs) -> list[str]:
        values = [self.choice.clean(item) for item in split_list(cell_text(value))]
        return list(dict.fromkeys(values))

    def render(self, value, obj=None, **kwargs) -> str:
        return ", ".join(self.choice.render(item) for item in (value or []))


class ProjectWidget(PortfolioWidget):
    """A milestone's project, by 사업코드 within the plan."""

    def clean(self, value, row=None, **kwargs) -> CoreProject:
        code = cell_text(value)
        if not code:
            raise ValueError(_("비어 있을 수 없습니다."))
        project = self.resource.find_project(code)
        if project is None:
            raise ValueError(
                _("사업코드 '%(code)s'인 핵심사업이 계획 '%(plan)s'에 없습니다. 핵심사업을 먼저 가져오세요.")
                % {"code": shown(code), "plan": self.resource.plan.code}
            )
        return project

    def render(self, value, obj=None, **kwargs) -> str:
        return value.code if value else ""


def cell_text_or_none(value: Any) -> str:
    """Like ``cell_text``, but an unreadable value counts as "something is there" rather than failing."""
    try:
        return cell_text(value)
    except ValueError:
        return "?"
