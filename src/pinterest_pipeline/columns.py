"""Column helpers of the cleaning rules: small `Column -> Column` functions, each tested on its own."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

# Values the source writes where it has no data; they all mean null (docs/design.md, "Data contract").
PLACEHOLDERS = (
    "",
    "No Title Data Available",
    "No description available Story format",
    "No description available",
    "Untitled",
    "User Info Error",
    "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e",
    "Image src error.",
)

# "437", "26k", "6M"; a decimal mantissa ("1.5k") is accepted because the scraper could write one.
FOLLOWER_COUNT_PATTERN = r"^(\d+(?:\.\d+)?)([kKmM]?)$"

# Both formats are seen in the wild: the database's "2019-01-01 07:21:13" and ISO "2019-01-01T07:21:13".
TIMESTAMP_FORMATS = ("yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss")


def null_if_placeholder(col: Column, placeholders: tuple[str, ...] = PLACEHOLDERS) -> Column:
    """Null where the value is one of the source's 'no data' placeholders."""
    return F.when(col.isin(*placeholders), F.lit(None)).otherwise(col)


def follower_count_is_valid(col: Column) -> Column:
    """True where follower_count is null, a placeholder or a count the cleaning can convert."""
    trimmed = F.trim(col)
    return col.isNull() | trimmed.isin(*PLACEHOLDERS) | trimmed.rlike(FOLLOWER_COUNT_PATTERN)


def follower_count_to_int(col: Column) -> Column:
    """'437' -> 437, '26k' -> 26000, '6M' -> 6000000; placeholders and anything unparseable -> null."""
    trimmed = F.trim(col)
    number = F.regexp_extract(trimmed, FOLLOWER_COUNT_PATTERN, 1).try_cast("decimal(20,3)")
    suffix = F.lower(F.regexp_extract(trimmed, FOLLOWER_COUNT_PATTERN, 2))
    multiplier = F.when(suffix == "k", F.lit(1_000)).when(suffix == "m", F.lit(1_000_000)).otherwise(F.lit(1))
    return F.when(trimmed.rlike(FOLLOWER_COUNT_PATTERN), F.round(number * multiplier).cast("long"))


def parse_timestamp(col: Column) -> Column:
    """A timestamp from either source format; null when the text is in neither."""
    return F.coalesce(*[F.try_to_timestamp(col, F.lit(fmt)) for fmt in TIMESTAMP_FORMATS])


def timestamp_is_valid(col: Column) -> Column:
    """True where the text is null or a timestamp in one of the source formats."""
    return col.isNull() | parse_timestamp(col).isNotNull()


def save_location_path(col: Column) -> Column:
    """'Local save in /data/art' -> '/data/art': the path only, no leading text or space."""
    return F.trim(F.regexp_replace(col, r"^\s*Local save in\s*", ""))


def full_name(first: Column, last: Column) -> Column:
    """first + ' ' + last, skipping a missing part; null when both are missing."""
    name = F.trim(F.concat_ws(" ", first, last))
    return F.when(name != "", name)
