"""`field__any=[…]`: the `__in` lookup as one array parameter on PostgreSQL.

`id__in` with a thousand values is a statement with a thousand placeholders: the driver scans
it for them afresh each time (its statement cache keys on the text, which changes with every
count), and the statement grows with the list. `id__any` sends `id = ANY(%s::bigint[])`: one
placeholder, one statement text whatever the count. The relay filters by a batch of ids in
nearly every statement. Other databases get the plain `IN (…)`. Hand-written statements get the
same through `one_of()`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


def _as_any(lookup: In, compiler: Any, connection: Any) -> tuple[str, Sequence[Any]]:
    """`lhs = ANY(%s::type[])` for a list of values; a subquery keeps its `IN (SELECT …)`."""
    if not lookup.rhs_is_direct_value():
        return lookup.as_sql(compiler, connection)
    lhs, lhs_params = lookup.process_lhs(compiler, connection)
    field = lookup.lhs.output_field
    values = [
        field.get_db_prep_value(value, connection, prepared=True)
        for value in dict.fromkeys(lookup.rhs)
        if value is not None
    ]
    if not values:
        raise EmptyResultSet
    return f"{lhs} = ANY(%s::{field.cast_db_type(connection)}[])", [*lhs_params, values]


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Sequence[Any]]:
        return _as_any(self, compiler, connection)


@ForeignObject.register_lookup
class RelatedAnyOf(RelatedIn):
    lookup_name = "any"

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Sequence[Any]]:
        return _as_any(self, compiler, connection)


def one_of(connection: Any, column: str, values: list, db_type: str) -> tuple[str, list]:
    """`column` is one of `values`, for a hand-written statement: `column = ANY(%s::type[])` with
    one array parameter on PostgreSQL, `column IN (SELECT value FROM json_each(%s))` with one
    JSON array elsewhere, so the statement is the same text whatever the count. `db_type` is
    PostgreSQL's element type (`bigint`, `text`); only trusted names are interpolated."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::{db_type}[])", [values]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]  # noqa: S608
