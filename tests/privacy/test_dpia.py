"""Each refusal of a selection, with its exact message naming file and line."""

from pathlib import Path

import pytest

from pipelines.configfile import ConfigError
from pipelines.select.selections import load_dpia, load_selection
from pipelines.settings import CONFIG_DIR

RULES = load_dpia(CONFIG_DIR)

BASE = """\
id: {id}
title: Test
description: Een testselectie.
purpose: {purpose}
owner: Team Test
{approval}unit: huishouden
outputs: [{outputs}]
{extra}criteria:
  source: {source}
  where:
    - field: {field}
      op: "{op}"
      value: {value}
"""
APPROVAL = "approval:\n  by: FG\n  date: 2026-09-01\n"


def write(tmp_path: Path, id="t-sel", purpose="vroegsignalering-inhoudingen", approval=APPROVAL,
          outputs="buurt_tables", extra="", source="uitkeringen", field="inhouding", op="=", value="true") -> Path:
    path = tmp_path / f"{id}.yaml"
    path.write_text(BASE.format(id=id, purpose=purpose, approval=approval, outputs=outputs, extra=extra,
                                source=source, field=field, op=op, value=value), encoding="utf-8")
    return path


def problems(path):
    with pytest.raises(ConfigError) as e:
        load_selection(path, RULES)
    return [str(p) for p in e.value.problems]


def test_a_valid_selection_loads(tmp_path):
    assert load_selection(write(tmp_path), RULES).selection.id == "t-sel"


def test_unknown_purpose(tmp_path):
    p = write(tmp_path, purpose="fraudebestrijding")
    assert problems(p) == [f"{p}:4: DPIA rule D1 (doel): purpose 'fraudebestrijding' is not in the DPIA rules; known purposes: "
                           "kinderen-en-armoede, monitor-vroegsignalering, ouderen-zorg-en-geldzorgen, stapelingsmonitor, vroeg-eropaf, "
                           "vroegsignalering-inhoudingen"]


def test_source_not_allowed_for_the_purpose(tmp_path):
    p = write(tmp_path, source="wmo", field="productcategorie", value='"01"')
    assert problems(p) == [f"{p}:14: DPIA rule D3 (bronnen): reads source 'wmo', which purpose 'vroegsignalering-inhoudingen' does not allow; "
                           "allowed sources: brp, uitkeringen"]


def test_field_not_allowed_for_the_purpose(tmp_path):
    p = write(tmp_path, field="inhouding_bedrag", op=">", value="100")
    assert problems(p) == [f"{p}:14: DPIA rule D4 (velden): reads field 'uitkeringen.inhouding_bedrag', which purpose "
                           "'vroegsignalering-inhoudingen' does not allow; allowed fields of uitkeringen: regeling, "
                           "inhouding, budgetbeheer, ingangsdatum, einddatum"]


def test_implicit_time_fields_count_as_read(tmp_path):
    p = write(tmp_path, purpose="vroeg-eropaf", source="vroegsignalen", field="signaalpartner", value="Huur")
    load_selection(p, RULES)  # signaaldatum is allowed for vroeg-eropaf
    p = write(tmp_path, id="u-sel", purpose="vroeg-eropaf", source="brp", field="aantal_personen", op=">", value="1")
    (msg,) = problems(p)
    assert "unknown field 'aantal_personen' for source 'brp'; allowed: leeftijd" in msg


def test_output_not_allowed_for_the_purpose(tmp_path):
    p = write(tmp_path, outputs="buurt_tables, signal_list")
    assert problems(p) == [f"{p}:10: DPIA rule D5 (uitvoer): output 'signal_list' is not allowed for purpose 'vroegsignalering-inhoudingen'; "
                           "allowed: buurt_tables"]


def test_signal_list_is_allowed_where_the_purpose_allows_it(tmp_path):
    p = write(tmp_path, purpose="vroeg-eropaf", outputs="signal_list", source="vroegsignalen", field="signaalpartner",
              value="Huur")
    assert load_selection(p, RULES).selection.outputs == ["signal_list"]


def test_level_below_the_purposes_lowest_level(tmp_path):
    p = write(tmp_path, purpose="ouderen-zorg-en-geldzorgen", source="brp", field="leeftijd", op=">=", value="75",
              extra="levels: [gemeente, wijk, buurt]\n")
    assert problems(p) == [f"{p}:11: DPIA rule D6 (niveau): level 'buurt' is below the lowest level 'wijk' allowed for purpose "
                           "'ouderen-zorg-en-geldzorgen'"]


def test_smaller_cell_size(tmp_path):
    p = write(tmp_path, extra="min_cell_size: 5\n")
    assert problems(p) == [f"{p}:11: DPIA rule D7 (celgrootte): min_cell_size 5 is below the minimum 10 for purpose 'vroegsignalering-inhoudingen'"]


def test_no_approval(tmp_path):
    p = write(tmp_path, approval="")
    assert problems(p) == [f"{p}:1: DPIA rule D2 (goedkeuring): the selection has no approval (by whom, when); it may not run"]


def test_unknown_key_lists_what_is_allowed(tmp_path):
    p = write(tmp_path, extra="sql: DROP TABLE persons\n")
    assert problems(p) == [f"{p}:11: sql: unknown key 'sql'; allowed: approval, criteria, description, id, levels, "
                           "lookback_months, min_cell_size, outputs, owner, purpose, title, unit"]


def test_sql_in_a_field_name_is_rejected(tmp_path):
    p = write(tmp_path, field='inhouding" OR 1=1 --')
    (msg,) = problems(p)
    assert msg.startswith(f"{p}:11: criteria: Value error, unknown field 'inhouding\" OR 1=1 --' for source "
                          "'uitkeringen'; allowed: regeling, inhouding, inhouding_bedrag, budgetbeheer")


def test_sql_in_a_value_is_rejected(tmp_path):
    p = write(tmp_path, purpose="stapelingsmonitor", source="wmo", field="productcode",
              value="\"01A01'; DROP TABLE persons; --\"")
    (msg,) = problems(p)
    assert msg == (f"{p}:11: criteria: Value error, value \"01A01'; DROP TABLE persons; --\" is refused: values are "
                   "data, not SQL (no quotes, semicolons, comment markers or SQL keywords)")


def test_value_outside_the_code_list(tmp_path):
    p = write(tmp_path, purpose="vroeg-eropaf", source="vroegsignalen", field="signaalpartner", value="Telefoon")
    (msg,) = problems(p)
    assert "'Telefoon' is not a value of 'signaalpartner'; allowed: Energie, Huur, Hypotheek" in msg


def test_every_problem_is_reported_at_once(tmp_path):
    p = write(tmp_path, purpose="onbekend", approval="")
    assert len(problems(p)) == 2


def test_global_minimum_cannot_be_undercut_by_a_purpose(tmp_path):
    text = (CONFIG_DIR / "dpia.yaml").read_text(encoding="utf-8").replace("    min_cell_size: 10\n", "    min_cell_size: 5\n", 1)
    (tmp_path / "dpia.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_dpia(tmp_path)
    assert "purpose(s) stapelingsmonitor set min_cell_size below the global minimum 10" in str(e.value)
