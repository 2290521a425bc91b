"""Sample data (예시) that fills the announced plan out to 71 projects, for demonstrations and training.

Everything made here is marked: project, department and organization names start with ``[예시]``,
projects carry ``is_sample``, codes start with ``DEMO-``, users are ``demo_*``. The plan's own rows are
never touched.
"""

from __future__ import annotations

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
from tracker.dates import week_start

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


@transaction.atomic
def demo_portfolio_create(*, plan: Plan, today: dt.date, seed: int = 2025) -> DemoResult:
    """Fill every strategy up to its announced project count and budget with sample projects.

    Categories are dealt so that the plan's totals (53 new / 15 upgraded / 3 expanded) hold; milestones of
    every kind are spread over the twelve months around ``today`` (some overdue, some achieved).
    Does nothing if the plan already has sample projects.
    """
    result = DemoResult(passwords=demo_users_ensure())
    if plan.projects.filter(is_sample=True).exists():
        return result

    rng = random.Random(seed)
    User = get_user_model()
    demo_pm = User.objects.get(username="demo_pm")
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
                rag_status=rng.choices(CoreProject.RagStatus.values, weights=[60, 20, 10, 3, 7], k=1)[0],
                is_sample=True,
            )
            project.full_clean()
            project.save()
            project.partners.set(rng.sample(organizations, rng.randint(1, 3)))
            is_pm_project = index < 2
            if is_pm_project:
                project.managers.add(demo_pm)
            result.projects_created += 1

            for _ in range(rng.randint(3, 6)):
                kind = kinds[kind_cursor % len(kinds)]
                kind_cursor += 1
                due_date = today + dt.timedelta(days=rng.randint(-90, 365))
                status = Milestone.Status.PLANNED
                completed_on = None
                if due_date < today:
                    status = rng.choice(
                        [Milestone.Status.ACHIEVED, Milestone.Status.ACHIEVED, Milestone.Status.IN_PROGRESS]
                    )
                    if status == Milestone.Status.ACHIEVED:
                        completed_on = due_date - dt.timedelta(days=rng.randint(0, 10))
                elif due_date < today + dt.timedelta(days=60):
                    status = rng.choice([Milestone.Status.PLANNED, Milestone.Status.IN_PROGRESS])
                is_funding = kind in (Milestone.Kind.NATIONAL_FUNDING, Milestone.Kind.PUBLIC_CONTEST)
                requested = national if is_funding else None
                milestone = Milestone(
                    project=project,
                    kind=kind,
                    title=MILESTONE_TITLES[kind].format(year=due_date.year + 1),
                    responsible_agency=rng.choice(AGENCIES[kind]),
                    due_date=due_date,
                    status=status,
                    completed_on=completed_on,
                    amount_requested=requested,
                    amount_secured=requested if requested and status == Milestone.Status.ACHIEVED else None,
                    owner=demo_pm if is_pm_project else None,
                )
                milestone.full_clean()
                milestone.save()
                result.milestones_created += 1

            if is_pm_project:
                ProgressUpdate.objects.create(
                    project=project,
                    week_start=week_start(today) - dt.timedelta(days=7),
                    author=demo_pm,
                    summary="관계 부처 실무 협의를 진행했습니다.",
                    next_steps="사업계획서 초안을 보완합니다.",
                    rag_status=project.rag_status,
                )
    return result
