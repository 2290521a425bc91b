"""Money as Korean public documents show it: amounts are stored in won and shown in 억원 (10^8 won)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

WON_PER_EOK = 100_000_000
EOK_PER_JO = 10_000
MAX_EOK = Decimal("90000000")  # 900조 원: more than any budget; keeps the amount inside a 64-bit integer of won


def won_to_eok(won: int) -> Decimal:
    """An amount in 억원, rounded to two decimals (1억 원 = 100,000,000 원)."""
    return (Decimal(won) / WON_PER_EOK).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def eok_to_won(eok: Decimal | int | str) -> int:
    return int((Decimal(eok) * WON_PER_EOK).to_integral_value(rounding=ROUND_HALF_UP))


def _eok_number(eok: Decimal) -> str:
    text = f"{eok:,.2f}".rstrip("0").rstrip(".")
    return text


def format_eok(won: int | None, *, with_jo: bool = True, undecided: str = "미정") -> str:
    """'1조 9,270억 원' (with_jo) or '19,270억 원'; '미정' for an undecided amount."""
    if won is None:
        return undecided
    eok = won_to_eok(won)
    if not with_jo or eok < EOK_PER_JO:
        return f"{_eok_number(eok)}억 원"
    jo, rest = divmod(eok, EOK_PER_JO)
    if rest == 0:
        return f"{int(jo):,}조 원"
    return f"{int(jo):,}조 {_eok_number(rest)}억 원"
