"""SQL files of the outreach stage, loaded with importlib.resources."""

import re
from importlib import resources

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_END = re.compile(r";[ \t]*$", re.MULTILINE)
_COMMENT = re.compile(r"--[^\n]*")


def sql(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str, params: dict) -> list[tuple[str, dict]]:
    """The statements of `name`.sql (each ends with `;` at the end of a line), each with the
    values of exactly the `$parameters` it names (DuckDB refuses a value a statement does not
    use). Every value is bound, never spliced into the text."""
    out = []
    for statement in _END.split(sql(name)):
        code = _COMMENT.sub("", statement)
        if code.strip():
            out.append((statement, {k: params[k] for k in sorted(set(_PARAM.findall(code)))}))
    return out
