"""SQL files of the monitor stage, loaded with importlib.resources."""

from importlib import resources


def sql(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
