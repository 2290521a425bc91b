"""Sample data (예시) that fills the announced plan out to 71 projects, for demonstrations and training.

Everything made here is marked: project, department and organization names start with ``[예시]``,
projects carry ``is_sample``, codes start with ``DEMO-``, users are ``demo_*``. The plan's own rows are
never touched.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from people.models import Profile
from people.services import profile_save
from projects import roles
from projects.models import (
    SAMPLE_PREFIX,
    CoreProject,
    Department,
    Milestone,
    Organization,
    Plan,
    ProgressUpdate,
)
from projects.money import WON_PER_EOK
from tracker.dates import SEOUL, previous_working_day, week_start

SAMPLE_CODE_PREFIX = "DEMO-"

SAMPLE_NAMES = {
    "T01": [
        "진해신항 스마트 항만 물류 플랫폼",
        "부산항 친환경 선박 연료 공급 기지",
        "항만 배후단지 고부가 물류 클러스터",
        "해운 거래소 설립 추진",
        "스마트 항만 장비 국산화 실증",
        "북극항로 거점 항만 조성",
        "항만 디지털 트윈 구축",
    ],
    "T02": [
        "자율운항선박 실증 센터",
        "친환경 선박 기자재 시험 인증 센터",
        "스마트 야드 기술 개발",
        "수소 추진선 핵심 부품 개발",
        "조선 해양 디지털 설계 인력 양성",
        "선박 전동화 부품 산업 육성",
        "중소 조선소 디지털 전환 지원",
    ],
    "T03": [
        "해양 데이터 플랫폼 구축",
        "해양 AI 인재 양성 센터",
        "해양 자율 무인체 시험장",
        "수산 스마트 양식 AI 실증",
        "해양 안전 AI 관제 시스템",
        "해양 AI 스타트업 캠퍼스",
        "해양 기상 예측 AI 서비스",
    ],
    "T04": [
        "제조 AX 실증 지원 센터",
        "공공 AI 파운데이션 모델 실증",
        "AI 반도체 실증 테스트베드",
        "산업단지 AX 전환 지원",
        "물류 AI 기술 모델 보급",
        "피지컬 AI 로봇 실증 단지",
        "지역 특화 AI 서비스 개발",
        "AI 데이터 센터 연계 산업 육성",
        "클라우드 기반 공공 서비스 전환",
    ],
    "T05": [
        "AI 창업 펀드 조성",
        "시민 AI 역량 강화 교육",
        "AI 융합 대학원 유치",
        "행정 AI 대전환",
        "디지털 헬스케어 AI 실증",
        "AI 기업 집적 단지 조성",
        "AI 인재 정주 지원",
        "AI 윤리 신뢰성 검증 센터",
        "지역 AI 협의체 운영",
    ],
    "T06": [
        "이차전지 소재 부품 클러스터",
        "전력 반도체 소재 실증 기반",
        "미래차 부품 전환 지원",
        "첨단 소재 시험 평가 센터",
        "수소 부품 공급망 구축",
        "소부장 특화단지 지정 추진",
        "세라믹 소재 고도화 센터",
        "정밀 기계 부품 고도화",
        "첨단 복합 소재 산업화",
    ],
    "T07": [
        "해상풍력 지원 항만 조성",
        "청정 수소 생산 기지 구축",
        "소형모듈원전(SMR) 부품 산업 육성",
        "에너지 저장 장치(ESS) 실증",
        "분산 에너지 특구 지정 추진",
        "탄소 포집 활용 실증",
        "에너지 자립 마을 확산",
        "수소 충전 인프라 확충",
        "재생에너지 기업 유치",
    ],
    "T08": [
        "남해안 해양 관광 벨트",
        "부산 국제 관광 도시 고도화",
        "크루즈 관광 활성화",
        "야간 관광 특화 도시",
        "마이스 복합 단지 조성",
    ],
    "T09": [
        "영상 콘텐츠 제작 스튜디오 단지",
        "K-팝 공연장 건립",
        "게임 산업 클러스터",
        "웹툰 창작 지원 센터",
        "실감 콘텐츠 체험관",
    ],
    "T10": [
        "에이지테크 실증 단지",
        "고령 친화 산업 지원 센터",
        "돌봄 로봇 실증",
        "시니어 헬스케어 플랫폼",
        "실버 산업 인재 양성",
    ],
}

SAMPLE_DEPARTMENTS = {
    "S1": ["해양농수산국", "해양항만과"],
    "S2": ["디지털경제실", "인공지능산업과"],
    "S3": ["첨단산업국", "에너지정책과"],
    "S4": ["관광마이스국", "문화체육국", "복지정책과"],
}

SAMPLE_ORGANIZATIONS = [
    ("부산항만공사", Organization.Kind.PUBLIC_AGENCY),
    ("한국해양과학기술원", Organization.Kind.RESEARCH),
    ("부산대학교", Organization.Kind.UNIVERSITY),
    ("부산정보산업진흥원", Organization.Kind.PUBLIC_AGENCY),
    ("부산테크노파크", Organization.Kind.PUBLIC_AGENCY),
    ("지역 조선 기자재 기업", Organization.Kind.COMPANY),
    ("지역 AI 선도 기업", Organization.Kind.COMPANY),
    ("부산관광공사", Organization.Kind.PUBLIC_AGENCY),
]

AGENCIES = {
    Milestone.Kind.NATIONAL_FUNDING: ["해양수산부", "과학기술정보통신부", "산업통상자원부", "문화체육관광부"],
    Milestone.Kind.PUBLIC_CONTEST: ["과학기술정보통신부", "산업통상자원부", "중소벤처기업부", "보건복지부"],
    Milestone.Kind.BUDGET_REFLECTION: ["기획재정부"],
    Milestone.Kind.FEASIBILITY_STUDY: ["기획재정부"],
    Milestone.Kind.AGREEMENT: ["해양수산부", "산업통상자원부", "문화체육관광부"],
    Milestone.Kind.LEGAL: ["국토교통부", "산업통상자원부"],
    Milestone.Kind.CONSTRUCTION: ["부산광역시"],
    Milestone.Kind.OTHER: ["부산광역시"],
}

MILESTONE_TITLES = {
    Milestone.Kind.NATIONAL_FUNDING: "{year}년 국비 신청서 제출",
    Milestone.Kind.PUBLIC_CONTEST: "정부 공모 사업계획서 제출",
    Milestone.Kind.BUDGET_REFLECTION: "{year}년 정부 예산안 반영",
    Milestone.Kind.FEASIBILITY_STUDY: "예비타당성조사 대상 선정",
    Milestone.Kind.AGREEMENT: "사업 협약 체결",
    Milestone.Kind.LEGAL: "특구·규제 특례 지정 신청",
    Milestone.Kind.CONSTRUCTION: "기본 설계 착수",
    Milestone.Kind.OTHER: "추진 협의체 구성",
}

DEMO_USERS = [
    # login name, role, 성명, 직위, 부서 (sample people are marked like sample projects)
    ("demo_admin", roles.ADMIN, "예시 관리자", "주무관", f"{SAMPLE_PREFIX} 미래전략기획과"),
    ("demo_tf_head", roles.TF_HEAD, "예시 TF 단장", "단장", f"{SAMPLE_PREFIX} 성장전략 TF"),
    ("demo_pm", roles.PROJECT_MANAGER, "예시 사업 담당자", "주무관", f"{SAMPLE_PREFIX} 해양정책과"),
    ("demo_viewer", roles.VIEWER, "예시 열람자", "사무관", f"{SAMPLE_PREFIX} 기획예산과"),
]


@dataclass
class DemoResult:
    projects_created: int = 0
    milestones_created: int = 0
    passwords: dict[str, str] = field(default_factory=dict)


def _split_evenly(total: int, parts: int, rng: random.Random) -> list[int]:
    """Split ``total`` into ``parts`` positive whole numbers of uneven size that add up to exactly ``total``."""
    weights = [rng.uniform(0.5, 2.0) for _ in range(parts)]
    scale = total / sum(weights)
    amounts = [max(1, int(weight * scale)) for weight in weights]
    amounts[-1] += total - sum(amounts)
    return amounts


def demo_users_ensure() -> dict[str, str]:
    """One sample user per role; returns the generated passwords of the users created now (shown once)."""
    User = get_user_model()
    passwords = {}
    for username, role, full_name, position, department in DEMO_USERS:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            if not Profile.objects.filter(user=existing).exists():
                profile_save(user=existing, name=full_name, position=position, department=department)
            continue
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=username,
            email=f"{username.replace('_', '-')}@example.com",
            password=password,
            first_name=full_name,
            is_staff=role == roles.ADMIN,
        )
        user.groups.add(Group.objects.get(name=role))
        profile_save(user=user, name=full_name, position=position, department=department)
        passwords[username] = password
    return passwords


HISTORY_WEEKS = 12
NOTE_SHARE = 0.85  # the share of sample projects that write a weekly note in a given week
RAG_MOVES = {
    # the next status of a note's project, by its status now: (on track, at risk, delayed, done, on hold) weights
    CoreProject.RagStatus.ON_TRACK: [88, 9, 2, 0.5, 0.5],
    CoreProject.RagStatus.AT_RISK: [35, 52, 11, 0, 2],
    CoreProject.RagStatus.DELAYED: [8, 34, 56, 0, 2],
    CoreProject.RagStatus.DONE: [0, 0, 0, 100, 0],
    CoreProject.RagStatus.ON_HOLD: [10, 0, 0, 0, 90],
}
NOTE_TEXTS = {
    CoreProject.RagStatus.ON_TRACK: [
        ("관계 부처 실무 협의를 진행했습니다.", "", "사업계획서 초안을 보완합니다."),
        ("협력기관과 추진 일정을 점검했습니다.", "", "다음 단계 서류를 준비합니다."),
        ("기본 계획 수립 용역이 순조롭게 진행 중입니다.", "", "중간 보고회를 준비합니다."),
    ],
    CoreProject.RagStatus.AT_RISK: [
        ("부처 검토 의견에 대응 자료를 준비했습니다.", "부처 검토가 길어지고 있습니다.", "보완 자료를 제출합니다."),
        (
            "민간 참여 기업과 분담 비율을 다시 협의했습니다.",
            "민자 분담 확약이 늦어지고 있습니다.",
            "확약서를 받습니다.",
        ),
    ],
    CoreProject.RagStatus.DELAYED: [
        ("공모 공고가 연기되어 일정을 다시 잡았습니다.", "정부 공모 일정이 미정입니다.", "부처와 일정을 협의합니다."),
        ("부지 확보 협의가 지연되고 있습니다.", "토지 소유자와 협의가 끝나지 않았습니다.", "대체 부지를 검토합니다."),
    ],
    CoreProject.RagStatus.DONE: [("사업을 마무리하고 성과를 정리했습니다.", "", "")],
    CoreProject.RagStatus.ON_HOLD: [("상위 계획 확정까지 보류 중입니다.", "", "재개 시점을 검토합니다.")],
}
RESCHEDULE_REASON = "관계 부처 일정 조정"


def _eok(amount: float) -> int:
    """A whole number of 억원, in won (documents round to 억)."""
    return max(1, round(amount / WON_PER_EOK)) * WON_PER_EOK


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def _save(instance, when: dt.datetime, user=None, reason: str | None = None, **kwargs) -> None:
    """Save as the app would have at ``when``: the history record carries that moment, person and reason."""
    instance._history_date = when
    instance._history_user = user
    instance._change_reason = reason
    instance.save(**kwargs)


@transaction.atomic
def demo_portfolio_create(*, plan: Plan, today: dt.date, seed: int = 2025) -> DemoResult:
    """Fill every strategy up to its announced project count and budget with sample projects, and give them twelve
    weeks of history: weekly notes, statuses that move, milestones achieved (with the amounts secured), slipped,
    rescheduled or missed, and the national-funding calendar of next year's budget.

    Categories are dealt so that the plan's totals (53 new / 15 upgraded / 3 expanded) hold. Everything is written
    as the app would have written it at the time (history dates, weeks of the notes), so the digests of the last
    twelve weeks and the dashboard's trends show what happened. Does nothing if the plan already has sample projects.
    """
    result = DemoResult(passwords=demo_users_ensure())
    if plan.projects.filter(is_sample=True).exists():
        return result

    rng = random.Random(seed)
    User = get_user_model()
    demo_pm = User.objects.get(username="demo_pm")
    demo_admin = User.objects.get(username="demo_admin")
    this_week = week_start(today)
    start = _at(this_week - dt.timedelta(weeks=HISTORY_WEEKS + 1), 9)
    organizations = [
        Organization.objects.get_or_create(name=f"{SAMPLE_PREFIX} {name}", defaults={"kind": kind})[0]
        for name, kind in SAMPLE_ORGANIZATIONS
    ]

    strategies = list(plan.strategies.prefetch_related("tasks", "tasks__projects"))
    existing = CoreProject.objects.filter(plan=plan)
    missing_by_category = {
        CoreProject.Category.NEW: plan.announced_new_count - existing.filter(category="new").count(),
        CoreProject.Category.UPGRADED: plan.announced_upgraded_count - existing.filter(category="upgraded").count(),
        CoreProject.Category.EXPANDED: plan.announced_expanded_count - existing.filter(category="expanded").count(),
    }
    categories = [category for category, count in missing_by_category.items() for _ in range(max(count, 0))]
    rng.shuffle(categories)

    kinds = list(Milestone.Kind)
    kind_cursor = 0
    projects: list[tuple[CoreProject, bool]] = []
    milestones: list[Milestone] = []
    for strategy in strategies:
        tasks = list(strategy.tasks.all())
        existing_projects = [project for task in tasks for project in task.projects.all()]
        missing = strategy.announced_project_count - len(existing_projects)
        if missing <= 0:
            continue
        departments = [
            Department.objects.get_or_create(name=f"{SAMPLE_PREFIX} {name}")[0]
            for name in SAMPLE_DEPARTMENTS.get(strategy.code, ["기획조정실"])
        ]
        decided = sum(project.budget_total or 0 for project in existing_projects)
        remaining_eok = (strategy.announced_budget - decided) // WON_PER_EOK
        budgets_eok = _split_evenly(remaining_eok, missing, rng)
        names_used = {task.code: 0 for task in tasks}
        for index in range(missing):
            task = tasks[index % len(tasks)]
            names = SAMPLE_NAMES.get(task.code, [task.name])
            name = names[names_used[task.code] % len(names)]
            names_used[task.code] += 1
            total = budgets_eok[index] * WON_PER_EOK
            national = total * rng.randint(40, 60) // 100
            city = total * rng.randint(20, 30) // 100
            start_year = rng.choice([2025, 2026, 2026, 2027])
            created = start + dt.timedelta(minutes=len(projects))
            project = CoreProject(
                task=task,
                code=f"{SAMPLE_CODE_PREFIX}{strategy.code}-{index + 2:02d}",
                name=f"{SAMPLE_PREFIX} {name}",
                category=categories.pop() if categories else CoreProject.Category.NEW,
                lead_department=rng.choice(departments),
                budget_total=total,
                budget_national=national,
                budget_city=city,
                budget_private=total - national - city if rng.random() < 0.5 else 0,
                start_year=start_year,
                end_year=start_year + rng.randint(2, 5),
                government_programme=rng.choice(["", "국정과제 연계", "지역 성장 거점 지원", "5극 3특 균형 성장"]),
                support_needs=sorted(rng.sample(CoreProject.Support.values, rng.randint(1, 3))),
                rag_status=rng.choices(CoreProject.RagStatus.values, weights=[78, 14, 4, 0, 4], k=1)[0],
                is_sample=True,
            )
            project.full_clean()
            _save(project, created, demo_admin)
            project.partners.set(rng.sample(organizations, rng.randint(1, 3)))
            is_pm_project = index < 2
            if is_pm_project:
                project.managers.add(demo_pm)
            projects.append((project, is_pm_project))
            result.projects_created += 1

            for _ in range(rng.randint(3, 6)):
                kind = kinds[kind_cursor % len(kinds)]
                kind_cursor += 1
                due_date = today + dt.timedelta(days=rng.randint(-80, 365))
                status = Milestone.Status.PLANNED
                if due_date < start.date() + dt.timedelta(days=45):
                    status = rng.choice([Milestone.Status.PLANNED, Milestone.Status.IN_PROGRESS])
                is_funding = kind in Milestone.FUNDING_KINDS
                milestone = Milestone(
                    project=project,
                    kind=kind,
                    title=MILESTONE_TITLES[kind].format(year=due_date.year + 1),
                    responsible_agency=rng.choice(AGENCIES[kind]),
                    due_date=due_date,
                    status=status,
                    amount_requested=_eok(national * rng.uniform(0.05, 0.2)) if is_funding and national else None,
                    owner=demo_pm if is_pm_project else None,
                )
                milestones.append(_milestone_create(milestone, created, demo_admin))
            if national and rng.random() < 0.35:
                milestones += _budget_calendar_create(
                    project, today=today, created=created, national=national, rng=rng, user=demo_admin
                )
            # This year's money, decided last December: what 국비 확보 counts before next year's calendar ends (its
            # own random stream, so the rest of the sample data stays as it was).
            last_year = random.Random(f"{project.code}:{today.year}")
            if national and last_year.random() < 0.3:
                milestones += _budget_calendar_create(
                    project,
                    today=today,
                    created=created,
                    national=national,
                    rng=last_year,
                    user=demo_admin,
                    fiscal_year=today.year,
                )
    result.milestones_created = len(milestones)
    _history_play(projects, milestones, this_week=this_week, rng=rng, demo_pm=demo_pm)
    return result


def _milestone_create(milestone: Milestone, when: dt.datetime, user) -> Milestone:
    """Kept in memory with the moment it was made; ``_history_play`` writes them all at once."""
    milestone._history_date, milestone._history_user, milestone._change_reason = when, user, None
    return milestone


def _milestone_record(milestone: Milestone, when: dt.datetime, user, reason: str | None = None) -> Milestone:
    """A change to a milestone at ``when``, as its save would have recorded it (version up, a history record)."""
    milestone.version += 1
    snapshot = copy.copy(milestone)
    snapshot._history_date, snapshot._history_user, snapshot._change_reason = when, user, reason
    return snapshot


def _budget_calendar_create(
    project: CoreProject,
    *,
    today: dt.date,
    created: dt.datetime,
    national: int,
    rng: random.Random,
    user,
    fiscal_year: int | None = None,
) -> list[Milestone]:
    """A fiscal year's national-funding steps (next year's unless ``fiscal_year``) as the template writes them
    (부처 신청 15 Apr → 부처 요구 31 May → 정부안 3 Sep → 국회 의결 2 Dec of the year before it); steps already past
    when the history starts are settled, each passing on part of what was asked to the next."""
    year = fiscal_year or today.year + 1
    steps_in = year - 1  # every step falls in the year before the fiscal year
    steps = [
        (f"{year}년 국비: 시 → 소관 부처 국비 신청", Milestone.Kind.NATIONAL_FUNDING, dt.date(steps_in, 4, 15)),
        (
            f"{year}년 국비: 소관 부처 예산 요구 (기획재정부 제출)",
            Milestone.Kind.BUDGET_REFLECTION,
            dt.date(steps_in, 5, 31),
        ),
        (f"{year}년 국비: 정부 예산안 반영 (국회 제출)", Milestone.Kind.BUDGET_REFLECTION, dt.date(steps_in, 9, 3)),
        (f"{year}년 국비: 국회 예산안 의결 (국비 확정)", Milestone.Kind.BUDGET_REFLECTION, dt.date(steps_in, 12, 2)),
    ]
    asked = _eok(national * rng.uniform(0.15, 0.35))
    created_milestones = []
    for title, kind, due in steps:
        milestone = Milestone(
            project=project,
            kind=kind,
            title=title,
            responsible_agency="기획재정부" if kind == Milestone.Kind.BUDGET_REFLECTION else "해양수산부",
            due_date=previous_working_day(due),
            amount_requested=asked,
            notes="국비 확보 (회계연도 예산 일정) 템플릿",
        )
        settled = milestone.due_date < created.date()
        if settled and rng.random() < 0.12:
            milestone.status = Milestone.Status.MISSED
            created_milestones.append(_milestone_create(milestone, created, user))
            break  # a step that failed ends the year's calendar
        if settled:
            milestone.status = Milestone.Status.ACHIEVED
            milestone.completed_on = milestone.due_date
            milestone.amount_secured = _eok(asked * rng.uniform(0.7, 1.0))
            asked = milestone.amount_secured
        created_milestones.append(_milestone_create(milestone, created, user))
    return created_milestones


def _history_play(projects, milestones: list[Milestone], *, this_week: dt.date, rng: random.Random, demo_pm) -> None:
    """Twelve weeks as they happened, oldest first: milestones started, achieved, slipped or missed on their due
    dates, late ones caught up, and a weekly note (which sets the project's status) from most projects.

    Milestones and notes are written in bulk with one history record per change, each dated when it happened."""
    Milestone.objects.bulk_create(milestones, batch_size=500)
    Milestone.history.bulk_history_create(milestones, batch_size=500)
    by_project: dict[int, list[Milestone]] = {}
    for milestone in milestones:
        by_project.setdefault(milestone.project_id, []).append(milestone)
    changes: list[Milestone] = []
    notes: list[ProgressUpdate] = []
    for weeks_ago in range(HISTORY_WEEKS, 0, -1):
        monday = this_week - dt.timedelta(weeks=weeks_ago)
        week_end = monday + dt.timedelta(days=7)
        for project, is_pm_project in projects:
            for milestone in by_project.get(project.pk, []):
                if not milestone.is_open:
                    continue
                starts_soon = milestone.due_date < week_end + dt.timedelta(days=30)
                if milestone.status == Milestone.Status.PLANNED and starts_soon and rng.random() < 0.5:
                    milestone.status = Milestone.Status.IN_PROGRESS
                    changes.append(_milestone_record(milestone, _at(monday, 10), demo_pm))
                if milestone.due_date < monday:  # overdue: caught up late now and then
                    if rng.random() < 0.3:
                        changes.append(_achieve(milestone, monday + dt.timedelta(days=2), rng, demo_pm))
                elif milestone.due_date < week_end:
                    changes += _settle_on_due_date(milestone, rng, demo_pm)
            if is_pm_project or rng.random() < NOTE_SHARE:
                notes.append(_note_write(project, monday, rng, demo_pm))
    Milestone.objects.bulk_update(
        milestones, ["status", "completed_on", "due_date", "amount_secured", "version"], batch_size=500
    )
    Milestone.history.bulk_history_create(changes, batch_size=500, update=True)
    ProgressUpdate.objects.bulk_create(notes, batch_size=500)
    ProgressUpdate.history.bulk_history_create(notes, batch_size=500)
    for weeks_ago in range(HISTORY_WEEKS, 0, -1):
        monday = this_week - dt.timedelta(weeks=weeks_ago)
        written = _at(monday + dt.timedelta(days=4), 17)
        ProgressUpdate.objects.filter(week_start=monday, project__is_sample=True).update(
            created_at=written, updated_at=written
        )


def _achieve(milestone: Milestone, day: dt.date, rng: random.Random, user) -> Milestone:
    milestone.status = Milestone.Status.ACHIEVED
    milestone.completed_on = day
    if milestone.is_funding and milestone.amount_requested:
        milestone.amount_secured = _eok(milestone.amount_requested * rng.uniform(0.6, 1.0))
    return _milestone_record(milestone, _at(day, 16), user)


def _settle_on_due_date(milestone: Milestone, rng: random.Random, user) -> list[Milestone]:
    """On its due date a milestone is achieved (most), moved with a reason, missed, or left open (then overdue)."""
    roll = rng.random()
    if roll < 0.62:
        return [_achieve(milestone, milestone.due_date, rng, user)]
    if roll < 0.77:
        day = milestone.due_date
        milestone.due_date = previous_working_day(day + dt.timedelta(days=rng.choice([14, 21, 28])))
        return [_milestone_record(milestone, _at(day, 11), user, RESCHEDULE_REASON)]
    if roll < 0.84:
        milestone.status = Milestone.Status.MISSED
        return [_milestone_record(milestone, _at(milestone.due_date, 18), user)]
    return []


def _note_write(project: CoreProject, monday: dt.date, rng: random.Random, author) -> ProgressUpdate:
    """A Friday note; its status becomes the project's, recorded with the reason the workspace gives."""
    when = _at(monday + dt.timedelta(days=4), 17, rng.randint(0, 59))
    status = rng.choices(CoreProject.RagStatus.values, weights=RAG_MOVES[project.rag_status], k=1)[0]
    summary, blockers, next_steps = rng.choice(NOTE_TEXTS[status])
    note = ProgressUpdate(
        project=project,
        week_start=monday,
        author=author,
        summary=summary,
        blockers=blockers,
        next_steps=next_steps,
        rag_status=status,
    )
    note._history_date, note._history_user, note._change_reason = when, author, None
    if project.rag_status != status:
        project.rag_status = status
        _save(project, when, author, "주간 진행 보고", update_fields=["rag_status", "updated_at"])
    return note
