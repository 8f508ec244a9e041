"""Located, readable problems from pydantic's validation errors, and "did you mean" hints.

:func:`scenario_from_document` validates a parsed file as a :class:`~sim.format.scenario.Scenario`
and turns each of pydantic's errors into a :class:`~sim.errors.Problem` at the right line
and column: the error's ``loc`` is mapped onto the data (dropping the tags of discriminated
unions), and its message is rewritten in one short sentence that names the value and what
was expected. :func:`explain_errors` does the same for any other validated type (a
``--set`` value, a sweep file), leaving the locating to the caller. :func:`suggest` offers
the closest known name for a misspelt one.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails

from sim.errors import Problem, ScenarioError
from sim.format.document import Document
from sim.format.field_error import FieldError
from sim.format.fields import describe_value
from sim.format.scenario import Scenario

__all__ = ["explain_errors", "scenario_error", "scenario_from_document", "suggest"]


def suggest(name: str, known: Sequence[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest of ``known`` to ``name``, or ``''``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def scenario_from_document(doc: Document) -> Scenario:
    """Validate a parsed file as a :class:`Scenario`; raise every problem as one error."""
    try:
        return Scenario.model_validate(doc.data)
    except ValidationError as error:
        problems: list[Problem] = []
        for details in error.errors(include_url=False):
            path, message, at_key = _explain(details, doc.data, Scenario)
            locate = doc.key_problem if at_key else doc.problem
            problems.append(locate(path, message))
        raise scenario_error(problems) from None


def explain_errors(
    error: ValidationError, data: Any, root: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    """Return ``(path in data, message)`` for each error of validating ``data`` as ``root``.

    ``root`` is the type that was validated (a model class or an annotation), so that
    unknown fields get suggestions from the right model.
    """
    return [_explain(details, data, root)[:2] for details in error.errors(include_url=False)]


def scenario_error(problems: Iterable[Problem]) -> ScenarioError:
    """Return one error holding ``problems`` in file order, each once."""
    return ScenarioError(sorted(dict.fromkeys(problems), key=_position))


def _position(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.col


def _explain(
    details: ErrorDetails, data: Any, root: Any
) -> tuple[tuple[str | int, ...], str, bool]:
    """Turn one pydantic error into ``(path in data, short message, at_key)``.

    ``at_key`` says that the problem is the key (an unknown field, a bad name), not its value.
    """
    loc = tuple(details["loc"])
    kind = details["type"]
    at_key = kind == "extra_forbidden" or (bool(loc) and loc[-1] == "[key]")
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
    message = _message(details, loc, root)
    error = (details.get("ctx") or {}).get("error")
    if kind == "value_error" and isinstance(error, FieldError):
        loc = (*loc, error.field)  # a check over the mapping, about one of its fields
    if kind == "missing":
        return _data_path(data, loc[:-1]), message, False
    path = _data_path(data, loc)
    if kind == "union_tag_invalid" and isinstance(_get(data, path), dict):
        path = (*path, "kind")
    return path, message, at_key


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` in ``data`` (which :func:`_data_path` made valid)."""
    for segment in path:
        data = data[segment]
    return data


def _data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Map pydantic's ``loc`` onto the data, dropping the tags of discriminated unions.

    A tag is the ``kind`` of the mapping it selects (once per mapping), a string that is no
    key of the current mapping, or any string where the data is not a mapping.
    """
    path: list[str | int] = []
    node = data
    tag_seen = False
    for segment in loc:
        if isinstance(segment, int):
            path.append(segment)
            in_list = isinstance(node, list) and 0 <= segment < len(node)
            node, tag_seen = (node[segment] if in_list else None), False
        elif not isinstance(node, dict):
            continue
        elif node.get("kind") == segment and not tag_seen:
            tag_seen = True
        elif segment in node:
            path.append(segment)
            node, tag_seen = node[segment], False
    return tuple(path)


_NOUNS = {
    "float_type": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "string_type": "text",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "date_type": "a date",
}


_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _message(details: ErrorDetails, loc: tuple[str | int, ...], root: Any) -> str:
    """Say what is wrong in one short sentence, without pydantic's wording."""
    kind = details["type"]
    ctx: dict[str, Any] = dict(details.get("ctx") or {})
    value = details["input"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        return f"unknown field {name!r}{suggest(name, _fields_at(loc[:-1], root))}"
    if kind == "missing":
        return f"missing field {str(loc[-1])!r}"
    if kind == "union_tag_invalid":
        tags = str(ctx["expected_tags"]).replace("'", "")
        return f"unknown kind {ctx['tag']!r}; expected one of: {tags}"
    if kind == "union_tag_not_found":
        tags = ", ".join(_tags_at(loc, root))
        return f"missing field 'kind'; expected one of: {tags}" if tags else "missing 'kind'"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", details["msg"]))
    if kind in _NOUNS:
        return f"expected {_NOUNS[kind]}, got {describe_value(value)}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {value!r}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx['pattern']}, got {value!r}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return f"must be {_BOUNDS[kind]} {bound}, got {value}"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s), got {ctx['actual_length']}"
    if kind == "string_too_short":
        return "must not be empty"
    return str(details["msg"])


def _fields_at(loc: tuple[str | int, ...], root: Any) -> tuple[str, ...]:
    """The field names of the model at ``loc`` (for suggestions), or ``()``."""
    model = _unwrap(_type_at(loc, root))
    if get_origin(model) in (Union, types.UnionType):  # an optional section: `Record | None`
        members = [m for m in get_args(model) if m is not type(None)]
        model = _unwrap(members[0]) if len(members) == 1 else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return tuple(info.alias or name for name, info in model.model_fields.items())
    return ()


def _tags_at(loc: tuple[str | int, ...], root: Any) -> tuple[str, ...]:
    """The tags of the discriminated union at ``loc``, or ``()``."""
    union = _unwrap(_type_at(loc, root))
    if get_origin(union) not in (Union, types.UnionType):
        return ()
    return tuple(tag for member in get_args(union) for tag in _tags(member))


def _type_at(loc: tuple[str | int, ...], root: Any) -> Any:
    """Follow ``loc`` through the annotations from ``root``; ``None`` if lost."""
    annotation: Any = root
    for segment in loc:
        annotation = _step(annotation, segment)
        if annotation is None:
            return None
    return annotation


def _step(annotation: Any, segment: str | int) -> Any:
    """The annotation one ``loc`` segment below ``annotation``, or ``None``."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        for member in members:
            if segment in _tags(member):
                return member
        return _step(members[0], segment) if len(members) == 1 else None
    if origin is list and isinstance(segment, int):
        return get_args(annotation)[0]
    if origin is dict and isinstance(segment, str):
        return get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if segment in (name, info.alias):
                return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` layers."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _tags(member: Any) -> tuple[str, ...]:
    """The tags that select ``member`` of a discriminated union."""
    if get_origin(member) is Annotated:
        for item in get_args(member)[1:]:
            if isinstance(item, Tag):
                return (item.tag,)
    model = _unwrap(member)
    if isinstance(model, type) and issubclass(model, BaseModel) and "kind" in model.model_fields:
        kind = _unwrap(model.model_fields["kind"].annotation)
        if get_origin(kind) is Literal:
            return tuple(str(arg) for arg in get_args(kind))
    return ()
