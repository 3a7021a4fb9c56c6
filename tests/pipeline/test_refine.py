"""The summary lines of quarantine reasons (no Spark: the counts are given)."""

from pinterest_pipeline.refine import ReasonCount, reason_lines


def test_no_reasons_no_lines():
    assert reason_lines("pin", 10, []) == []


def test_top_three_and_the_rest_counted():
    reasons = [
        ReasonCount("malformed JSON", 1200, "malformed JSON"),
        ReasonCount("missing index", 30, "missing index"),
        ReasonCount("unparseable follower_count", 4, "unparseable follower_count: lots"),
        ReasonCount("missing fields", 1, "missing fields: title"),
    ]
    assert reason_lines("pin", 5000, reasons) == [
        (
            "quarantined pin: malformed JSON 1,200; missing index 30; unparseable follower_count 4 (e.g. lots); "
            "and 1 more reason"
        )
    ]


def test_all_rejected_warns_and_a_long_value_stays_on_one_short_line():
    value = "2019:03:01\n10:00:00 " + "x" * 500
    (summary, warning) = reason_lines(
        "geo", 7, [ReasonCount("unparseable timestamp", 7, f"unparseable timestamp: {value}")]
    )
    shown = "unparseable timestamp 7 (e.g. 2019:03:01 10:00:00 " + "x" * 40 + "...)"
    assert summary == f"quarantined geo: {shown}"
    assert warning == f"warning: every geo record was quarantined (7 of 7): top reason {shown}"
