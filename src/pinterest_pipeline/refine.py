"""Raw records to silver rows and quarantine rows: the steps the batch and streaming jobs share."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pinterest_pipeline.cleaning import CLEANERS, VIOLATIONS, keep_first
from pinterest_pipeline.parsing import parse_records
from pinterest_pipeline.schemas import ENTITY, QUARANTINE_SCHEMA


def validate(records: DataFrame, entity: str, value_col: str = "value") -> DataFrame:
    """The entity's typed raw columns and `reason`: why the record breaks the contract, or null."""
    parsed = parse_records(records, entity, value_col)
    return parsed.withColumn("reason", F.coalesce(F.col("reason"), VIOLATIONS[entity]()))


def quarantine_rows(validated: DataFrame, source: Column, value_col: str = "value") -> DataFrame:
    """The rejected records: raw text, reason, source and ingest time (QUARANTINE_SCHEMA)."""
    return validated.where(F.col("reason").isNotNull()).select(
        *[
            expr.cast(field.dataType).alias(field.name)
            for field, expr in zip(
                QUARANTINE_SCHEMA.fields, [F.col(value_col), F.col("reason"), source, F.col("ingested_at")]
            )
        ]
    )


def silver_rows(validated: DataFrame, entity: str, order_by: list[str]) -> DataFrame:
    """The accepted records, cleaned, one row per ind: the first by the `order_by` columns.

    Only the entity's raw fields and the ordering columns go through the de-duplication's shuffle.
    """
    spec = ENTITY[entity]
    accepted = validated.where(F.col("reason").isNull()).select(*spec.raw_schema.fieldNames(), *order_by)
    return CLEANERS[entity](keep_first(accepted, spec.id_field, [F.col(c) for c in order_by]))
