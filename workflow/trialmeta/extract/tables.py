"""Candidates from per-patient tables (one row per patient, columns named by the lexicon), and the
record of every table read."""

from __future__ import annotations

import re

from trialmeta.extract.candidate import FORM_CONFIDENCE, Candidate
from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.reading import Table


def is_per_patient(table: Table) -> bool:
    if len(table.rows) < 3:
        return False
    first_header = (table.rows[0][0] or "").strip().lower()
    return bool(re.match(r"(patients?|pt|case|no\.?|id|#|upn)\b", first_header))


def candidates_from_tables(tables: tuple[Table, ...], lexicon: Lexicon, order_start: int) -> list[Candidate]:
    """Counts from per-patient tables: one row per patient, columns named by the lexicon."""
    out = []
    for index, table in enumerate(tables):
        if not is_per_patient(table):
            continue
        header, *rows = table.rows
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        total = len(rows)
        order = order_start + index
        caption = f"{table.caption}: " if table.caption else ""

        def make(endpoint, events, column, rule, cells, _order=order):
            return Candidate(
                endpoint=endpoint, landmark_months=None, events=events, total=total,
                estimate=None if events is None else events / total, ci_low=None, ci_high=None, se=None, percent_printed=None,
                page=table.page, line=None, bbox=table.bbox,
                quote=f"{caption}column '{column}' over {total} patients: " + "; ".join(cells),
                rule=rule, confidence=FORM_CONFIDENCE["table"], context=(), order=_order,
            )

        out.append(make("n_treated", None, header[0], "table:per_patient_rows", [row[0] for row in rows]))
        for spec in lexicon.table_columns:
            found = _table_column(spec, header, rows)
            if found is None:
                continue
            name, cells, events = found
            if spec.grade:
                terms = lexicon.endpoint(spec.endpoint)
                out.append(make(spec.endpoint, sum(g >= 1 for g in events), name, "table:grade_column", cells))
                if terms.grade_split:
                    out.append(make(terms.grade_split, sum(g >= 3 for g in events), name, "table:grade_column", cells))
            else:
                rule = "table:category_column" if events else "table:category_column_none"
                out.append(make(spec.endpoint, events, name, rule, cells))
    return out


def _table_column(spec, header, rows):
    """(header, cells, grades or event count) of the first usable column, header phrases in priority order.

    A grade column must hold a grade in every row; a category column must have
    at least one cell matching `positive` ("MRD status" holding disease types
    is passed over for "MRD at day 28" holding the responses). When no column
    has one, the first column filled in every row says that no patient had
    the event ("Outcome" listing only continuing remissions: no relapse).
    """
    without_events = None
    for phrase in spec.header:
        for col, name in enumerate(header):
            if not name or not phrase.search(name):
                continue
            cells = [row[col] if col < len(row) else "" for row in rows]
            if spec.grade:
                grades = [_grade_number(cell) for cell in cells]
                if all(g is not None for g in grades):
                    return name, cells, grades
            elif spec.positive is not None:
                events = sum(bool(spec.positive.search(cell)) for cell in cells)
                if events:
                    return name, cells, events
                if without_events is None and all(cell.strip() for cell in cells):
                    without_events = (name, cells, 0)
    return without_events


def _grade_number(cell: str) -> int | None:
    cell = cell.strip()
    roman = {"0": 0, "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "none": 0, "no": 0, "-": 0, "–": 0}
    if cell.isdigit():
        return int(cell)
    return roman.get(cell.lower())


def table_record(table: Table) -> dict:
    """A table as read: page, box, header cells and body rows (for patient-level data downstream)."""
    header, *rows = table.rows if table.rows else ((),)
    return {
        "page": table.page,
        "bbox": None if table.bbox is None else [round(v, 2) for v in table.bbox],
        "caption": table.caption,
        "header": list(header),
        "rows": [list(row) for row in rows],
    }
