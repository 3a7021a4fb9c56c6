"""Raw records to silver rows and quarantine rows: the steps the batch and streaming jobs share."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pinterest_pipeline.cleaning import VIOLATIONS
from pinterest_pipeline.parsing import ARRAY_REASON, parse_each, parse_records, raw_struct, split_arrays
from pinterest_pipeline.schemas import QUARANTINE_SCHEMA


def validate(records: DataFrame, entity: str, value_col: str = "value") -> DataFrame:
    """One row per record (an array of objects split into its elements, `element` their position), with the
    entity's typed raw columns and `reason`: why the record breaks the contract, or null."""
    parsed = parse_records(split_arrays(records, value_col), entity, value_col)
    return parsed.withColumn(
        "reason", F.coalesce(F.col(ARRAY_REASON), F.col("reason"), VIOLATIONS[entity]())
    ).drop(ARRAY_REASON)


def validate_each(records: DataFrame, entities: list[str], value_col: str = "value") -> DataFrame:
    """`validate` for records of several entities in one plan, each validated as the entity its `entity` column
    names: its typed raw columns are in the struct `raw_<entity>` (see `entity_rows`).

    The streaming job's query holds this plan: it is built once, when the query starts, not for every batch."""
    parsed = parse_each(split_arrays(records, value_col), entities, value_col)
    violations = [
        F.when(F.col("entity") == F.lit(entity), VIOLATIONS[entity](_struct_field(raw_struct(entity))))
        for entity in entities
    ]
    return parsed.withColumn("reason", F.coalesce(F.col(ARRAY_REASON), F.col("reason"), *violations)).drop(
        ARRAY_REASON
    )


def _struct_field(struct: str):
    """Reads a field of the struct column `struct` by name."""
    return lambda name: F.col(struct)[name]


def entity_rows(validated: DataFrame, entity: str, entities: list[str]) -> DataFrame:
    """One entity's rows of `validate_each(records, entities)`, with the columns `validate` gives them."""
    structs = {raw_struct(e) for e in entities}
    kept = [c for c in validated.columns if c not in structs]
    return validated.where(F.col("entity") == F.lit(entity)).select(*kept, f"{raw_struct(entity)}.*")


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


# Reasons named in a run's summary; the rest are counted as "and N more reasons".
TOP_REASONS = 3
# An example value in the summary is cut to this many characters (a reason may hold a whole raw value).
_EXAMPLE_CHARS = 60


@dataclass(frozen=True)
class ReasonCount:
    """One kind of reason in a quarantine table: the text before its first ": ", how many rows, an example."""

    kind: str
    count: int
    example: str

    def shown(self) -> str:
        """`<kind> <count> (e.g. <value>)`, on one line whatever the value holds."""
        detail = " ".join(self.example.partition(": ")[2].split())
        if len(detail) > _EXAMPLE_CHARS:
            detail = detail[:_EXAMPLE_CHARS] + "..."
        return f"{self.kind} {self.count:,}" + (f" (e.g. {detail})" if detail else "")


def server_micros(spark: SparkSession) -> int:
    """The Spark server's clock now, in epoch microseconds: what `current_timestamp()` in the run's writes
    (the `ingested_at` of its rows) is compared with. Under Spark Connect the client's clock may differ."""
    return int(spark.range(1).select(F.unix_micros(F.current_timestamp())).first()[0])


def reason_counts(quarantine: DataFrame, since_micros: int) -> list[ReasonCount]:
    """The reasons of the quarantine rows ingested at or after `since_micros` (a run's start, by the Spark
    server's clock), most frequent first.

    Reasons carry the offending value ("unparseable timestamp: 2020:01:01 ..."), so they are grouped by the
    text before their first ": "; the smallest full reason of each group is its example.
    """
    kind = F.substring_index(F.col("reason"), ": ", 1)
    rows = (
        quarantine.where(F.unix_micros(F.col("ingested_at")) >= F.lit(since_micros))
        .groupBy(kind.alias("kind"))
        .agg(F.count(F.lit(1)).alias("count"), F.min("reason").alias("example"))
        .orderBy(F.col("count").desc(), F.col("kind"))
        .collect()
    )
    return [ReasonCount(r["kind"], int(r["count"]), r["example"]) for r in rows]


def reason_lines(entity: str, read: int, reasons: list[ReasonCount]) -> list[str]:
    """The summary lines of one entity's quarantined records: the top reasons, and a warning when the run's
    records were all rejected (`read` of them, all quarantined)."""
    if not reasons:
        return []
    quarantined = sum(r.count for r in reasons)
    shown = "; ".join(r.shown() for r in reasons[:TOP_REASONS])
    more = len(reasons) - TOP_REASONS
    if more > 0:
        shown += f"; and {more} more reason{'s' if more > 1 else ''}"
    out = [f"quarantined {entity}: {shown}"]
    if read and quarantined >= read:
        out.append(
            f"warning: every {entity} record was quarantined ({quarantined:,} of {read:,}): "
            f"top reason {reasons[0].shown()}"
        )
    return out
