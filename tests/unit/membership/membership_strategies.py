"""Strategies the membership unit tests share."""

from datetime import date

from hypothesis import strategies as st

from membership.domain.id_number import check_character


@st.composite
def id_numbers(draw) -> str:
    """Valid 18-character identity numbers: region, birth date, sequence, check character."""
    region = draw(st.sampled_from(["420102", "420103", "420106", "110105", "440305"]))
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2010, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
