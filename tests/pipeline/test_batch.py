"""The batch job end to end on files in the exact sink layout: tables, accounting, incremental and idempotent runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from delta_tables import delta_notes, delta_rows, delta_versions

from pinterest_pipeline.cli import main
from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.insights import INSIGHTS
from pinterest_pipeline.jobs.batch import BatchConfig, run_batch

from .sink import sink_file

ENTITIES = ("pin", "geo", "user")


def pin(i, category="art", followers="1k", poster="p"):
    return {
        "index": i,
        "unique_id": f"u{i}",
        "title": f"title {i}",
        "description": "d",
        "poster_name": poster,
        "follower_count": followers,
        "tag_list": "a,b",
        "is_image_or_video": "image",
        "image_src": "s",
        "downloaded": 1,
        "save_location": f"Local save in /data/{category}",
        "category": category,
    }


def geo(i, timestamp="2019-03-01 10:00:00", country="Albania"):
    return {"ind": i, "timestamp": timestamp, "latitude": 1.5, "longitude": -2.5, "country": country}


def user(i, age=20, first="Ann", joined="2016-05-05 08:00:00"):
    return {"ind": i, "first_name": first, "last_name": f"L{i}", "age": age, "date_joined": joined}


def first_landing(raw: Path) -> None:
    sink_file(
        raw,
        "pinterest.pin",
        0,
        0,
        [pin(1), pin(2, "diy", "26k"), pin(1), "{not json", pin(5, followers="lots")],
    )
    sink_file(
        raw, "pinterest.geo", 0, 0, [geo(1), geo(2, "2020-01-02T03:04:05"), geo(1), geo(5, "yesterday")]
    )
    # The last line of a file need not end with a newline.
    sink_file(
        raw, "pinterest.user", 0, 0, [user(1), user(2, 41), user(1), user(5, age="old")], newline_at_end=False
    )


def second_landing(raw: Path) -> None:
    sink_file(
        raw,
        "pinterest.pin",
        0,
        5,
        [pin(3, "travel", "6M", " Bored Panda "), pin(2, "diy", "26k"), {"ind": 9, "title": "wrong shape"}],
    )
    sink_file(raw, "pinterest.pin", 1, 0, [pin(4, "travel", "User Info Error", "User Info Error")])
    sink_file(
        raw,
        "pinterest.geo",
        0,
        4,
        [geo(3, country="Chad"), geo(4, country="Chad"), geo(2, "2020-01-02T03:04:05")],
    )
    sink_file(raw, "pinterest.user", 0, 4, [user(3, 55), user(4, 30), user(2, 41)])


def table(lake: Path, name: str) -> list[dict]:
    rows = delta_rows(lake / name)
    for row in rows:
        row.pop("ingested_at", None)
        if "source" in row:
            row["source"] = row["source"].rsplit("/", 1)[-1]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def derived_tables(lake: Path) -> dict[str, list[dict]]:
    names = [f"{layer}/{e}" for layer in ("silver", "quarantine") for e in ENTITIES] + [
        f"gold/{n}" for n in INSIGHTS
    ]
    return {name: table(lake, name) for name in names}


def versions(lake: Path) -> dict[str, int]:
    return delta_versions(lake)


@pytest.fixture(scope="module")
def incremental(spark, tmp_path_factory):
    """Two runs over two landings, and a third with nothing new."""
    root = tmp_path_factory.mktemp("incremental")
    raw, lake = root / "raw", root / "lake"
    config = BatchConfig(str(raw), str(lake))
    first_landing(raw)
    first = run_batch(spark, config)
    after_first = derived_tables(lake)
    second_landing(raw)
    second = run_batch(spark, config)
    before_third = versions(lake)
    third = run_batch(spark, config)
    return {
        "lake": lake,
        "first": first,
        "second": second,
        "third": third,
        "after_first": after_first,
        "versions_before_third": before_third,
    }


def test_first_run_accounting(incremental):
    counts = incremental["first"].entities
    assert (
        counts["pin"].files,
        counts["pin"].read,
        counts["pin"].cleaned,
        counts["pin"].quarantined,
        counts["pin"].duplicates,
    ) == (1, 5, 2, 2, 1)
    assert (
        counts["geo"].read,
        counts["geo"].cleaned,
        counts["geo"].quarantined,
        counts["geo"].duplicates,
    ) == (4, 2, 1, 1)
    assert (
        counts["user"].read,
        counts["user"].cleaned,
        counts["user"].quarantined,
        counts["user"].duplicates,
    ) == (4, 2, 1, 1)


def test_second_run_reads_only_new_files(incremental):
    counts = incremental["second"].entities
    assert (counts["pin"].files, counts["pin"].read) == (2, 4)
    assert (counts["pin"].cleaned, counts["pin"].quarantined, counts["pin"].duplicates) == (2, 1, 1)
    assert (counts["geo"].files, counts["geo"].read, counts["geo"].cleaned, counts["geo"].duplicates) == (
        1,
        3,
        2,
        1,
    )
    for c in counts.values():
        assert c.read == c.cleaned + c.quarantined + c.duplicates


def test_rerun_with_nothing_new_changes_nothing(incremental):
    report = incremental["third"]
    assert not report.rebuilt
    assert all(c.read == 0 and c.files == 0 for c in report.entities.values())
    assert versions(incremental["lake"]) == incremental["versions_before_third"]


def test_quarantine_keeps_raw_text_reason_and_source(incremental):
    rows = table(incremental["lake"], "quarantine/pin")
    assert [(r["raw"], r["reason"], r["source"]) for r in rows] == sorted(
        [
            ("{not json", "malformed JSON", "pinterest.pin+0+0000000000.json:4"),
            (
                json.dumps(pin(5, followers="lots")),
                "unparseable follower_count: lots",
                "pinterest.pin+0+0000000000.json:5",
            ),
            ('{"ind": 9, "title": "wrong shape"}', "missing index", "pinterest.pin+0+0000000005.json:3"),
        ],
        key=lambda r: json.dumps({"raw": r[0], "reason": r[1], "source": r[2]}, sort_keys=True),
    )
    assert [r["reason"] for r in table(incremental["lake"], "quarantine/user")] == [
        "age is not an integer: old"
    ]


def test_silver_is_clean_and_one_row_per_ind(incremental):
    pins = table(incremental["lake"], "silver/pin")
    assert [r["ind"] for r in pins] == [1, 2, 3, 4]
    by_ind = {r["ind"]: r for r in pins}
    assert by_ind[3]["follower_count"] == 6_000_000 and by_ind[3]["poster_name"] == "Bored Panda"
    assert by_ind[4]["follower_count"] is None and by_ind[4]["poster_name"] is None
    assert by_ind[2]["save_location"] == "/data/diy"
    assert list(pins[0]) == [
        "ind",
        "unique_id",
        "title",
        "description",
        "follower_count",
        "poster_name",
        "tag_list",
        "is_image_or_video",
        "image_src",
        "save_location",
        "category",
    ]
    geos = {r["ind"]: r for r in table(incremental["lake"], "silver/geo")}
    assert geos[2]["timestamp"].isoformat() == "2020-01-02T03:04:05+00:00"
    assert geos[1]["coordinates"] == [1.5, -2.5]
    users = {r["ind"]: r for r in table(incremental["lake"], "silver/user")}
    assert users[3] == {"ind": 3, "user_name": "Ann L3", "age": 55, "date_joined": users[3]["date_joined"]}


def test_bronze_keeps_every_record_with_its_kafka_coordinates(incremental):
    rows = table(incremental["lake"], "bronze/pin")
    assert len(rows) == 9
    coordinates = sorted((r["partition"], r["offset"]) for r in rows)
    assert coordinates == [(0, o) for o in range(8)] + [(1, 0)]


def test_incremental_equals_full_recompute(spark, incremental, tmp_path):
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    first_landing(raw)
    second_landing(raw)
    report = run_batch(spark, BatchConfig(str(raw), str(lake)))
    assert derived_tables(lake) == derived_tables(incremental["lake"])
    assert {e: c.silver_total for e, c in report.entities.items()} == {"pin": 4, "geo": 4, "user": 4}


def test_gold_changed_with_the_second_landing(incremental):
    assert incremental["after_first"]["gold/most_followed_country"] == [
        {"country": "Albania", "follower_count": 26000}
    ]
    assert table(incremental["lake"], "gold/most_followed_country") == [
        {"country": "Chad", "follower_count": 6_000_000}
    ]


def test_missing_raw_root_is_one_line_and_non_zero(tmp_path, capsys):
    code = main(["batch", "--raw-root", str(tmp_path / "nowhere"), "--lake", str(tmp_path / "lake")])
    err = capsys.readouterr().err.strip()
    assert code == 3
    assert err == f"pinterest-pipeline batch: raw root not found: {tmp_path / 'nowhere'}"
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--topic-prefix", "bad prefix"], "invalid topic prefix 'bad prefix'"),
        (["--catalog", "main"], "--catalog and --schema go together"),
        (["--raw-root", "ftp://host/raw"], "unsupported raw root 'ftp://host/raw'"),
    ],
)
def test_bad_configuration_stops_before_any_write(tmp_path, capsys, args, message):
    base = {"--raw-root": str(tmp_path), "--lake": str(tmp_path / "lake")}
    extra = dict(zip(args[::2], args[1::2]))
    argv = ["batch"] + [x for k, v in {**base, **extra}.items() for x in (k, v)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_console_script_rejects_missing_arguments():
    result = subprocess.run(
        [sys.executable, "-m", "pinterest_pipeline.cli", "batch", "--lake", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "pinterest-pipeline batch: the following arguments are required: --raw-root "
        "(see pinterest-pipeline batch --help)\n"
    )


def test_config_validates_on_creation():
    with pytest.raises(ConfigError):
        BatchConfig("raw", "")


def test_relative_paths_are_the_same_lake(spark, tmp_path, monkeypatch, capsys):
    # `make demo` and a user in a shell pass relative paths; Spark's SQL finds no Delta table at a relative
    # delta.`path`, so every look at the lake must use the absolute one.
    first_landing(tmp_path / "raw")
    monkeypatch.chdir(tmp_path)
    assert main(["batch", "--raw-root", "raw", "--lake", "lake"]) == 0
    rows = {
        line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines() if line.split()
    }
    assert rows["pin"] == ["1", "5", "1", "2", "2"]  # files, read, duplicates, cleaned, quarantined
    assert len(delta_rows(tmp_path / "lake" / "silver" / "pin")) == 2
    assert len(delta_rows(tmp_path / "lake" / "gold" / "most_followed_country")) == 1


def test_array_values_land_as_their_objects_with_the_kafka_order_deciding_the_winner(spark, tmp_path):
    # One of the course's client scripts sends {"value": [row]}: the sink writes the line `[{...}]`.
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    path = sink_file(
        raw,
        "pinterest.pin",
        0,
        10,
        [
            [pin(1)],
            [pin(2, "diy"), {**pin(1), "title": "later"}, pin(3)],
            pin(2, "travel"),
            [pin(4), 5],
            [],
            [[pin(6)]],
            [pin(7), None],
            [pin(9), pin(10, followers="lots")],
        ],
    )
    # A file of earlier offsets (written second) comes first: its pin 3 wins, by element within its line.
    sink_file(raw, "pinterest.pin", 0, 2, [[{**pin(3), "title": "first"}, {**pin(3), "title": "second"}]])
    sink_file(raw, "pinterest.geo", 0, 0, [[geo(1, country="A"), geo(1, country="B")]])
    report = run_batch(spark, BatchConfig(str(raw), str(lake)))

    pins = {r["ind"]: r for r in table(lake, "silver/pin")}
    assert sorted(pins) == [1, 2, 3, 9]
    assert (pins[1]["title"], pins[2]["category"], pins[3]["title"]) == ("title 1", "diy", "first")
    assert [r["country"] for r in table(lake, "silver/geo")] == ["A"]
    name = path.name
    assert sorted((r["source"], r["reason"]) for r in table(lake, "quarantine/pin")) == [
        (f"{name}:4", "array holds a non-object: element 1 of 2 is a number"),
        (f"{name}:5", "empty array: no record in it"),
        (f"{name}:6", "array holds a non-object: element 0 of 1 is an array"),
        (f"{name}:7", "array holds a non-object: element 1 of 2 is null"),
        (f"{name}:8[1]", "unparseable follower_count: lots"),
    ]
    quarantined = {r["source"]: r["raw"] for r in table(lake, "quarantine/pin")}
    assert json.loads(quarantined[f"{name}:8[1]"]) == pin(10, followers="lots")  # the element's own text
    assert json.loads(quarantined[f"{name}:4"]) == [pin(4), 5]  # the whole line
    # Bronze keeps one row per line, as it came.
    assert len(delta_rows(lake / "bronze" / "pin")) == 9
    pins_counts = report.entities["pin"]
    # read counts records: 1 + 3 + 1 + 1 + 1 + 1 + 1 + 2 lines of the first file, 2 in the second.
    assert (pins_counts.read, pins_counts.cleaned, pins_counts.quarantined, pins_counts.duplicates) == (
        13,
        4,
        5,
        4,
    )
    geos = report.entities["geo"]
    assert (geos.read, geos.cleaned, geos.quarantined, geos.duplicates) == (2, 1, 0, 1)


def test_summary_names_the_reasons_and_warns_when_every_record_was_rejected(tmp_path, capsys):
    # A client script that writes timestamps as YYYY:MM:DD HH:MM:SS: every geo and user record is rejected.
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    stamp = "2019:03:01 10:00:00"
    sink_file(raw, "pinterest.geo", 0, 0, [geo(i, timestamp=stamp) for i in range(1, 4)])
    sink_file(raw, "pinterest.user", 0, 0, [user(i, joined=stamp) for i in range(1, 4)])
    bad_pins = ["{bad"] * 3 + [pin(20, followers="lots"), pin(21, followers="lots"), [], [5], {"ind": 9}]
    sink_file(raw, "pinterest.pin", 0, 0, [pin(1), pin(2), *bad_pins])
    assert main(["batch", "--raw-root", str(raw), "--lake", str(lake)]) == 0
    out = capsys.readouterr().out.splitlines()
    reasons = [line for line in out if line.startswith(("quarantined ", "warning: "))]
    assert reasons == [
        (
            "quarantined pin: malformed JSON 3; unparseable follower_count 2 (e.g. lots); "
            "array holds a non-object 1 (e.g. element 0 of 1 is a number); and 2 more reasons"
        ),
        "quarantined geo: unparseable timestamp 3 (e.g. 2019:03:01 10:00:00)",
        (
            "warning: every geo record was quarantined (3 of 3): top reason unparseable timestamp 3 "
            "(e.g. 2019:03:01 10:00:00)"
        ),
        "quarantined user: unparseable date_joined 3 (e.g. 2019:03:01 10:00:00)",
        (
            "warning: every user record was quarantined (3 of 3): top reason unparseable date_joined 3 "
            "(e.g. 2019:03:01 10:00:00)"
        ),
    ]
    # A second landing: the reasons are this run's only.
    sink_file(raw, "pinterest.geo", 0, 3, [geo(4), geo(5, timestamp="soon")])
    assert main(["batch", "--raw-root", str(raw), "--lake", str(lake)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith(("quarantined ", "warning: "))] == [
        "quarantined geo: unparseable timestamp 1 (e.g. soon)"
    ]


def late_day_one(raw: Path) -> None:
    sink_file(raw, "pinterest.pin", 0, 10, [{**pin(3), "title": "later"}, pin(5, followers="lots")])


def late_day_two(raw: Path) -> None:
    # A file of earlier offsets lands a day late: its pin 3 is the post's first record and wins. Pin 5, rejected on
    # day one, comes again clean.
    sink_file(raw, "pinterest.pin", 0, 2, [{**pin(3), "title": "first"}, pin(7)])
    sink_file(raw, "pinterest.pin", 0, 20, [pin(5)])


def _stop_before_silver_order(monkeypatch) -> None:
    from pinterest_pipeline.jobs import batch

    merge = batch._merge

    def stopping(store, name, *args, **kwargs):
        if name.startswith("silver_order/"):
            raise KeyboardInterrupt(f"stopped before writing {name}")
        return merge(store, name, *args, **kwargs)

    monkeypatch.setattr(batch, "_merge", stopping)


@pytest.fixture(scope="module")
def late_landing(spark, tmp_path_factory):
    """Day one, then day two with a file of earlier offsets: incrementally, all at once, and with day two's run
    stopped between silver and silver_order, then run again."""
    root = tmp_path_factory.mktemp("late")
    raw, lake = root / "raw", root / "lake"
    late_day_one(raw)
    run_batch(spark, BatchConfig(str(raw), str(lake)))
    stopped = root / "stopped"
    shutil.copytree(lake, stopped)
    late_day_two(raw)
    day_two = run_batch(spark, BatchConfig(str(raw), str(lake)))
    with pytest.MonkeyPatch.context() as monkeypatch:
        _stop_before_silver_order(monkeypatch)
        with pytest.raises(KeyboardInterrupt):
            run_batch(spark, BatchConfig(str(raw), str(stopped)))
    notes = {name: delta_notes(stopped / name)[-1] for name in ("silver/pin", "silver_order/pin")}
    rerun = run_batch(spark, BatchConfig(str(raw), str(stopped)))
    full = root / "full"
    run_batch(spark, BatchConfig(str(raw), str(full)))
    return {
        "lake": lake,
        "stopped": stopped,
        "full": full,
        "day_two": day_two,
        "notes": notes,
        "rerun": rerun,
    }


def test_a_record_ahead_in_kafka_order_landing_later_replaces_its_silver_row(late_landing):
    pins = {r["ind"]: r["title"] for r in table(late_landing["lake"], "silver/pin")}
    assert pins == {3: "first", 5: "title 5", 7: "title 7"}
    assert [r["reason"] for r in table(late_landing["lake"], "quarantine/pin")] == [
        "unparseable follower_count: lots"
    ]
    counts = late_landing["day_two"].entities["pin"]
    # Pin 3 replaced a row (a duplicate to the accounting: silver holds as many posts), 5 and 7 are new.
    assert (counts.read, counts.cleaned, counts.quarantined, counts.duplicates) == (3, 2, 0, 1)
    assert counts.silver_total == 3


def test_a_late_record_merged_incrementally_equals_a_full_recompute(late_landing):
    assert derived_tables(late_landing["lake"]) == derived_tables(late_landing["full"])


def test_a_run_stopped_between_silver_and_silver_order_is_caught_up_by_the_next(late_landing):
    silver, order = (json.loads(late_landing["notes"][n]) for n in ("silver/pin", "silver_order/pin"))
    assert silver["bronze_through"] > order["bronze_through"]  # the stop left silver_order behind
    assert derived_tables(late_landing["stopped"]) == derived_tables(late_landing["full"])
    assert table(late_landing["stopped"], "silver_order/pin") == table(
        late_landing["full"], "silver_order/pin"
    )
    assert late_landing["rerun"].entities["pin"].silver_total == 3


def test_marks_lifted_by_a_runs_progress_keep_a_missing_table_missing():
    from pinterest_pipeline.jobs.batch import _Marks

    marks = _Marks(silver=30, order=20, quarantine=10)
    assert marks.low() == 10
    assert marks.lifted(25) == _Marks(30, 25, 25)
    assert marks.lifted(None) == marks
    assert _Marks(None, 20, 10).lifted(40) == _Marks(None, 40, 40)
    assert _Marks(None, 20, 10).low() is None


def test_an_incremental_run_looks_up_silver_order_without_shuffling_it(spark, late_landing, capsys):
    """The positions silver_order holds for a run's new posts are found through broadcasts of those posts' ids:
    a join as they come would shuffle and sort every row of silver_order, once per entity per run. Broadcasts
    are left to the hints alone (no size-based choice), so the plan shows what the code asks for."""
    from pinterest_pipeline.jobs.batch import _changed_winners
    from pinterest_pipeline.lake import make_store
    from pinterest_pipeline.refine import validate
    from pinterest_pipeline.schemas import BRONZE_SCHEMA

    store = make_store(spark, str(late_landing["lake"]))
    validated = validate(store.read("bronze/pin", BRONZE_SCHEMA), "pin")
    threshold = spark.conf.get("spark.sql.autoBroadcastJoinThreshold")
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    try:
        changed = _changed_winners(store, validated, "pin", mark=0, full=False)
        capsys.readouterr()
        changed.explain()
        plan = capsys.readouterr().out
        rows = changed.collect()
    finally:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", threshold)
    joins = [line for line in plan.splitlines() if "Join" in line]
    assert len(joins) == 2 and all("BroadcastHashJoin" in line for line in joins), plan
    assert any("LeftSemi" in line for line in joins), plan
    # What the lookup finds: every post of bronze is in silver_order already, none of its records ahead of it
    # (a lookup that missed them would return every post, as new).
    assert rows == []
