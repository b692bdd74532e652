"""Plain-language explanation of a selection: what it means, reads, may do, and its SQL."""

from __future__ import annotations

import textwrap

from pipelines.select.catalogue import HOUSEHOLD, Catalogue, shipped
from pipelines.select.selections import Criterion, LoadedSelection
from privacy.dpia import DpiaRules

OP_NL = {"=": "is", "!=": "is niet", "<": "kleiner dan", "<=": "ten hoogste", ">": "groter dan", ">=": "ten minste",
         "in": "is een van", "between": "ligt tussen", "is_set": "is ingevuld"}


def _value(v) -> str:
    if isinstance(v, bool):
        return "ja" if v else "nee"
    if isinstance(v, list):
        return " en ".join(str(x) for x in v) if len(v) == 2 and not isinstance(v[0], str) else ", ".join(map(str, v))
    return str(v)


def _comparison(field: str, op: str, value, spec=None) -> str:
    """`spec`: the catalogue field, whose labels name coded values (productcategorie 01 = Hulp bij het huishouden)."""
    if op == "is_set":
        return f"{field} {'is ingevuld' if value in (None, True) else 'is niet ingevuld'}"
    if spec is not None and spec.labels:
        value = [spec.label(v) for v in value] if isinstance(value, list) else spec.label(value)
    return f"{field} {OP_NL[op]} {_value(value)}"


def describe(c: Criterion, unit: str, lookback: int, depth: int = 0, cat: Catalogue | None = None) -> list[str]:
    """The criterion as indented Dutch lines."""
    pad = "  " * depth
    cat = cat or shipped()
    if c.all is not None:
        return [f"{pad}alle volgende:"] + [x for ch in c.all for x in describe(ch, unit, lookback, depth + 1, cat)]
    if c.any is not None:
        return [f"{pad}minstens één van:"] + [x for ch in c.any for x in describe(ch, unit, lookback, depth + 1, cat)]
    if c.not_ is not None:
        return [f"{pad}NIET:"] + describe(c.not_, unit, lookback, depth + 1, cat)
    if c.field is not None:
        name = c.field.split(".", 1)[1]
        meaning = cat[HOUSEHOLD].fields[name].description
        return [f"{pad}- {meaning} ({c.field}) {OP_NL[c.op]} {_value(c.value)}"]
    who = "het huishouden" if unit == "huishouden" else "de persoon"
    assert c.source is not None
    spec = cat[c.source]
    count = c.count.value if c.count else 1
    op = {">=": "minstens", ">": "meer dan", "=": "precies"}[c.count.op if c.count else ">="]
    what = (f"{op} {count} verschillende waarden van {c.distinct}" if c.distinct
            else f"{op} {count} {'regel' if count == 1 else 'regels'}")
    parts = [f"{pad}- {who} heeft in '{c.source}' ({spec.description}) {what}"]
    for w in c.where:
        parts.append(f"{pad}    waarbij {_comparison(w.field, w.op, w.value, spec.fields.get(w.field))}")
    if spec.period_fields and c.active is not False:
        parts.append(f"{pad}    die loopt in de peilmaand")
    if c.duration_months is not None:
        parts.append(f"{pad}    die {OP_NL[c.duration_months.op]} {c.duration_months.value} maanden loopt")
    if spec.window_field:
        parts.append(f"{pad}    met een signaaldatum in de laatste {c.within_months or lookback} maand(en)")
    return parts


def explain(loaded: LoadedSelection, dpia: DpiaRules, period: str = "2026-10") -> str:
    s = loaded.selection
    purpose = dpia.purposes[s.purpose]
    reads: dict[str, set[str]] = {}
    for src, field, _ in loaded.reads():
        reads.setdefault(src, set()).add(field)
    query, params = loaded.compile(period)
    lines = [
        f"{s.title} ({s.id}, version {loaded.version[:12]})",
        "",
        textwrap.fill(" ".join(s.description.split()), 88),
        "",
        f"Unit:         {s.unit}; reference period {period}, look-back {s.lookback_months} month(s)",
        "Criteria:",
        *["  " + x for x in describe(s.criteria, s.unit, s.lookback_months, cat=loaded.catalogue)],
        f"Purpose:      {s.purpose}: {purpose.title}",
        "Legal basis:  " + textwrap.fill(" ".join(purpose.legal_basis.text.split()), 74, subsequent_indent=" " * 14),
        f"              {purpose.legal_basis.link}",
        "Reads:        " + "; ".join(f"{src}: {', '.join(sorted(f))}" for src, f in sorted(reads.items())),
        f"Outputs:      {', '.join(s.outputs)} at {', '.join(s.levels)} level; cells of at least "
        f"{dpia.threshold(s.purpose, s.min_cell_size)}",
        f"Owner:        {s.owner}; approved by {s.approval.by} on {s.approval.date}",
        f"DPIA:         {dpia.dpia.id} version {dpia.dpia.version}",
        "DPIA rules:   " + textwrap.fill("passes " + ", ".join(f"{r.id} {r.name}" for r in dpia.rulebook), 74,
                                         subsequent_indent=" " * 14),
        "",
        "SQL (values are bound parameters, never part of the text):",
        textwrap.indent(query, "  "),
        f"Parameters:   {[str(p) for p in params]}",
    ]
    return "\n".join(lines)


__all__ = ["explain", "describe"]
