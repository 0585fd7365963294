"""Helpers of the parser tests: recorded section texts and the real-world cases."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SECTIONS = ROOT / "tests" / "fixtures" / "sections"
CASES = ROOT / "tests" / "fixtures" / "cases"


def section(name: str, variant: str) -> str:
    """The recorded text of one section variant, byte for byte (no newline translation)."""
    return (SECTIONS / name / f"{variant}.txt").read_bytes().decode("utf-8")


def variants(name: str) -> list[str]:
    return sorted(p.stem for p in (SECTIONS / name).glob("*.txt"))


def case(stem: str) -> tuple[str, object]:
    """(input without its '# command:' line, expected neutral reading)."""
    raw = (CASES / f"{stem}.txt").read_bytes().decode("utf-8")
    first, _, rest = raw.partition("\n")
    assert first.startswith("# command:"), stem
    expected = json.loads((CASES / f"{stem}.expected.json").read_text(encoding="utf-8"))
    return rest, expected


def case_stems() -> list[str]:
    return sorted(p.name[:-len(".txt")] for p in CASES.glob("*.txt"))


def neutral(obj):
    """Our records in the cases' neutral schema: dicts, lists, `pass_` spelled `pass`."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {("pass" if f.name == "pass_" else f.name): neutral(getattr(obj, f.name))
                for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [neutral(x) for x in obj]
    if isinstance(obj, dict):
        return {k: neutral(v) for k, v in obj.items()}
    return obj


def assert_matches(actual, expected, ignore: frozenset[str] = frozenset(), path: str = "$") -> None:
    """`actual` reads as `expected`: every expected key equal; a key the schema leaves out
    must be null/false in ours (the cases omit `interface: null`, `ipv4_mapped: false`) or be
    one we carry beyond the schema (`ignore`)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}: missing {key}"
            assert_matches(actual[key], value, ignore, f"{path}.{key}")
        for key, value in actual.items():
            if key not in expected and key not in ignore:
                assert value in (None, False), f"{path}.{key}: {value!r} not in expected"
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_matches(a, e, ignore, f"{path}[{i}]")
    else:
        assert actual == expected and type(actual) is type(expected), f"{path}: {actual!r} != {expected!r}"
