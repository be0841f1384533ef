"""Every T x N x M combination of the AJCC/UICC 8th edition against the published table.

Oracle: Amin MB et al., eds. AJCC Cancer Staging Manual, 8th ed. Springer, 2017, chapter 9
(Nasopharynx), "AJCC Prognostic Stage Groups":

    T1 N0 M0 -> I;  T1,T0 N1 M0 -> II;  T2 N0 M0 -> II;  T2 N1 M0 -> II;
    T1,T0 N2 M0 -> III;  T2 N2 M0 -> III;  T3 N0/N1/N2 M0 -> III;
    T4 N0/N1/N2 M0 -> IVA;  Any T N3 M0 -> IVA;  Any T Any N M1 -> IVB.

Each of the 40 combinations is written out below by hand from that table (not generated from
the production table). T0 N0 has no stage: T0 is defined as "no tumour identified, but
EBV-positive cervical node(s) involvement", which contradicts N0.
"""

from __future__ import annotations

import pytest

from npc_desktop.core.tnm import TnmError, UnstageableError, assess_categories, get_edition

PUBLISHED_8TH = """
T0 N0 M0 -
T0 N1 M0 II
T0 N2 M0 III
T0 N3 M0 IVA
T1 N0 M0 I
T1 N1 M0 II
T1 N2 M0 III
T1 N3 M0 IVA
T2 N0 M0 II
T2 N1 M0 II
T2 N2 M0 III
T2 N3 M0 IVA
T3 N0 M0 III
T3 N1 M0 III
T3 N2 M0 III
T3 N3 M0 IVA
T4 N0 M0 IVA
T4 N1 M0 IVA
T4 N2 M0 IVA
T4 N3 M0 IVA
T0 N0 M1 -
T0 N1 M1 IVB
T0 N2 M1 IVB
T0 N3 M1 IVB
T1 N0 M1 IVB
T1 N1 M1 IVB
T1 N2 M1 IVB
T1 N3 M1 IVB
T2 N0 M1 IVB
T2 N1 M1 IVB
T2 N2 M1 IVB
T2 N3 M1 IVB
T3 N0 M1 IVB
T3 N1 M1 IVB
T3 N2 M1 IVB
T3 N3 M1 IVB
T4 N0 M1 IVB
T4 N1 M1 IVB
T4 N2 M1 IVB
T4 N3 M1 IVB
"""
ROWS = [tuple(line.split()) for line in PUBLISHED_8TH.strip().splitlines()]


def test_the_written_table_covers_every_combination_once() -> None:
    combos = [(t, n, m) for t, n, m, _ in ROWS]
    assert len(combos) == len(set(combos)) == 5 * 4 * 2


@pytest.mark.parametrize(("t", "n", "m", "stage"), [r for r in ROWS if r[3] != "-"])
def test_stage_group_matches_the_published_table(t: str, n: str, m: str, stage: str) -> None:
    assessment = assess_categories(t, n, m, edition=8)
    assert assessment.stage == stage
    assert assessment.reasons[-1].startswith(f"Stage {stage}: {t} {n} {m} is in the row")


@pytest.mark.parametrize(("t", "n", "m"), [r[:3] for r in ROWS if r[3] == "-"])
def test_t0_n0_is_refused_with_one_line(t: str, n: str, m: str) -> None:
    with pytest.raises(UnstageableError) as caught:
        assess_categories(t, n, m)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{t} {n} {m} cannot be staged") and "N1, N2 or N3" in message


@pytest.mark.parametrize(("axis", "args"), [("T", ("T5", "N0", "M0")), ("N", ("T1", "N4", "M0")),
                                           ("M", ("T1", "N0", "MX")), ("T", ("Tis", "N0", "M0"))])
def test_unknown_category_names_the_axis(axis: str, args: tuple[str, str, str]) -> None:
    with pytest.raises(TnmError) as caught:
        assess_categories(*args)
    assert caught.value.field == axis and "AJCC/UICC 8th edition" in str(caught.value)


def test_categories_are_read_without_regard_to_case() -> None:
    assert assess_categories("t4", "n0", "m0").summary_dict()["t"] == "T4"


def test_unknown_edition_is_refused() -> None:
    with pytest.raises(TnmError) as caught:
        get_edition(9)
    assert caught.value.field == "edition" and "8 (AJCC/UICC 8th edition)" in str(caught.value)


def test_iii_and_iva_differ_only_by_t4_or_n3() -> None:
    """The line the product is about: stage IVA differs from III only by T4 or N3 (M0)."""
    for t, n, m, stage in ROWS:
        if m == "M0" and stage in ("III", "IVA"):
            assert (stage == "IVA") == (t == "T4" or n == "N3"), (t, n, m, stage)
