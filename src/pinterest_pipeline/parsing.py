"""Raw JSON text to typed raw records, with a reason for every record that breaks the contract.

Each record is parsed as a JSON object of strings first (a map), so that a record of the wrong shape or with
a value of the wrong type is kept and explained instead of turning silently into nulls, as a typed `from_json`
would do. The same function serves the batch job (lines of sink files) and the streaming job (Kinesis data).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pinterest_pipeline.schemas import ENTITY

_MAP = "_fields"
# Long values are cut in reasons: a reason names the problem, the raw text is kept beside it.
_SHOWN_CHARS = 40

_TYPE_NAMES = {T.LongType(): "an integer", T.IntegerType(): "an integer", T.DoubleType(): "a number"}


def _shown(col: Column) -> Column:
    return F.when(
        F.length(col) > _SHOWN_CHARS, F.concat(F.substring(col, 1, _SHOWN_CHARS), F.lit("..."))
    ).otherwise(col)


def _first_reason(checks: list[tuple[Column, Column]]) -> Column:
    """The reason of the first failed check, or null when every check passes."""
    reason = F.lit(None).cast("string")
    for failed, why in reversed(checks):
        reason = F.when(failed, why).otherwise(reason)
    return reason


def parse_records(df: DataFrame, entity: str, value_col: str = "value") -> DataFrame:
    """Add the entity's raw columns (typed as its raw schema) and `reason`, null for a well-formed record."""
    spec = ENTITY[entity]
    value = F.col(value_col)
    fields = F.col(_MAP)
    names = spec.raw_schema.fieldNames()
    other_names = [name for name in names if name != spec.id_field]

    is_json = F.get_json_object(value, "$").isNotNull()
    present = F.map_keys(fields)
    missing = F.array_except(F.array(*[F.lit(n) for n in names]), present)
    knows_none = F.size(F.array_intersect(F.array(*[F.lit(n) for n in other_names]), present)) == 0
    id_text = fields[spec.id_field]

    checks: list[tuple[Column, Column]] = [
        (value.isNull() | (F.trim(value) == ""), F.lit("empty record")),
        (fields.isNull() & ~is_json, F.lit("malformed JSON")),
        (fields.isNull(), F.lit("unknown shape: the JSON value is not an object")),
        (
            knows_none,
            F.concat(F.lit(f"unknown shape: no {entity} field in keys "), F.array_join(present, ",")),
        ),
        (id_text.isNull(), F.lit(f"missing {spec.id_field}")),
        (
            id_text.try_cast("long").isNull(),
            F.concat(F.lit(f"{spec.id_field} is not an integer: "), _shown(id_text)),
        ),
        (F.size(missing) > 0, F.concat(F.lit("missing fields: "), F.array_join(missing, ","))),
    ]
    for field in spec.raw_schema.fields:
        if field.dataType in _TYPE_NAMES and field.name != spec.id_field:
            text = fields[field.name]
            checks.append(
                (
                    text.isNotNull() & text.try_cast(field.dataType).isNull(),
                    F.concat(F.lit(f"{field.name} is not {_TYPE_NAMES[field.dataType]}: "), _shown(text)),
                )
            )

    typed = [fields[f.name].try_cast(f.dataType).alias(f.name) for f in spec.raw_schema.fields]
    return (
        df.withColumn(_MAP, F.from_json(value, T.MapType(T.StringType(), T.StringType())))
        .select("*", *typed, _first_reason(checks).alias("reason"))
        .drop(_MAP)
    )
