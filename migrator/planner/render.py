"""Deterministic multi-document YAML of Kubernetes objects.

Strings that came from a VM (hostnames, paths, command lines) may hold anything. The safe
dumper quotes whatever would not read back as the same string; on top of that, any string
with a line break, a control or a format character is written double-quoted, where every
such character is an escape (PyYAML would otherwise fold U+0085 and friends into spaces).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import yaml
from kubernetes.client import ApiClient

WIDTH = 1 << 20   # never fold long lines: a folded scalar is harder to diff and review
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


# libyaml's emitter when PyYAML has it (its wheels do): the same output, several times faster.
_BASE = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BASE):
    """Safe dumper that double-quotes strings holding line breaks or invisible characters."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # isprintable() is False for every unsafe category (and for a few harmless spaces): a fast pass
    if not value.isprintable() and any(unicodedata.category(ch) in _UNSAFE_CATEGORIES for ch in value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


@lru_cache(maxsize=1)
def _api_client() -> ApiClient:
    return ApiClient()      # only its pure serializer is used; building one per object is slow


def to_data(obj: Any) -> Any:
    """Plain dicts/lists/scalars of a client model (None fields dropped, API field names)."""
    return _api_client().sanitize_for_serialization(obj)


def render_yaml(objects: Iterable[Any]) -> str:
    """One '---' document per object, in the given order, keys in API model order."""
    docs = [to_data(o) for o in objects]
    if not docs:
        return ""
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, explicit_start=True, allow_unicode=True,
                         width=WIDTH, default_flow_style=False)
