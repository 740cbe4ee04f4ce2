"""The privacy rules for everything a municipality sees (DESIGN section 5).

1. Fixed, precomputed tables; no free filters.
2. A person count below 5 shows as "<5"; other person counts are rounded to 5.
3. A percentage only when its denominator is 20 or more.
4. If a total is shown and exactly one cell of it is hidden, the next smallest cell is
   hidden too (otherwise it could be worked out from the total).
5. Quarterly figures; a ring with fewer than 20 active members is merged with the others
   or shown only at gemeente level (never so that the gemeente's total minus the rows
   shown gives it away).
6. No names, no network maps, no microdata, no top lists.
7. Care and health categories are merged into one group.

Every figure on a municipality page or export goes through this module; its functions
return display values (strings), never the raw count.
"""

from dataclasses import dataclass

SMALL = 5
ROUND_TO = 5
MIN_DENOMINATOR = 20
MIN_ACTIVE_FOR_OWN_ROW = 20
HIDDEN = "<5"
NO_PERCENT = "–"


def person_count(n: int) -> str:
    """Rule 2: "<5" below five, else rounded to the nearest five."""
    if n < SMALL:
        return HIDDEN
    return str(int(ROUND_TO * round(n / ROUND_TO)) or ROUND_TO)


def percentage(numerator: int | float, denominator: int) -> str:
    """Rule 3: a whole percentage, only when the denominator is twenty or more."""
    if denominator < MIN_DENOMINATOR:
        return NO_PERCENT
    return f"{round(100 * numerator / denominator)}%"


def share(value: float | None, denominator: int) -> str:
    """A share already computed (e.g. bridging), under the same denominator rule."""
    if value is None or denominator < MIN_DENOMINATOR:
        return NO_PERCENT
    return f"{round(100 * value)}%"


@dataclass
class SafeCell:
    label: str
    display: str


def person_table(cells: list[tuple[str, int]], total: int | None = None,
                 also_hide: set[int] | frozenset[int] = frozenset()) -> tuple[list[SafeCell], str | None]:
    """Rules 2 and 4 for one row of person counts that add up to ``total``.

    Cells below five are hidden, and so are the cells at the indexes ``also_hide`` (e.g.
    the active members of a group whose number of members is hidden: a larger number next
    to "<5" would give a bound away). If that hides exactly one cell while the total is
    shown, the next smallest cell is hidden as well.
    """
    hidden = {index for index, (_, n) in enumerate(cells) if n < SMALL} | set(also_hide)
    if total is not None and len(hidden) == 1 and len(cells) > 1:
        visible = sorted((n, index) for index, (_, n) in enumerate(cells) if index not in hidden)
        hidden.add(visible[0][1])
    result = [SafeCell(label, HIDDEN if index in hidden else person_count(n))
              for index, (label, n) in enumerate(cells)]
    return result, (person_count(total) if total is not None else None)


def merge_small_groups(rows: list[tuple[str, int, dict]], other_label: str,
                       minimum: int = MIN_ACTIVE_FOR_OWN_ROW) -> list[tuple[str, dict]]:
    """Rule 5: rows whose active count is below ``minimum`` are merged into one row
    (``other_label``). The rows shown always cover everything in the gemeente's total,
    since what they left out would be the total minus the rows: while the merged row is
    still too small, the smallest row shown joins it. If no row is left on its own, none
    is returned: the figures appear only in the gemeente's total."""
    kept = sorted(((active, index, label, figures) for index, (label, active, figures) in enumerate(rows)
                   if active >= minimum), key=lambda row: (-row[0], row[1]))
    small = [(active, figures) for label, active, figures in rows if active < minimum]
    while small and sum(active for active, _ in small) < minimum and kept:
        active, _index, _label, figures = kept.pop()  # the smallest row shown
        small.append((active, figures))
    if not kept:
        return []
    result = [(label, figures) for _active, _index, label, figures in sorted(kept, key=lambda row: row[1])]
    if small:
        merged: dict = {}
        for _active, figures in small:
            for key, value in figures.items():
                merged[key] = merged.get(key, 0) + value
        result.append((other_label, merged))
    return result


def merge_care_categories(rows: list[tuple[str, bool, int, int]], care_label: str) -> list[tuple[str, int, int]]:
    """Rule 7: all care and health categories become one group."""
    result: dict[str, list[int]] = {}
    for name, care, trades, minutes in rows:
        key = care_label if care else (name or "")
        totals = result.setdefault(key, [0, 0])
        totals[0] += trades
        totals[1] += minutes
    return [(name, trades, minutes) for name, (trades, minutes) in result.items()]
