from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.wareki import WarekiError, age_on, format_wareki, parse_date


@pytest.mark.parametrize(
    "text",
    [
        "昭和15年3月2日",
        "昭和１５年３月２日",
        "S15.3.2",
        "s15/3/2",
        "Ｓ１５．３．２",
        "昭15-3-2",
        "㍼15年3月2日",
        "1940-03-02",
        "1940/3/2",
        "1940年3月2日",
        "19400302",
        "１９４０－０３－０２",
        " 1940-3-2 ",
    ],
)
def test_accepts_the_ways_clerks_type_a_date(text):
    assert parse_date(text) == date(1940, 3, 2)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("T15.12.24", date(1926, 12, 24)),
        ("M45.7.29", date(1912, 7, 29)),
    ],
)
def test_era_boundaries(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text,code",
    [
        ("昭和65年1月1日", "out_of_era"),
        ("昭和64年1月8日", "out_of_era"),  # that day was already 平成元年
        ("平成31年5月1日", "out_of_era"),
        ("令和元年4月30日", "out_of_era"),
        ("昭和0年1月1日", "out_of_era"),
        ("1940-02-30", "invalid_day"),
        ("昭和15年13月1日", "invalid_day"),
        ("きのう", "unreadable"),
        ("", "empty"),
        ("X15.3.2", "unreadable"),
    ],
)
def test_refuses_with_a_reason(text, code):
    with pytest.raises(WarekiError) as exc:
        parse_date(text)
    assert exc.value.code == code


@given(st.dates(min_value=date(1868, 1, 1), max_value=date(2100, 12, 31)))
def test_formatting_round_trips(d):
    assert parse_date(format_wareki(d)) == d


@given(st.text(max_size=40))
def test_never_raises_anything_but_wareki_error(text):
    try:
        parse_date(text)
    except WarekiError:
        pass


def test_age_counts_completed_years_and_leap_days():
    assert age_on(date(1960, 2, 29), date(2025, 2, 28)) == 64
    assert age_on(date(1960, 2, 29), date(2025, 3, 1)) == 65
    assert age_on(date(1961, 4, 1), date(2026, 4, 1)) == 65
    assert format_wareki(date(1989, 1, 8)) == "平成元年1月8日"
