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


def _parse_columns(entity: str, fields: Column, value: Column) -> tuple[dict[str, Column], Column]:
    """The entity's typed raw values by field name, read from `fields` (the record as a map of strings), and the
    reason the record `value` breaks the raw contract (null when it keeps it)."""
    spec = ENTITY[entity]
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
    typed = {f.name: fields[f.name].try_cast(f.dataType) for f in spec.raw_schema.fields}
    return typed, _first_reason(checks)


def _with_fields(df: DataFrame, value_col: str) -> DataFrame:
    return df.withColumn(_MAP, F.from_json(F.col(value_col), T.MapType(T.StringType(), T.StringType())))


def parse_records(df: DataFrame, entity: str, value_col: str = "value") -> DataFrame:
    """Add the entity's raw columns (typed as its raw schema) and `reason`, null for a well-formed record."""
    typed, reason = _parse_columns(entity, F.col(_MAP), F.col(value_col))
    return (
        _with_fields(df, value_col)
        .select("*", *[col.alias(name) for name, col in typed.items()], reason.alias("reason"))
        .drop(_MAP)
    )


def raw_struct(entity: str) -> str:
    """The column `parse_each` keeps an entity's typed raw columns in."""
    return f"raw_{entity}"


def parse_each(df: DataFrame, entities: list[str], value_col: str = "value") -> DataFrame:
    """`parse_records` for records of several entities in one plan, each parsed as the entity its `entity` column
    names: its typed raw columns in the struct `raw_<entity>` (null in the other entities' structs), and `reason`
    (a record of none of `entities` has no reason and every struct null)."""
    structs, reason = [], F.lit(None).cast("string")
    for entity in entities:
        typed, why = _parse_columns(entity, F.col(_MAP), F.col(value_col))
        mine = F.col("entity") == F.lit(entity)
        fields = F.struct(*[col.alias(name) for name, col in typed.items()])
        structs.append(F.when(mine, fields).alias(raw_struct(entity)))
        reason = F.when(mine, why).otherwise(reason)
    return _with_fields(df, value_col).select("*", *structs, reason.alias("reason")).drop(_MAP)


# The position of a record in the JSON array its line (or Kinesis record) held; null for a plain value.
ELEMENT = "element"
# Why a JSON array cannot be read as records (empty, or holding a non-object); null otherwise.
ARRAY_REASON = "_array_reason"


def _kind(type_name: Column) -> Column:
    """A variant's type (schema_of_variant) in words, for reasons."""
    return (
        F.when(type_name.startswith("ARRAY"), F.lit("an array"))
        .when(type_name == "VOID", F.lit("null"))
        .when(type_name == "STRING", F.lit("a string"))
        .when(type_name == "BOOLEAN", F.lit("a boolean"))
        .when(type_name.rlike("^(DECIMAL|BIGINT|INT|SMALLINT|TINYINT|DOUBLE|FLOAT)"), F.lit("a number"))
        .otherwise(F.lower(type_name))
    )


def split_arrays(df: DataFrame, value_col: str = "value") -> DataFrame:
    """One row per record: a value that is a JSON array of objects becomes one row per object.

    Spark's JSON reader, which the course's notebooks use, reads a line holding an array of objects as those
    objects, and one of the course's client scripts sends each record as a one-element array. Such a row is
    replaced by its elements: `value_col` becomes the element's JSON text and `element` its 0-based position;
    every other column (the source, the Kafka or Kinesis coordinates) is kept. Any other value is one row with
    `element` null. An array that is empty or holds anything but objects stays one row, its text unchanged, with
    `_array_reason` saying which element is bad (the whole value is rejected: its writer is broken).

    Arrays are parsed as a variant only when the text starts with `[`, so plain objects cost nothing more.
    """
    value = F.col(value_col)
    items = F.when(value.rlike(r"^\s*\["), F.try_variant_get(F.try_parse_json(value), "$", "array<variant>"))
    types = F.transform(F.col("_items"), lambda x: F.coalesce(F.schema_of_variant(x), F.lit("VOID")))
    # 1-based position of the first element that is not an object, 0 when there is none.
    bad = F.array_position(F.transform(F.col("_types"), lambda t: ~t.startswith("OBJECT")), True)
    reason = (
        F.when(F.col("_items").isNull(), F.lit(None).cast("string"))
        .when(F.size("_items") == 0, F.lit("empty array: no record in it"))
        .when(
            bad > 0,
            F.concat(
                F.lit("array holds a non-object: element "),
                (bad - 1).cast("string"),
                F.lit(" of "),
                F.size("_items").cast("string"),
                F.lit(" is "),
                _kind(F.element_at(F.col("_types"), bad.cast("int"))),
            ),
        )
    )
    others = [c for c in df.columns if c != value_col]
    staged = (
        df.withColumn("_items", items)
        .withColumn("_types", types)
        .withColumn(ARRAY_REASON, reason)
        .withColumn("_split", F.col("_items").isNotNull() & F.col(ARRAY_REASON).isNull())
        .select(
            *others,
            ARRAY_REASON,
            "_split",
            F.when(F.col("_split"), F.transform("_items", lambda x: F.to_json(x)))
            .otherwise(F.array(value))
            .alias("_texts"),
        )
    )
    return staged.select(
        *others, ARRAY_REASON, "_split", F.posexplode("_texts").alias("_pos", value_col)
    ).select(
        *others,
        value_col,
        F.when(F.col("_split"), F.col("_pos")).cast("int").alias(ELEMENT),
        ARRAY_REASON,
    )


def with_element(source: Column) -> Column:
    """A record's source with its array position, `<source>[<element>]`, for an element of an array."""
    element = F.col(ELEMENT)
    return F.when(element.isNull(), source).otherwise(
        F.concat(source, F.lit("["), element.cast("string"), F.lit("]"))
    )
