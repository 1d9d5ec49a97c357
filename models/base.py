"""Shared model configuration and bounded text types of the wire contract."""

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Identifiers and codes: non-empty, printable, bounded (DESIGN §3: "sane length limits").
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=1000)]
# A six-digit administrative division code, e.g. 150000 (region) or 150100 (Hohhot).
DivisionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
# Positive versions; bounded so hostile input cannot overflow anything downstream.
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
FiscalYear = Annotated[int, Field(ge=2000, le=2100)]


class WireModel(BaseModel):
    """Strict, closed, immutable: unknown fields forbidden, no type coercion."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M], **values: Any) -> M:
    """A model from values the engine computed itself, without re-validating them.

    For outputs on the hot path: every field must be given, each already of its model type.
    About 3x cheaper than `model_construct`; tests check the result equals a validated copy.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
