"""Every probe section has a parser; empty input reads as an empty result, never an error."""
from __future__ import annotations

import re

import pytest

from analyzers.facts import load_parsers
from analyzers.probe_bundle import SINGLE_FILES
from parser_fixtures import ROOT, SECTIONS

# the sections the probe prints itself, and those its bundles stand for (analyzers/probe_bundle.py)
PROBE_SECTIONS = sorted(set(re.findall(r"\b[rc]?sect ([a-z_0-9]+) ", (ROOT / "migrator/collect/probe.sh").read_text()))
                        | set(SINGLE_FILES.values()) | {"unit_files", "crontabs", "packages_dpkg"})


def test_every_probe_section_has_a_parser_and_fixtures():
    registry = load_parsers()
    assert set(PROBE_SECTIONS) <= set(registry)
    for name in PROBE_SECTIONS:
        assert len(list((SECTIONS / name).glob("*.txt"))) >= 2, name


@pytest.mark.parametrize("name", PROBE_SECTIONS)
def test_empty_input(name):
    result = load_parsers()[name]("")
    assert not result or getattr(result, "count", None) == 0


@pytest.mark.parametrize("path", sorted(SECTIONS.glob("*/*.txt")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_fixture_reads(path):
    parse = load_parsers()[path.parent.name]
    result = parse(path.read_bytes().decode("utf-8"))
    assert result or path.stem.startswith("empty")
