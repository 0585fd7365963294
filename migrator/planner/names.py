"""Kubernetes names: every name the planner emits passes through here.

A DNS-1123 label is at most 63 characters of [a-z0-9-], starting and ending with a letter or
digit. Names that must also be DNS-1035 labels (Services) start with a letter.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HASH_LEN = 6


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def _clean(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", folded)).strip("-")


def dns1123(text: str, max_len: int = 63) -> str:
    """A valid DNS-1123 label made from `text`; a valid label comes back unchanged.

    Too long or empty results end in '-' and a short hash of the original text, so two
    different long inputs stay different and the same input always gives the same name.
    """
    if not 1 <= max_len <= 63:
        raise ValueError(f"max_len must be between 1 and 63, not {max_len}")
    if len(text) <= max_len and _LABEL.fullmatch(text):
        return text
    cleaned = _clean(text)
    if cleaned and len(cleaned) <= max_len:
        return cleaned
    suffix = _digest(text)
    if max_len <= _HASH_LEN + 1:
        return suffix[:max_len]
    head = cleaned[: max_len - _HASH_LEN - 1].rstrip("-")
    return f"{head}-{suffix}" if head else suffix


def dns1035(text: str, max_len: int = 63) -> str:
    """Like dns1123, but the name starts with a letter (required of Service names)."""
    name = dns1123(text, max_len)
    if name[0].isalpha():
        return name
    return dns1123(f"x-{name}", max_len)


def label_value(text: str) -> str:
    """A valid label value (at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends)."""
    if len(text) <= 63 and re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", text):
        return text
    return dns1123(text)
