"""Writes that have a rule. Views, the admin, importers, commands and tasks all call these."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.db import models, transaction

from projects.models import CoreProject, Plan, Strategy, Task
from projects.money import eok_to_won

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
PLAN_SEED_FILE = SEEDS_DIR / "busan-2025.json"


def _upsert(model: type[models.Model], *, lookup: dict[str, Any], values: dict[str, Any], tally: Counter):
    """Create the row, or update only the fields that differ, so that an unchanged row is not saved again."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        tally["created"] += 1
        return obj
    changed = [field for field, value in values.items() if getattr(obj, field) != value]
    if changed:
        for field in changed:
            setattr(obj, field, values[field])
        obj.full_clean()
        obj.save()
        tally["updated"] += 1
    else:
        tally["unchanged"] += 1
    return obj


@transaction.atomic
def plan_load_seed(*, path: Path = PLAN_SEED_FILE) -> tuple[Plan, Counter]:
    """Load the plan as announced (strategies, tasks, flagship projects); a second run changes nothing."""
    data = json.loads(path.read_text(encoding="utf-8"))
    tally: Counter = Counter()
    plan_data = dict(data["plan"])
    plan_data["adopted_on"] = dt.date.fromisoformat(plan_data["adopted_on"])
    plan = _upsert(Plan, lookup={"code": plan_data.pop("code")}, values=plan_data, tally=tally)

    for strategy_data in data["strategies"]:
        strategy = _upsert(
            Strategy,
            lookup={"plan": plan, "code": strategy_data["code"]},
            values={
                "order": strategy_data["order"],
                "name": strategy_data["name"],
                "name_en": strategy_data["name_en"],
                "announced_project_count": strategy_data["announced_project_count"],
                "announced_budget": eok_to_won(strategy_data["announced_budget_eok"]),
            },
            tally=tally,
        )
        tasks = {}
        for order, task_data in enumerate(strategy_data["tasks"], start=1):
            tasks[task_data["code"]] = _upsert(
                Task,
                lookup={"strategy": strategy, "code": task_data["code"]},
                values={
                    "order": order,
                    "name": task_data["name"],
                    "name_en": task_data["name_en"],
                    "is_inferred": task_data["inferred"],
                },
                tally=tally,
            )
        flagship = strategy_data["flagship"]
        _upsert(
            CoreProject,
            lookup={"plan": plan, "code": flagship["code"]},
            values={
                "task": tasks[flagship["task"]],
                "name": flagship["name"],
                "name_en": flagship["name_en"],
                "category": flagship["category"],
                "is_flagship": True,
            },
            tally=tally,
        )
    return plan, tally
