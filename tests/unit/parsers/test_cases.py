"""Every real-world case in tests/fixtures/cases reads as its .expected.json says."""
from __future__ import annotations

import pytest

from analyzers.parsers import crontabs, df, lsblk, mounts, processes, ss, systemctl
from parser_fixtures import assert_matches, case, case_stems, neutral


def _stat_lines(text: str):
    return [processes.parse_stat_line(line) for line in text.splitlines() if line.strip()]


def _crontab(text: str):
    cron = neutral(crontabs.crontab(text, "appuser"))
    return {"variables": cron["variables"], "entries": cron["entries"]}


# case number -> (reader, fields we carry beyond the neutral schema)
READERS = {
    "06": (ss.parse, frozenset()),
    "07": (ss.parse, frozenset()),
    "08": (_stat_lines, frozenset()),
    "14": (df.parse, frozenset()),
    "18": (mounts.parse, frozenset()),
    "21": (lsblk.lsblk_tree, frozenset({"fstype"})),
    "24": (systemctl.parse_unit_files, frozenset()),
    "28": (_crontab, frozenset({"user", "line_no"})),
}


def test_every_case_has_a_reader():
    assert {stem[:2] for stem in case_stems()} <= set(READERS)


@pytest.mark.parametrize("stem", case_stems())
def test_case(stem):
    text, expected = case(stem)
    reader, extra = READERS[stem[:2]]
    assert_matches(neutral(reader(text)), expected, extra)


def test_case_08_comm_between_first_open_and_last_close_paren():
    text, _ = case("08-proc-stat-comm-parens")
    rows = _stat_lines(text)
    assert [r["comm"] for r in rows] == ["run (x) .sh", "a) R 1 (b"]
    assert rows[1]["ppid"] == 4200 and rows[1]["state"] == "S"


def test_case_14_wrapped_device_also_under_posix_header():
    text, _ = case("14-df-wrapped-long-device")
    posix = text.replace("1K-blocks      Used Available Use%", "1024-blocks    Used Available Capacity")
    assert [e.filesystem for e in df.parse(posix)] == [e.filesystem for e in df.parse(text)]
