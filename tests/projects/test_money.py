"""Money reads the way Korean public documents write it: stored in won, shown in 억원 (and 조 above 1만 억)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projects.money import WON_PER_EOK, eok_to_won, format_eok, won_to_eok


@pytest.mark.parametrize(
    ("won", "shown"),
    [
        (1_927_000_000_000, "1조 9,270억 원"),  # strategy 1's announced budget
        (782_400_000_000, "7,824억 원"),  # strategy 2's
        (10**12, "1조 원"),
        (150_000_000, "1.5억 원"),
        (0, "0억 원"),
        (None, "미정"),
    ],
)
def test_it_shows_an_amount_in_jo_and_eok(won, shown):
    assert format_eok(won) == shown


def test_it_can_show_a_large_amount_in_eok_alone():
    assert format_eok(1_927_000_000_000, with_jo=False) == "19,270억 원"
    assert format_eok(10**12, with_jo=False) == "10,000억 원"


def test_an_amount_in_eok_becomes_whole_won():
    assert eok_to_won(48_882) == 4_888_200_000_000
    assert eok_to_won("0.5") == 50_000_000
    assert eok_to_won(Decimal("19270")) == 1_927_000_000_000
    assert won_to_eok(1_927_000_000_000) == Decimal("19270.00")


@given(st.integers(min_value=0, max_value=10**9))
def test_an_amount_of_whole_hundredths_of_an_eok_survives_the_round_trip(hundredths):
    """0.01억 원 (1,000,000 원) is the finest amount a screen shows, so these convert both ways unchanged."""
    eok = Decimal(hundredths) / 100
    won = eok_to_won(eok)
    assert won == hundredths * WON_PER_EOK // 100
    assert won_to_eok(won) == eok
    assert eok_to_won(won_to_eok(won)) == won
