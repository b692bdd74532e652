"""The base of every declarative configuration model (the DPIA rules here, settings and
selections in the pipeline): unknown keys are an error, values are immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base for every config model: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


__all__ = ["Strict"]
