"""The municipality privacy rules, one by one."""

import pytest

from ruilkring.municipality import privacy


@pytest.mark.parametrize(("n", "shown"), [(0, "<5"), (1, "<5"), (4, "<5"), (5, "5"), (7, "5"), (8, "10"),
                                          (12, "10"), (13, "15"), (100, "100"), (102, "100")])
def test_person_counts_are_suppressed_below_five_and_rounded_to_five(n, shown):
    assert privacy.person_count(n) == shown


def test_percentages_need_a_denominator_of_twenty():
    assert privacy.percentage(3, 19) == "–"
    assert privacy.percentage(3, 20) == "15%"
    assert privacy.share(0.456, 25) == "46%"
    assert privacy.share(0.456, 10) == "–" and privacy.share(None, 50) == "–"


def test_one_hidden_cell_with_a_total_hides_the_next_smallest_too():
    cells, total = privacy.person_table([("Noord", 3), ("Zuid", 40), ("Oost", 12)], total=55)
    assert [c.display for c in cells] == ["<5", "40", "<5"]
    assert total == "55"


def test_cells_can_be_hidden_on_purpose_and_still_count_for_the_next_smallest_rule():
    cells, _ = privacy.person_table([("Noord", 30), ("Zuid", 40), ("Oost", 12)], total=82, also_hide={0})
    assert [c.display for c in cells] == ["<5", "40", "<5"]


def test_without_a_total_or_with_two_hidden_cells_nothing_more_is_hidden():
    cells, total = privacy.person_table([("Noord", 3), ("Zuid", 40), ("Oost", 12)])
    assert [c.display for c in cells] == ["<5", "40", "10"] and total is None
    cells, _ = privacy.person_table([("Noord", 3), ("Zuid", 2), ("Oost", 12)], total=17)
    assert [c.display for c in cells] == ["<5", "<5", "10"]


def test_small_rings_are_merged():
    rows = [("Groot", 30, {"trades": 100}), ("Klein", 8, {"trades": 9}), ("Mini", 15, {"trades": 20})]
    assert privacy.merge_small_groups(rows, "Overige kringen") == [
        ("Groot", {"trades": 100}), ("Overige kringen", {"trades": 29})]
    big = [("Groot", 30, {"t": 1}), ("Groter", 50, {"t": 3})]
    assert privacy.merge_small_groups(big, "Overige") == [("Groot", {"t": 1}), ("Groter", {"t": 3})]


def test_a_still_small_merge_takes_in_the_smallest_ring_shown():
    """Dropping a small ring would not hide it: the gemeente's total minus the rows shown
    would give its figures. So the smallest ring shown joins it instead."""
    rows = [("Groot", 30, {"t": 1}), ("Middel", 25, {"t": 4}), ("Klein", 8, {"t": 2})]
    assert privacy.merge_small_groups(rows, "Overige") == [("Groot", {"t": 1}), ("Overige", {"t": 6})]
    # With two rings, one of them small, only the gemeente's total is left.
    assert privacy.merge_small_groups([("Groot", 30, {"t": 1}), ("Klein", 8, {"t": 2})], "Overige") == []
    assert privacy.merge_small_groups([("Klein", 8, {"t": 2}), ("Mini", 3, {"t": 1})], "Overige") == []


def test_care_categories_are_merged():
    rows = [("Zorg", True, 3, 180), ("Mantelzorg", True, 2, 60), ("Tuin", False, 10, 600)]
    assert sorted(privacy.merge_care_categories(rows, "Zorg en gezondheid")) == [
        ("Tuin", 10, 600), ("Zorg en gezondheid", 5, 240)]
