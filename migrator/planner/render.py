"""Deterministic multi-document YAML of Kubernetes objects.

Strings that came from a VM (hostnames, paths, command lines) may hold anything. The safe
dumper quotes whatever would not read back as the same string; on top of that, any string
with a line break, a control or a format character is written double-quoted, where every
such character is an escape (PyYAML would otherwise fold U+0085 and friends into spaces).

Speed (a plan of 10,000 hosts is 50 MB of YAML): the client models become plain data through a
fast path for plain dicts, lists and scalars (the client's own serializer for anything else), the
plain data becomes the emitter's nodes in one tight function (PyYAML's generic representer for any
other type), and the implicit tag of each scalar is resolved once per distinct value. The output
is exactly PyYAML's.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import yaml
from kubernetes.client import ApiClient
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

WIDTH = 1 << 20   # never fold long lines: a folded scalar is harder to diff and review
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_STR, _INT, _BOOL, _NULL = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool",
                            "tag:yaml.org,2002:null")
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


# libyaml's emitter when PyYAML has it (its wheels do): the same output, several times faster.
_BASE = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _needs_quotes(value: str) -> bool:
    # isprintable() is False for every unsafe category (and for a few harmless spaces): a fast pass
    return not value.isprintable() and any(unicodedata.category(ch) in _UNSAFE_CATEGORIES for ch in value)


def _style(value: str) -> str | None:
    """None (plain where the emitter may), '|' for a multi-line text a reviewer should read as it
    is (a config file; the emitter still double-quotes it when a literal block cannot hold it
    exactly), '"' for anything else with invisible or control characters."""
    if value.isprintable() or not _needs_quotes(value):
        return None
    if "\n" in value.strip("\n") and not value.endswith("\n\n") and not _needs_quotes(value.replace("\n", "")):
        return "|"
    return '"'


class _Dumper(_BASE):
    """Safe dumper: multi-line texts as literal blocks, strings with invisible characters double-quoted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tags: dict = {}

    def represent(self, data: Any) -> None:
        # The fast path builds the nodes PyYAML's represent_data would: block style everywhere
        # (default_flow_style=False), keys in the given order, no style unless quoting is forced.
        # It never makes aliases: every dict and list to_data returns is a new object, so PyYAML
        # makes none either. Any other setting takes PyYAML's own path.
        if self.default_flow_style is not False or self.default_style is not None or self.sort_keys:
            return super().represent(data)
        self.serialize(self._node(data))
        self.represented_objects = {}
        self.object_keeper = []
        self.alias_key = None

    def _node(self, data: Any):
        t = type(data)
        if t is str:
            return ScalarNode(_STR, data, None, None, _style(data))
        if t is dict:
            node = self._node
            pairs = []
            for k, v in data.items():
                key = ScalarNode(_STR, k, None, None, _style(k)) if type(k) is str else node(k)
                if type(v) is str:
                    pairs.append((key, ScalarNode(_STR, v, None, None, _style(v))))
                else:
                    pairs.append((key, node(v)))
            return MappingNode(_MAP, pairs, None, None, False)
        if t is list:
            node = self._node
            return SequenceNode(_SEQ, [node(v) for v in data], None, None, False)
        if t is bool:
            return ScalarNode(_BOOL, "true" if data else "false")
        if t is int:
            return ScalarNode(_INT, str(data))
        if data is None:
            return ScalarNode(_NULL, "null")
        return self.represent_data(data)     # floats, tuples, dates...: PyYAML's representers

    def resolve(self, kind, value, implicit):
        # The same answer as Resolver.resolve, which without path resolvers is a function of its
        # arguments: a scalar not resolved implicitly is a str; the others are looked up once per value.
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        if not implicit[0]:
            return self.DEFAULT_SCALAR_TAG
        try:
            return self._tags[value]
        except KeyError:
            tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = _style(value)
    if style:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)

_AS_IS = frozenset({str, int, bool, float, type(None)})


class _Serializer(ApiClient):
    """The client's sanitize_for_serialization, with a fast path for plain dicts, lists and
    scalars of exactly those types (what it would return unchanged or copy)."""

    def sanitize_for_serialization(self, obj):
        t = type(obj)
        if t in _AS_IS:
            return obj
        if t is dict:
            plain = self.sanitize_for_serialization
            return {k: v if type(v) in _AS_IS else plain(v) for k, v in obj.items()}
        if t is list:
            plain = self.sanitize_for_serialization
            return [v if type(v) in _AS_IS else plain(v) for v in obj]
        return super().sanitize_for_serialization(obj)


@lru_cache(maxsize=1)
def _api_client() -> ApiClient:
    return _Serializer()      # only its pure serializer is used; building one per object is slow


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
