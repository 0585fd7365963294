from __future__ import annotations

import re

import pytest

from migrator.planner.names import dns1035, dns1123, label_value

LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@pytest.mark.parametrize("name", ["redis", "a", "redis-db1", "0abc", "x" * 63])
def test_valid_label_is_unchanged(name):
    assert dns1123(name) == name


@pytest.mark.parametrize("text, expected", [
    ("Redis_Server", "redis-server"),
    ("--web..app--", "web-app"),
    ("db1.example.com", "db1-example-com"),
    ("Ünïcödé app", "unicode-app"),
    ("a   b", "a-b"),
])
def test_invalid_text_is_cleaned(text, expected):
    assert dns1123(text) == expected


@pytest.mark.parametrize("text", ["", "---", "日本語", "!!!", "x" * 200, "A" * 64, "a-" * 40, "\n\x01"])
def test_result_is_always_a_valid_label(text):
    for max_len in (63, 47, 10):
        name = dns1123(text, max_len)
        assert LABEL.fullmatch(name) and len(name) <= max_len, (text, name)


def test_truncation_is_stable_and_keeps_distinct_inputs_distinct():
    a, b = "x" * 70 + "a", "x" * 70 + "b"
    assert dns1123(a) == dns1123(a)
    assert dns1123(a) != dns1123(b)
    assert len(dns1123(a)) == 63


def test_dns1035_starts_with_a_letter():
    assert dns1035("1app-db1") == "x-1app-db1"
    assert dns1035("redis") == "redis"


def test_label_value_keeps_valid_values_and_cleans_others():
    assert label_value("python-app") == "python-app"
    assert label_value("Java_App.v2") == "Java_App.v2"
    assert label_value("bad value!") == "bad-value"
