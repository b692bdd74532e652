"""The DPIA rule book: rules with ids, cited everywhere, a gemeente's own rules, and privacy/
standing on its own."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.configfile import ConfigError
from pipelines.select.selections import load_dpia, load_selection
from pipelines.settings import CONFIG_DIR, SELECTIONS_DIR
from privacy import rules

PRIVACY = Path(rules.__file__).parent

GEMEENTE_RULES = '''
from privacy.rules import Rule


def _geen_leeftijd(facts, dpia):
    for source, field, loc in facts.reads:
        if field == "leeftijd":
            yield loc, "this gemeente does not select by age"


RULES = [Rule("G1", "geen-leeftijd", "Selecties selecteren niet op leeftijd.", _geen_leeftijd)]
'''


def test_privacy_imports_nothing_from_pipelines():
    for path in sorted(PRIVACY.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            assert not any(n == "pipelines" or n.startswith("pipelines.") for n in names), path.name


def test_the_rule_table_in_the_docstring_is_the_rule_book_the_code_runs():
    rows = re.findall(r"^\| (D\d+) \| ([a-z-]+) \| (.+) \|$", rules.__doc__, flags=re.M)
    assert rows == [(r.id, r.name, r.statement_nl) for r in rules.OWN_RULES]
    assert [r.id for r in rules.OWN_RULES] == [f"D{i}" for i in range(1, 8)]
    readme = (PRIVACY / "README.md").read_text(encoding="utf-8")  # the rule book's index says the same
    assert re.findall(r"^\| (D\d+) \| ([a-z-]+) \| (.+) \|$", readme, flags=re.M) == rows


def config_with_rules(tmp_path: Path, module: str = GEMEENTE_RULES, names: str = "[regels_gemeente.py]") -> Path:
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg, ignore=shutil.ignore_patterns("reference"))
    text = (cfg / "dpia.yaml").read_text(encoding="utf-8")
    (cfg / "dpia.yaml").write_text(text + f"\nrule_modules: {names}\n", encoding="utf-8")
    (cfg / "regels_gemeente.py").write_text(module, encoding="utf-8")
    return cfg


def test_a_gemeente_adds_a_rule_in_a_module_and_check_cites_it_with_file_and_line(tmp_path, capsys):
    cfg = config_with_rules(tmp_path)
    dpia = load_dpia(cfg)
    assert [r.id for r in dpia.rulebook] == ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "G1"]
    sel = tmp_path / "selections"
    sel.mkdir()
    shipped = SELECTIONS_DIR / "ouderen-wmo-en-achterstand.yaml"
    shutil.copy(shipped, sel / shipped.name)
    assert main(["check", "--config-dir", str(cfg), "--selections", str(sel)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{sel}/{shipped.name}:20: DPIA rule G1 (geen-leeftijd): this gemeente does not select by age",
                   "1 problem(s) found"]
    # without the module the same selection passes: the rule is the gemeente's, not wijksignaal's
    assert load_selection(sel / shipped.name, load_dpia(CONFIG_DIR)).selection.id == "ouderen-wmo-en-achterstand"


@pytest.mark.parametrize("module, names, message", [
    (GEMEENTE_RULES, "[ontbreekt.py]", "rule module ontbreekt.py does not exist (next to dpia.yaml)"),
    ("RULES = 3\n", "[regels_gemeente.py]", "rule module regels_gemeente.py must define RULES, a list of "
                                             "privacy.rules.Rule"),
    ("raise RuntimeError('kapot')\n", "[regels_gemeente.py]",
     "rule module regels_gemeente.py fails to load: RuntimeError: kapot"),
    (GEMEENTE_RULES.replace('"G1"', '"D9"'), "[regels_gemeente.py]",
     "rule module regels_gemeente.py: id 'D9' is reserved for wijksignaal's own rules (D and a number); choose "
     "another, for example G1"),
    (GEMEENTE_RULES, "[regels_gemeente.py, regels_gemeente.py]",
     "rule module regels_gemeente.py: rule id 'G1' is used twice"),
])
def test_a_broken_rule_module_is_refused_at_its_line_in_dpia_yaml(tmp_path, module, names, message):
    cfg = config_with_rules(tmp_path, module, names)
    line = len((cfg / "dpia.yaml").read_text(encoding="utf-8").splitlines())
    with pytest.raises(ConfigError) as e:
        load_dpia(cfg)
    assert [str(p) for p in e.value.problems] == [f"{cfg / 'dpia.yaml'}:{line}: {message}"]


def test_explain_and_the_register_cite_the_rules_a_selection_passed(tmp_path, capsys):
    assert main(["explain", "inhouding-zonder-budgetbeheer"]) == 0
    out = capsys.readouterr().out
    assert ("DPIA rules: passes D1 doel, D2 goedkeuring, D3 bronnen, D4 velden, D5 uitvoer, D6 niveau, D7 celgrootte "
            "SQL") in " ".join(out.split())
    from pipelines.link.domains import load_domains
    from pipelines.select.register import write_register
    from pipelines.select.selections import load_selections

    dpia = load_dpia(CONFIG_DIR)
    write_register(tmp_path, load_selections(SELECTIONS_DIR, dpia), dpia, load_domains(CONFIG_DIR))
    html = (tmp_path / "register.html").read_text(encoding="utf-8")
    for r in rules.OWN_RULES:
        assert f'<tr id="regel-{r.id}"><td>{r.id}</td><td>{r.name}</td><td>{r.statement_nl}</td></tr>' in html
    import json

    entry = json.loads((tmp_path / "algoritmeregister" / "inhouding-zonder-budgetbeheer.json").read_text())
    assert [r["id"] for r in entry["getoetst_aan"]] == [r.id for r in rules.OWN_RULES]
