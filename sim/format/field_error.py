"""The error of a constraint on one field, so that the problem points at that field.

A check that spans a mapping (a model validator) sees the whole mapping, and pydantic
locates what it raises at the mapping. Raised as :class:`FieldError`, the problem is
located at the field the constraint is about: ``parameters.p.dist.a`` on the ``a:`` line,
not ``parameters.p.dist`` on the ``kind:`` line.
"""

from __future__ import annotations

__all__ = ["FieldError"]


class FieldError(ValueError):
    """A value of the field ``field`` that breaks a constraint; ``str()`` is the message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
