"""The portfolio spreadsheet's columns: django-import-export Resources with Korean headers and 억원 amounts.

One column set serves import and export, so that an exported file imports back with no change. Importing is
all or nothing: every refused row is reported (row number, column, a reason in Korean) and the transaction is
rolled back. A row whose values equal the database is skipped, so re-importing a file writes nothing.

Rules a person filling in the sheet can rely on (also in docs/decisions.md):
- a column that is absent leaves that field alone; a column that is present is the truth for every row
  (a blank amount is 0, or 미정 for 총사업비; a blank text or list is empty), except the choice columns 구분,
  추진 상태 and 상태, where a blank cell keeps the current value (or the default for a new row);
- projects are matched by 사업코드 within the plan; milestones by (사업코드, 마일스톤, 유형);
- nothing is ever deleted by an import.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import tablib
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import DatabaseError, models, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.encoding import force_str
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader
from import_export.results import Error, Result, RowResult

from projects.models import CoreProject, Department, Milestone, Organization, Plan, Strategy, Task
from projects.permissions import is_portfolio_admin
from projects.services import milestone_status_move_allowed
from projects.spreadsheets import previews, writes
from projects.spreadsheets.cells import (
    ChoiceWidget,
    DateWidget,
    DepartmentWidget,
    EokWidget,
    MissingFormulaValue,
    OrganizationListWidget,
    PeriodWidget,
    ProjectWidget,
    StrategyWidget,
    SupportNeedsWidget,
    TaskWidget,
    TextWidget,
    UserListWidget,
    UserWidget,
    YesNoWidget,
    cell_text_or_none,
    header_base,
    header_key,
    shown,
)

logger = logging.getLogger(__name__)

PROJECTS = "projects"
MILESTONES = "milestones"
DEFAULT_PLAN_CODE = "busan-2025"


def kind_label(kind: str) -> str:
    return _("핵심사업") if kind == PROJECTS else _("마일스톤")


# Headers ---------------------------------------------------------------------------------------------------


def detect_kind(headers: list[Any]) -> str | None:
    """Projects or milestones, from a header row: both have 사업코드; only milestones have 마일스톤."""
    keys = {header_base(header_key(header)) for header in headers}
    if "사업코드" not in keys:
        return None
    if "마일스톤" in keys:
        return MILESTONES
    if "사업명" in keys:
        return PROJECTS
    return None


# Problems --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    """Why a file, or one of its rows, was refused. ``row`` is the spreadsheet's own row number."""

    message: str
    row: int | None = None
    column: str = ""
    sheet: str = ""

    def __str__(self) -> str:
        where = []
        if self.sheet:
            where.append(f"[{self.sheet}]")
        if self.row:
            where.append(_("%(row)d행") % {"row": self.row})
        if self.column:
            where.append(self.column)
        return f"{' '.join(where)}: {self.message}" if where else self.message


class PortfolioResult(Result):
    """django-import-export's result, plus every problem in Korean; any problem refuses the whole file."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems: list[ImportProblem] = []
        self.sheet_title = ""

    def has_errors(self) -> bool:
        return bool(self.problems) or super().has_errors()

    @property
    def created(self) -> int:
        return self.totals["new"]

    @property
    def updated(self) -> int:
        return self.totals["update"]

    @property
    def unchanged(self) -> int:
        return self.totals["skip"]


# Fields ----------------------------------------------------------------------------------------------------


class CheckedField(fields.Field):
    """A column that is checked on import but not written (전략: the project's strategy follows its task)."""

    def save(self, instance, row, is_m2m=False, **kwargs):
        self.clean(row, **kwargs)


class PeriodField(fields.Field):
    """사업기간: one column for two model fields, start_year and end_year."""

    def get_value(self, instance):
        return instance.start_year, instance.end_year

    def save(self, instance, row, is_m2m=False, **kwargs):
        instance.start_year, instance.end_year = self.clean(row, **kwargs)


def _key_part(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _cell_as_exported(value: Any) -> Any:
    """A cell as the export would have written it: a blank is "", a date cell read at midnight is the date, a
    whole number is an int."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) and value.tzinfo is None else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _same_cell(value: Any, field: fields.Field, instance) -> bool:
    """Is the cell exactly what the export writes for this field of ``instance`` (as a native value for XLSX, as
    text for CSV)? Text with spaces around it never is (the import trims it)."""
    if isinstance(value, str) and value != value.strip():
        return False
    if isinstance(value, bool | MissingFormulaValue):
        return False
    cell = _cell_as_exported(value)
    native = _cell_as_exported(field.export(instance, force_native_type=True))
    if type(cell) is type(native) and cell == native:
        return True
    return isinstance(cell, str) and cell == field.export(instance)


def _copy_for_comparison(instance, memo=None):
    """A shallow copy with its own ``__dict__`` and related-object cache (Model.__getstate__ copies both)."""
    clone = copy.copy(instance)
    clone.__dict__.pop("__deepcopy__", None)
    return clone


class PortfolioInstanceLoader(ModelInstanceLoader):
    """Finds the row's existing object by the resource's key; an unreadable key means a new row (refused later).

    The sheet's existing objects are read in one query the first time a row asks, and indexed by that key:
    one query per row made a 20,000-row file take minutes.
    """

    def _index(self) -> dict[tuple, list]:
        # Kept by the resource, so that a sheet checked in chunks (jobs.py) reads its rows once, not per chunk.
        return self.resource._cached("existing_by_key", self._index_build)

    def _index_build(self) -> dict[tuple, list]:
        attributes = [self.resource.fields[name].attribute for name in self.resource.get_import_id_fields()]
        by_key = defaultdict(list)
        for instance in self.resource.existing_instances():
            key = tuple(_key_part(getattr(instance, attribute)) for attribute in attributes)
            by_key[key].append(instance)
        return by_key

    def get_instance(self, row):
        looked_up = getattr(self.resource, "_looked_up", None)
        if looked_up is not None and looked_up[0] is row:
            return looked_up[1]
        key = []
        for name in self.resource.get_import_id_fields():
            field = self.resource.fields[name]
            try:
                key.append(_key_part(field.clean(row)))
            except ValueError:
                return None
        matches = self._index().get(tuple(key), [])
        if len(matches) > 1:
            raise ValidationError(self.resource.ambiguous_match_error())
        return matches[0] if matches else None


# Resources -------------------------------------------------------------------------------------------------


class PortfolioDiff(resources.Diff):
    """django-import-export's preview diff, without running diff-match-patch over a value that did not change
    (most cells of most rows): the same markup, written directly. Only a preview shows a diff, and only for the
    rows that create or change something: a confirm, and a row left unchanged, get none."""

    def __init__(self, resource, instance, new):
        self.wanted = getattr(resource, "_diff_shown", True)
        self.left, self.right, self.new = [], [], new
        if self.wanted:
            super().__init__(resource, instance, new)

    def compare_with(self, resource, instance):
        if getattr(instance, "_import_unchanged", False):
            self.wanted = False
        if self.wanted:
            super().compare_with(resource, instance)

    def as_html(self):
        if not getattr(self, "wanted", True):
            return []
        return _LazyCells(self._html)

    def _html(self) -> list:
        data = []
        for index, (left, right) in enumerate(zip(self.left, self.right, strict=False)):
            left_text, right_text = force_str(left), force_str(right)
            if left_text == right_text and not (self.new and left != right):
                data.append(mark_safe(f"<span>{_pretty(left_text)}</span>") if left_text else mark_safe(""))
            else:
                data.append(super().as_html.__func__(_OneCell(self, index))[0])
        return data


class _LazyCells(Sequence):
    """A row's diff cells, written when the preview shows the row (it shows the first rows that change, not all)."""

    def __init__(self, write):
        self._write, self._cells = write, None

    def _all(self) -> list:
        if self._cells is None:
            self._cells = self._write()
        return self._cells

    def __getitem__(self, index):
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __eq__(self, other) -> bool:
        return list(self) == list(other)


class _OneCell:
    """One column of a Diff, for diff-match-patch."""

    def __init__(self, diff: resources.Diff, index: int):
        self.left, self.right, self.new = [diff.left[index]], [diff.right[index]], diff.new


def _pretty(text: str) -> str:
    """What diff_prettyHtml writes for unchanged text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "&para;<br>")


class PortfolioResource(resources.ModelResource):
    """What both sheets share: the plan, header checks, the all-or-nothing rule and Korean problems."""

    sheet_kind: str = ""
    required_columns: tuple[str, ...] = ()
    constraint_columns: dict[str, str] = {}
    history_reason = "스프레드시트 가져오기"
    # Rows written in batches (writes.py) rather than one save() each: for a model whose rows have no list
    # columns and create no related rows (milestones).
    bulk_writes = False

    def __init__(self, *, plan: Plan | None = None, certificate: str = "", **kwargs):
        super().__init__(**kwargs)
        self._plan = plan
        # The preview's certificate, on confirm (previews.py); the rows the preview found to change.
        self._certificate = certificate
        self._only_rows: set[int] | None = None
        self._changing_rows: list[int] = []
        self._row_numbers: list[int] = []
        self._seen_keys: dict[Any, int] = {}
        self._caches: dict[str, Any] = {}
        self._row_offset = 0  # where the chunk being imported starts in the sheet (jobs.py)
        self._saved_related: list[models.Model] = []
        self._pending_writes: list[tuple] = []
        self._unchanged_tally = [0, 0]  # rows looked at, rows found unchanged (_unchanged_row)
        self._write_errors: list[tuple] = []
        self._writes_history = True  # off while a preview runs (import_data)
        self.importing_user = None
        self.file_name = ""
        for field in self.fields.values():
            field.widget.resource = self

    @classmethod
    def get_result_class(cls):
        return PortfolioResult

    @classmethod
    def get_diff_class(cls):
        return PortfolioDiff

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            self._plan = Plan.objects.get(code=DEFAULT_PLAN_CODE)
        return self._plan

    def get_import_fields(self):
        # Asked several times a row by django-import-export: worked out once per import.
        if "_caches" not in self.__dict__:
            return super().get_import_fields()
        return self._cached("import_fields", super().get_import_fields)

    def column_names(self) -> list[str]:
        return [field.column_name for field in self.get_import_fields()]

    # Lookups shared by the widgets, loaded once per import.

    def _cached(self, key: str, load):
        if key not in self._caches:
            self._caches[key] = load()
        return self._caches[key]

    def plan_strategies(self) -> list[Strategy]:
        return self._cached("strategies", lambda: list(self.plan.strategies.all()))

    def plan_tasks(self) -> list[Task]:
        return self._cached("tasks", lambda: list(Task.objects.filter(strategy__plan=self.plan)))

    def find_department(self, name: str) -> Department:
        departments = self._cached("departments", dict)
        if name not in departments:
            departments[name] = Department.objects.filter(name=name).first() or Department(name=name)
        return departments[name]

    def find_organization(self, name: str) -> Organization:
        organizations = self._cached("organizations", dict)
        if name not in organizations:
            organizations[name] = Organization.objects.filter(name=name).first() or Organization(
                name=name, kind=Organization.Kind.OTHER
            )
        return organizations[name]

    def find_project(self, code: str) -> CoreProject | None:
        """The plan's project with this code; the plan's projects are read once per import."""
        return self._plan_projects().get(code)

    def _plan_projects(self) -> dict[str, CoreProject]:
        return self._cached("projects", lambda: {p.code: p for p in CoreProject.objects.filter(plan=self.plan)})

    def user_token(self, user) -> str:
        """A user as written in the sheet: the e-mail when it names only this user (read back as ``find_user``
        reads it), otherwise the user name."""
        by_email, _by_name = self._users()
        if user.email and len(by_email.get(user.email.upper(), ())) == 1:
            return user.email
        return user.get_username()

    def _users(self) -> tuple[dict[str, list], dict[str, Any]]:
        """Every user, by upper-cased e-mail and by user name: read once per import, not once per cell."""

        def load():
            User = get_user_model()
            by_email: dict[str, list] = defaultdict(list)
            by_name = {}
            for user in User.objects.order_by("pk"):
                if user.email:
                    by_email[user.email.upper()].append(user)
                by_name[user.get_username()] = user
            return by_email, by_name

        return self._cached("all_users", load)

    def find_user(self, token: str):
        users = self._cached("users", dict)
        if token not in users:
            by_email, by_name = self._users()
            if "@" in token:
                matches = by_email.get(token.upper(), [])[:2]
                if not matches:
                    matches = [by_name[token]] if token in by_name else []
            else:
                matches = [by_name[token]] if token in by_name else []
            if not matches:
                raise ValueError(
                    _("'%(value)s'인 사용자가 없습니다. 사용자를 먼저 만들거나 이메일을 고쳐 주세요.")
                    % {"value": shown(token)}
                )
            if len(matches) > 1:
                raise ValueError(
                    _("이메일 '%(value)s'을(를) 쓰는 사용자가 여럿입니다. 사용자 이름으로 적어 주세요.")
                    % {"value": shown(token)}
                )
            users[token] = matches[0]
        return users[token]

    # The import.

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        """All or nothing: checks the headers, imports every row in one transaction, rolls back on any problem."""
        self.importing_user = kwargs.get("user")
        if self.importing_user is not None and not is_portfolio_admin(self.importing_user):
            raise PermissionDenied(_("포트폴리오를 가져올 권한이 없습니다."))
        self.file_name = kwargs.get("file_name") or ""
        # A preview (or a background check) is rolled back: its rows are written to be checked, without history.
        self._writes_history = not dry_run
        # Only the admin's preview shows a diff (a background check reports counts and problems).
        self._diff_shown = dry_run and kwargs.get("progress") is None
        result = self.get_result_class()()
        try:
            self.plan  # noqa: B018 - resolves the default plan
        except Plan.DoesNotExist:
            result.problems = [
                ImportProblem(
                    _("계획 '%(plan)s'이(가) 없습니다. load_seeds를 먼저 실행하세요.") % {"plan": DEFAULT_PLAN_CODE}
                )
            ]
            return result
        digest = getattr(dataset, "digest", "")
        certified = None
        if not dry_run and self._certificate:
            certified = previews.certificate_read(
                self._certificate, digest=digest, kind=self.sheet_kind, plan=self.plan
            )
        if certified is not None:
            self._only_rows, unchanged = certified
            if not self._only_rows:
                # The preview found nothing to change, and nothing has changed since: nothing to do.
                result.totals[RowResult.IMPORT_TYPE_SKIP] = unchanged
                return result
        sheet, problems = self.prepare_dataset(dataset)
        result.sheet_title = getattr(sheet, "title", "") or ""
        if problems:
            result.problems = problems
            return result
        # A background check (jobs.py) goes through the rows in chunks, each rolled back, and reports its progress
        # between them; otherwise the whole sheet is one chunk.
        progress = kwargs.pop("progress", None)
        size = kwargs.pop("chunk_rows", None) if dry_run and progress is not None else None
        size = min(size or sheet.height, sheet.height)
        result = None
        for start in range(0, sheet.height, size):
            part = (
                sheet if size == sheet.height else tablib.Dataset(*sheet[start : start + size], headers=sheet.headers)
            )
            self._row_offset = start
            with transaction.atomic(using=self.get_db_connection_name()):
                # One transaction of our own, rolled back for a preview or any problem. django-import-export's own
                # transactions would add a savepoint around every row (two statements a row, most of an import's
                # time); rows that write take a savepoint of their own (save_instance, save_m2m), so a database
                # error in one row is still reported as that row's and the others are still checked.
                part_result = super().import_data(
                    part,
                    dry_run=False,
                    raise_errors=False,
                    use_transactions=False,
                    collect_failed_rows=False,
                    rollback_on_validation_errors=True,
                    **kwargs,
                )
                self._pending_flush()
                for number, row, error in self._write_errors:
                    part_result.append_error_row(number, row, [Error(error, number=number, row=row)])
                self._write_errors = []
                part_result.sheet_title = getattr(sheet, "title", "") or ""
                part_result.problems = self.problems_from(part_result, sheet=part_result.sheet_title)
                if part_result.problems or dry_run:
                    transaction.set_rollback(True, using=self.get_db_connection_name())
            if size < sheet.height:
                self._forget_rolled_back_saves()
            result = part_result if result is None else self._merged(result, part_result)
            if progress is not None:
                progress(min(start + size, sheet.height))
        self._row_offset = 0
        if certified is not None:
            result.totals[RowResult.IMPORT_TYPE_SKIP] += certified[1]
        if dry_run and not result.problems and digest:
            result.certificate = previews.certificate_issue(
                digest=digest,
                kind=self.sheet_kind,
                plan=self.plan,
                rows=self._changing_rows,
                unchanged=result.unchanged,
            )
        return result

    @staticmethod
    def _merged(result: PortfolioResult, part: PortfolioResult) -> PortfolioResult:
        """One result for a sheet checked in chunks: the counts added up and every problem, in row order."""
        for import_type, count in part.totals.items():
            result.totals[import_type] += count
        result.problems.extend(part.problems)
        return result

    def _forget_rolled_back_saves(self) -> None:
        """After a chunk is rolled back, the departments and organizations it created do not exist: the next chunk
        that names one creates it again (in its own transaction)."""
        for item in self._saved_related:
            item.pk = None
            item._state.adding = True
            item._state.db = None
        self._saved_related = []

    def after_import_row(self, row, row_result, **kwargs):
        super().after_import_row(row, row_result, **kwargs)
        if row_result.import_type in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE):
            self._changing_rows.append(self.sheet_row(kwargs.get("row_number", 0)))

    def prepare_dataset(self, dataset):
        """Pick this kind's sheet, map its headers to our columns, drop blank rows; or say what is wrong."""
        import tablib

        sheets = getattr(dataset, "sheets", None) or [dataset]
        mine = [sheet for sheet in sheets if self._sheet_kind(sheet) == self.sheet_kind]
        if not mine:
            found = [self._sheet_kind(sheet) for sheet in sheets]
            if any(found) or len(sheets) > 1:
                others = ", ".join(sorted({kind_label(kind) for kind in found if kind}))
                message = _("이 파일에는 %(kind)s 시트가 없습니다.") % {"kind": kind_label(self.sheet_kind)}
                if others:
                    message += " " + _("(%(others)s 열이 있는 파일입니다.)") % {"others": others}
                return dataset, [ImportProblem(message)]
            mine = [sheets[0]]
        sheet = mine[0]
        title = getattr(sheet, "title", "") or ""
        header_row = getattr(sheet, "header_row", 1)
        row_numbers = getattr(sheet, "row_numbers", None) or list(range(header_row + 1, header_row + 1 + sheet.height))
        problems = []

        by_key: dict[str, str] = {}
        for column in self.column_names():
            by_key.setdefault(header_key(column), column)
            by_key.setdefault(header_base(header_key(column)), column)
        columns: list[str | None] = []
        seen: dict[str, int] = {}
        rows = [list(row) for row in sheet]
        for index, header in enumerate(sheet.headers or []):
            key = header_key(header)
            column = by_key.get(key) or by_key.get(header_base(key))
            if not key:
                if any(index < len(row) and cell_text_or_none(row[index]) for row in rows):
                    problems.append(
                        ImportProblem(
                            _("%(index)d번째 열에 머리글이 없는데 값이 있습니다. 머리글을 적거나 열을 지워 주세요.")
                            % {"index": index + 1},
                            row=header_row,
                            sheet=title,
                        )
                    )
                columns.append(None)
                continue
            if column is None:
                problems.append(
                    ImportProblem(
                        _("알 수 없는 열 '%(header)s'입니다. 쓸 수 있는 열: %(columns)s")
                        % {"header": shown(header), "columns": ", ".join(self.column_names())},
                        row=header_row,
                        sheet=title,
                    )
                )
                columns.append(None)
                continue
            if column in seen:
                problems.append(
                    ImportProblem(
                        _("열 '%(column)s'이(가) 두 번 있습니다 (%(first)d번째와 %(second)d번째 열).")
                        % {"column": column, "first": seen[column] + 1, "second": index + 1},
                        row=header_row,
                        sheet=title,
                    )
                )
            seen.setdefault(column, index)
            columns.append(column)
        missing = [column for column in self.required_columns if column not in seen]
        if missing:
            problems.append(
                ImportProblem(
                    _("꼭 있어야 할 열이 없습니다: %(columns)s") % {"columns": ", ".join(missing)},
                    row=header_row,
                    sheet=title,
                )
            )
        if problems:
            return sheet, problems

        kept_columns = [column for column in columns if column is not None]
        clean = tablib.Dataset(headers=kept_columns, title=title or None)
        self._row_numbers = []
        for number, row in zip(row_numbers, rows, strict=False):
            if self._only_rows is not None and number not in self._only_rows:
                continue  # the preview found this row unchanged (previews.py)
            values = [row[index] if index < len(row) else None for index, column in enumerate(columns) if column]
            if all(cell_text_or_none(value) == "" for value in values):
                continue
            clean.append(values)
            self._row_numbers.append(number)
        if not clean.height:
            return sheet, [ImportProblem(_("가져올 행이 없습니다."), sheet=title)]
        return clean, []

    @staticmethod
    def _sheet_kind(sheet) -> str | None:
        return getattr(sheet, "kind", None) or detect_kind(sheet.headers or [])

    def sheet_row(self, number: int) -> int:
        """django-import-export counts data rows from 1; people count the spreadsheet's rows."""
        number += self._row_offset
        if 0 < number <= len(self._row_numbers):
            return self._row_numbers[number - 1]
        return number + 1

    def column_for(self, key: str, message: str = "") -> str:
        if key == NON_FIELD_ERRORS:
            return self._constraint_column(message)
        for name, field in self.fields.items():
            if key in (name, field.attribute) or (field.attribute or "").startswith(key + "__"):
                return field.column_name
        if key in {"start_year", "end_year"}:
            return self.fields["period"].column_name
        return ""

    def _constraint_column(self, message: str) -> str:
        for constraint in self._meta.model._meta.constraints:
            if str(getattr(constraint, "violation_error_message", "")) == message:
                return self.constraint_columns.get(constraint.name, "")
        return ""

    def problems_from(self, result: Result, *, sheet: str) -> list[ImportProblem]:
        problems = []
        for invalid in result.invalid_rows:
            for key, messages in invalid.error_dict.items():
                for message in messages:
                    problems.append(
                        ImportProblem(
                            str(message),
                            row=self.sheet_row(invalid.number),
                            column=self.column_for(key, str(message)),
                            sheet=sheet,
                        )
                    )
        for error_row in result.error_rows:
            for error in error_row.errors:
                logger.warning("import row %s failed", error_row.number, exc_info=error.error)
                problems.append(
                    ImportProblem(
                        _(
                            "이 행을 처리하지 못했습니다 (%(error)s). "
                            "값을 확인하고, 그래도 안 되면 관리자에게 알려 주세요."
                        )
                        % {"error": type(error.error).__name__},
                        row=self.sheet_row(error_row.number),
                        sheet=sheet,
                    )
                )
        for error in result.base_errors:
            logger.warning("import failed", exc_info=error.error)
            problems.append(
                ImportProblem(
                    _("파일을 처리하지 못했습니다 (%(error)s).") % {"error": type(error.error).__name__}, sheet=sheet
                )
            )
        return sorted(problems, key=lambda problem: problem.row or 0)

    # Hooks of django-import-export's row loop.

    def row_key(self, row) -> Any:
        raise NotImplementedError

    def duplicate_message(self, first_row: int) -> dict[str, list[str]]:
        raise NotImplementedError

    def ambiguous_match_error(self) -> dict[str, list[str]]:
        raise NotImplementedError

    def after_init_instance(self, instance, new, row, **kwargs):
        # django-import-export deep-copies every row's object (its related project, owner… with it) to compare
        # it after the row is read: a third of an import's time. The comparison needs only a copy with its own
        # field values and related-object cache; the import replaces related objects, it never changes them.
        instance.__deepcopy__ = partial(_copy_for_comparison, instance)

    def existing_instances(self):
        """The sheet's rows in the database, to be matched with the file's (PortfolioInstanceLoader)."""
        return self.get_queryset()

    def import_row(self, row, instance_loader, **kwargs):
        """A row whose every cell is what the tracker's own export writes for the object it matches is unchanged,
        and is counted so without reading it cell by cell (export → import writes nothing: a tested rule). Any
        other row goes through django-import-export's row import."""
        row_result = self._unchanged_row(row, instance_loader, **kwargs)
        if row_result is not None:
            return row_result
        return super().import_row(row, instance_loader, **kwargs)

    def _unchanged_row(self, row, instance_loader, **kwargs) -> RowResult | None:
        if self._only_rows is not None:
            return None  # a confirm given only the rows its preview found to change
        tries, hits = self._unchanged_tally
        if tries >= 500 and hits * 2 < tries:
            return None  # most rows of this file change: looking for unchanged ones costs more than it saves
        self._unchanged_tally[0] += 1
        try:
            instance = instance_loader.get_instance(row)
            key = self.row_key(row)
        except (ValueError, ValidationError):
            return None  # reported by the row import
        self._looked_up = (row, instance, key)  # the row import asks again: answered from here
        if instance is None or key in self._seen_keys:
            return None
        for field in self._row_fields(tuple(row)):
            if not _same_cell(row[field.column_name], field, instance):
                return None
        self._seen_keys[key] = self.sheet_row(kwargs.get("row_number", 0))
        self._unchanged_tally[1] += 1
        row_result = self.get_row_result_class()()
        row_result.import_type = RowResult.IMPORT_TYPE_SKIP
        row_result.add_instance_info(instance)
        if self._meta.store_instance:
            row_result.instance = instance
        return row_result

    def _row_fields(self, columns: tuple[str, ...]) -> list[fields.Field]:
        by_columns = self._cached("row_fields", dict)
        if columns not in by_columns:
            by_column = {field.column_name: field for field in self.get_import_fields()}
            by_columns[columns] = [by_column[column] for column in columns if column in by_column]
        return by_columns[columns]

    def before_import_row(self, row, **kwargs):
        """The same key twice in one file is refused: the second row would silently overwrite the first."""
        looked_up = getattr(self, "_looked_up", None)
        try:
            key = looked_up[2] if looked_up is not None and looked_up[0] is row else self.row_key(row)
        except ValueError:
            return  # the unreadable key is reported by its column
        number = self.sheet_row(kwargs.get("row_number", 0))
        if key in self._seen_keys:
            raise ValidationError(self.duplicate_message(self._seen_keys[key]))
        self._seen_keys[key] = number

    def import_instance(self, instance, row, **kwargs):
        """Reads every cell; list columns are read now (and written after the save) so their errors are reported."""
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        instance._import_m2m = {}
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row:
                try:
                    instance._import_m2m[field.attribute] = field.clean(row, **kwargs)
                except ValueError as error:
                    errors[field.attribute] = ValidationError(str(error), code="invalid")
        if errors:
            raise ValidationError(errors)

    def _snapshot(self, instance) -> dict[str, Any]:
        return {
            field.attname: getattr(instance, field.attname)
            for field in self._meta.model._meta.concrete_fields
            if field.attname not in {"created_at", "updated_at", "version"}
        }

    def _has_unsaved_relation(self, instance) -> bool:
        for field in self._meta.model._meta.concrete_fields:
            if field.is_relation and field.is_cached(instance):
                related = getattr(instance, field.name)
                if related is not None and related.pk is None:
                    return True
        return False

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """django-import-export's check (``full_clean``, step by step as Django takes it), without two queries a row
        that tell the import nothing new: a related object the import read from the database in this transaction
        (the row's project, owner, task, department) is not looked up again to see that it exists, and a check
        constraint is asked once per distinct combination of the values it names (``_validate_constraints``)."""
        errors = dict(import_validation_errors or {})
        exclude = set(errors)
        try:
            instance.clean_fields(exclude=exclude | self._related_read_here(instance))
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        try:
            instance.clean()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        exclude |= {name for name in errors if name != NON_FIELD_ERRORS}
        if validate_unique:
            try:
                instance.validate_unique(exclude=exclude)
            except ValidationError as error:
                errors = error.update_error_dict(errors)
            exclude |= {name for name in errors if name != NON_FIELD_ERRORS}
        try:
            self._validate_constraints(instance, exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _related_read_here(self, instance) -> set[str]:
        """The foreign keys of the row that hold an object read from the database by this import."""
        names = set()
        for field in self._meta.model._meta.concrete_fields:
            if field.many_to_one and field.name in self._imported_attributes() and field.is_cached(instance):
                related = getattr(instance, field.name)
                if related is not None and related.pk is not None and related.pk == getattr(instance, field.attname):
                    names.add(field.name)
        return names

    def _imported_attributes(self) -> set[str]:
        return self._cached("imported_attributes", lambda: {field.attribute for field in self.get_import_fields()})

    def _validate_constraints(self, instance, *, exclude: set[str]) -> None:
        """``Model.validate_constraints``, except that a check constraint's verdict is remembered for the values
        of the fields it names: Django asks the database each time (a savepoint and a query, three statements a
        row), yet the verdict depends on those values alone, which repeat from row to row."""
        if type(instance).validate_constraints is not models.Model.validate_constraints:
            instance.validate_constraints(exclude=exclude)  # the model adjusts the check itself (CoreProject)
            return
        verdicts = self._cached("constraint_verdicts", dict)
        names_of = self._cached("constraint_field_names", dict)  # what each check names, worked out once
        using = self.get_db_connection_name()
        errors: dict = {}
        for model_class, constraints in instance.get_constraints():
            for constraint in constraints:
                try:
                    if isinstance(constraint, models.CheckConstraint):
                        names = names_of.get(constraint.name)
                        if names is None:
                            names = names_of[constraint.name] = sorted(Q(constraint.condition).referenced_base_fields)
                        if exclude.intersection(names):
                            continue  # what Django does: a field that failed its own check is not checked again
                        key = (
                            constraint.name,
                            *(getattr(instance, model_class._meta.get_field(name).attname) for name in names),
                        )
                        if key not in verdicts:
                            try:
                                constraint.validate(model_class, instance, exclude=exclude, using=using)
                                verdicts[key] = True
                            except ValidationError:
                                verdicts[key] = False
                        if not verdicts[key]:
                            raise ValidationError(
                                constraint.get_violation_error_message(), code=constraint.violation_error_code
                            )
                    else:
                        constraint.validate(model_class, instance, exclude=exclude, using=using)
                except ValidationError as error:
                    if getattr(error, "code", None) == "unique" and len(getattr(constraint, "fields", ())) == 1:
                        errors.setdefault(constraint.fields[0], []).append(error)
                    else:
                        errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """Unchanged rows are not saved again: no new history, no version bump."""
        if import_validation_errors or original is None or original.pk is None:
            return False
        if self._has_unsaved_relation(instance) or self._snapshot(instance) != self._snapshot(original):
            return False
        for attribute, related in instance._import_m2m.items():
            if any(item.pk is None for item in related):
                return False
            current = set(getattr(original, attribute).values_list("pk", flat=True))
            if {item.pk for item in related} != current:
                return False
        instance._import_unchanged = True  # its diff is never shown (PortfolioDiff)
        return True

    def before_save_instance(self, instance, row, **kwargs):
        for field in self._meta.model._meta.concrete_fields:
            if field.is_relation and field.is_cached(instance):
                related = getattr(instance, field.name)
                if related is not None and related.pk is None:
                    related.full_clean()
                    related.save()
                    self._saved_related.append(related)
                    setattr(instance, field.name, related)
        if self.importing_user is not None:
            instance._history_user = self.importing_user
        model = type(instance)
        instance._change_reason = self._cached(  # once per import: the history manager is a new class each time
            f"change_reason:{model._meta.label}:{self.file_name}", lambda: self._change_reason_for(model)
        )

    def _change_reason_for(self, model) -> str:
        """The history's reason for this import's rows ("스프레드시트 가져오기: <file>"), cut to what the history table
        holds: a long file name would otherwise make every changed row fail to save."""
        reason = f"{self.history_reason}: {self.file_name}" if self.file_name else self.history_reason
        manager = getattr(model._meta, "simple_history_manager_attribute", None)
        limit = getattr(model, manager).model._meta.get_field("history_change_reason").max_length if manager else None
        return reason if limit is None or len(reason) <= limit else reason[: limit - 1] + "…"

    def save_instance(self, instance, is_create, row, **kwargs):
        if not self.bulk_writes:
            with transaction.atomic(using=self.get_db_connection_name()):
                super().save_instance(instance, is_create, row, **kwargs)
            return
        # Queued and written in batches (writes.py); what save() would do first is done now, once.
        self.before_save_instance(instance, row, **kwargs)
        instance.before_save()
        self._pending_writes.append((instance, is_create, kwargs.get("row_number", 0), row))
        if len(self._pending_writes) >= writes.BATCH:
            self._pending_flush()

    def _pending_flush(self) -> None:
        """Write the queued rows, a batch in one savepoint. If the database refuses the batch, its rows are written
        one at a time, each in its own savepoint, so that the refusal is reported as its row's (and the others are
        still written, for the preview to check them)."""
        pending, self._pending_writes = self._pending_writes, []
        using = self.get_db_connection_name()
        groups = [[item for item in pending if item[1] is created] for created in (True, False)]
        try:
            with transaction.atomic(using=using):
                for group in groups:
                    if group:
                        writes.rows_write(
                            [item[0] for item in group],
                            created=group[0][1],
                            using=using,
                            history=self._writes_history,
                        )
        except DatabaseError:
            for instance, created, number, row in pending:
                if created:
                    instance.pk, instance._state.adding, instance._state.db = None, True, None
                try:
                    with transaction.atomic(using=using):
                        writes.rows_write([instance], created=created, using=using, history=self._writes_history)
                except DatabaseError as error:
                    self._write_errors.append((number, row, error))

    def save_m2m(self, instance, row, **kwargs):
        lists = getattr(instance, "_import_m2m", {})
        if not lists:
            return  # no savepoint for a row without list columns (two statements a row)
        with transaction.atomic(using=self.get_db_connection_name()):
            for attribute, related in lists.items():
                for item in related:
                    if item.pk is None:
                        item.full_clean()
                        item.save()
                        self._saved_related.append(item)
                manager = getattr(instance, attribute)
                if {item.pk for item in related} != set(manager.values_list("pk", flat=True)):
                    manager.set(related)

    def after_import(self, dataset, result, **kwargs):
        # ModelResource resets database sequences here, for rows imported with explicit ids; we never do that.
        pass

    def after_export(self, queryset, dataset, **kwargs):
        dataset.title = kind_label(self.sheet_kind)


class CoreProjectResource(PortfolioResource):
    sheet_kind = PROJECTS
    required_columns = ("전략", "추진과제", "사업코드", "사업명")
    constraint_columns = {
        "project_end_year_not_before_start": "사업기간",
        "project_budget_split_within_total": "총사업비(억원)",
        "project_sample_iff_prefixed": "사업명",
    }

    strategy = CheckedField(attribute="task__strategy", column_name="전략", widget=StrategyWidget())
    task = fields.Field(attribute="task", column_name="추진과제", widget=TaskWidget())
    code = fields.Field(attribute="code", column_name="사업코드", widget=TextWidget(required=True))
    name = fields.Field(attribute="name", column_name="사업명", widget=TextWidget(required=True))
    category = fields.Field(
        attribute="category", column_name="구분", widget=ChoiceWidget(CoreProject.Category), saves_null_values=False
    )
    lead_department = fields.Field(attribute="lead_department", column_name="주관부서", widget=DepartmentWidget())
    budget_total = fields.Field(
        attribute="budget_total", column_name="총사업비(억원)", widget=EokWidget(blank_is_none=True)
    )
    budget_national = fields.Field(
        attribute="budget_national", column_name="국비", widget=EokWidget(blank_is_none=False)
    )
    budget_city = fields.Field(attribute="budget_city", column_name="시비", widget=EokWidget(blank_is_none=False))
    budget_private = fields.Field(attribute="budget_private", column_name="민자", widget=EokWidget(blank_is_none=False))
    period = PeriodField(attribute="start_year", column_name="사업기간", widget=PeriodWidget())
    managers = fields.Field(attribute="managers", column_name="담당자 이메일", widget=UserListWidget())
    is_flagship = fields.Field(attribute="is_flagship", column_name="대표사업", widget=YesNoWidget())
    government_programme = fields.Field(
        attribute="government_programme", column_name="연계 정부사업", widget=TextWidget()
    )
    rag_status = fields.Field(
        attribute="rag_status",
        column_name="추진 상태",
        widget=ChoiceWidget(CoreProject.RagStatus),
        saves_null_values=False,
    )
    support_needs = fields.Field(attribute="support_needs", column_name="요청 지원", widget=SupportNeedsWidget())
    partners = fields.Field(attribute="partners", column_name="협력기관", widget=OrganizationListWidget())
    name_en = fields.Field(attribute="name_en", column_name="사업명(영문)", widget=TextWidget())
    description = fields.Field(attribute="description", column_name="사업 개요", widget=TextWidget())

    class Meta:
        model = CoreProject
        name = "핵심사업"
        fields = (
            "strategy",
            "task",
            "code",
            "name",
            "category",
            "lead_department",
            "budget_total",
            "budget_national",
            "budget_city",
            "budget_private",
            "period",
            "managers",
            "is_flagship",
            "government_programme",
            "rag_status",
            "support_needs",
            "partners",
            "name_en",
            "description",
        )
        import_id_fields = ("code",)
        instance_loader_class = PortfolioInstanceLoader
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def get_queryset(self):
        return (
            CoreProject.objects.filter(plan=self.plan)
            .select_related("task__strategy", "lead_department")
            .prefetch_related("managers", "partners")
            .order_by("code")
        )

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("task__strategy", "lead_department").prefetch_related("managers", "partners")

    def init_instance(self, row=None):
        return CoreProject(plan=self.plan)

    def row_key(self, row) -> Any:
        return self.fields["code"].clean(row)

    def duplicate_message(self, first_row: int) -> dict[str, list[str]]:
        return {
            "code": [_("같은 사업코드가 %(row)d행에도 있습니다. 한 사업은 한 행에만 적어 주세요.") % {"row": first_row}]
        }

    def ambiguous_match_error(self) -> dict[str, list[str]]:
        return {"code": [_("같은 사업코드의 사업이 여럿입니다.")]}


class MilestoneResource(PortfolioResource):
    sheet_kind = MILESTONES
    bulk_writes = True
    required_columns = ("사업코드", "유형", "마일스톤", "기한")
    constraint_columns = {"milestone_completed_on_iff_achieved": "달성일"}

    project = fields.Field(attribute="project", column_name="사업코드", widget=ProjectWidget())
    kind = fields.Field(attribute="kind", column_name="유형", widget=ChoiceWidget(Milestone.Kind))
    title = fields.Field(attribute="title", column_name="마일스톤", widget=TextWidget(required=True))
    responsible_agency = fields.Field(attribute="responsible_agency", column_name="소관부처", widget=TextWidget())
    due_date = fields.Field(attribute="due_date", column_name="기한", widget=DateWidget(required=True))
    status = fields.Field(
        attribute="status", column_name="상태", widget=ChoiceWidget(Milestone.Status), saves_null_values=False
    )
    completed_on = fields.Field(attribute="completed_on", column_name="달성일", widget=DateWidget())
    amount_requested = fields.Field(
        attribute="amount_requested", column_name="신청액", widget=EokWidget(blank_is_none=True)
    )
    amount_secured = fields.Field(
        attribute="amount_secured", column_name="확보액", widget=EokWidget(blank_is_none=True)
    )
    owner = fields.Field(attribute="owner", column_name="담당자 이메일", widget=UserWidget())
    notes = fields.Field(attribute="notes", column_name="비고", widget=TextWidget())

    class Meta:
        model = Milestone
        name = "마일스톤"
        fields = ("project", *Milestone.ROW_FIELDS, "owner", "notes")
        import_id_fields = ("project", "kind", "title")
        instance_loader_class = PortfolioInstanceLoader
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def get_queryset(self):
        return (
            Milestone.objects.filter(project__plan=self.plan)
            .select_related("project", "owner")
            .order_by("project__code", "due_date", "pk")
        )

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("project", "owner")

    def init_instance(self, row=None):
        return Milestone()

    def existing_instances(self):
        """The plan's milestones, each holding its project and owner from the lookups the import has read already
        (one model object a row, not three as with select_related)."""
        projects = {project.pk: project for project in self._plan_projects().values()}
        users = {user.pk: user for user in self._users()[1].values()}
        project_field, owner_field = Milestone._meta.get_field("project"), Milestone._meta.get_field("owner")
        milestones = list(Milestone.objects.filter(project__plan=self.plan).order_by())
        for milestone in milestones:
            project_field.set_cached_value(milestone, projects[milestone.project_id])
            if milestone.owner_id in users:
                owner_field.set_cached_value(milestone, users[milestone.owner_id])
        return milestones

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        instance._import_status_before = None if new else instance.status

    def row_key(self, row) -> Any:
        return (
            self.fields["project"].clean(row).pk,
            self.fields["title"].clean(row),
            self.fields["kind"].clean(row),
        )

    def duplicate_message(self, first_row: int) -> dict[str, list[str]]:
        return {
            "title": [
                _("같은 사업코드·유형·마일스톤의 행이 %(row)d행에도 있습니다. 한 마일스톤은 한 행에만 적어 주세요.")
                % {"row": first_row}
            ]
        }

    def ambiguous_match_error(self) -> dict[str, list[str]]:
        return {
            "title": [
                _(
                    "이 사업에 유형과 이름이 같은 마일스톤이 여럿 있어 어느 것을 고칠지 알 수 없습니다. "
                    "화면에서 이름을 서로 다르게 고친 뒤 다시 가져오세요."
                )
            ]
        }

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The import follows the workspace's status rule (services.milestone_status_move_allowed)."""
        # Every milestone of the file belongs to the plan: its date window (Milestone.clean) is read once.
        instance._plan_date_window = self._cached("date_window", self.plan.date_window)
        errors = dict(import_validation_errors or {})
        before = getattr(instance, "_import_status_before", None)
        if before and "status" not in errors and not milestone_status_move_allowed(before, instance.status):
            with translation.override("ko"):
                errors["status"] = ValidationError(
                    _("'%(current)s'에서 '%(new)s'(으)로 바꿀 수 없습니다.")
                    % {"current": Milestone.Status(before).label, "new": Milestone.Status(instance.status).label}
                )
        super().validate_instance(instance, errors, validate_unique)


RESOURCES: dict[str, type[PortfolioResource]] = {PROJECTS: CoreProjectResource, MILESTONES: MilestoneResource}
