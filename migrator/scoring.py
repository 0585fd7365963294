"""Findings against a truth file: precision and recall per kind of finding.

The truth file (the lab writes one; see tests/lab) names applications as "HOST/SOFTWARE"; found
applications are mapped to the same names, so the two sides compare as sets of tuples.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from analyzers.estate import EstateFindings, analyze_estate
from analyzers.findings import HostFindings
from migrator.errors import InputError

KINDS = ("applications", "stateful", "state_paths", "ports", "peers", "order", "clusters", "daemons", "jobs")


@dataclass(frozen=True)
class KindScore:
    kind: str
    truth: int
    found: int
    matched: int
    missed: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else (1.0 if not self.truth else 0.0)

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "truth": self.truth, "found": self.found, "matched": self.matched,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "missed": list(self.missed), "extra": list(self.extra)}


def load_truth(path: Path) -> dict[str, Any]:
    try:
        truth = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"truth file {path} does not exist", "truth") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"truth file {path} is not readable JSON: {exc}", "truth") from None
    if not isinstance(truth, dict) or truth.get("version") != 1 or not isinstance(truth.get("applications"), list):
        raise InputError(f"truth file {path}: expected {{\"version\": 1, \"applications\": [...], ...}}", "truth")
    try:
        truth_items(truth)
    except KeyError as exc:
        raise InputError(f"truth file {path}: an entry lacks the field {exc}", "truth") from None
    except (TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"truth file {path}: an entry has the wrong shape ({exc})", "truth") from None
    return truth


def truth_items(truth: Mapping[str, Any]) -> dict[str, set[tuple]]:
    apps = truth.get("applications", [])
    items: dict[str, set[tuple]] = {kind: set() for kind in KINDS}
    for a in apps:
        ref = f"{a['host']}/{a['software']}"
        items["applications"].add((ref,))
        items["stateful"].add((ref, bool(a.get("stateful"))))
        items["state_paths"].update((ref, p) for p in a.get("state_paths", []))
        items["ports"].update((ref, p["port"], p.get("scope", "all")) for p in a.get("ports", []))
    items["peers"] = {(p["client"], p["server"], p["port"]) for p in truth.get("peers", [])}
    items["order"] = {(o["before"], o["after"]) for o in truth.get("order", [])}
    items["clusters"] = {(c["software"], tuple(sorted(c["members"].items()))) for c in truth.get("clusters", [])}
    items["daemons"] = {(d["software"], h) for d in truth.get("daemons", []) for h in d["hosts"]}
    items["jobs"] = {(j["host"], j["schedule"], j["user"], j["command"]) for j in truth.get("jobs", [])}
    return items


def found_items(estate: EstateFindings) -> dict[str, set[tuple]]:
    def name(ref: str) -> str:
        host, app = estate.apps[ref]
        return f"{host}/{app.software}"

    items: dict[str, set[tuple]] = {kind: set() for kind in KINDS}
    for ref, (_host, app) in estate.apps.items():
        n = name(ref)
        items["applications"].add((n,))
        items["stateful"].add((n, app.stateful))
        items["state_paths"].update((n, s.path) for s in app.state if s.kind == "data")
        items["ports"].update((n, l.port, l.scope) for l in app.listeners)
    items["peers"] = {(name(p.client), name(p.server), p.port) for p in estate.peers}
    items["order"] = {(name(o.before), name(o.after)) for o in estate.order}
    items["clusters"] = {(c.software, tuple(sorted((name(r), role) for r, role in c.members)))
                         for c in estate.clusters}
    items["daemons"] = {(d.software, h) for d in estate.daemons for h in d.hosts}
    items["jobs"] = {(host, j.schedule, j.user, j.command) for host, j in estate.jobs}
    return items


def _text(item: tuple) -> str:
    return " ".join(str(x) for x in item)


def score(truth: Mapping[str, Any], hosts: Sequence[tuple[str, HostFindings]]) -> list[KindScore]:
    want, got = truth_items(truth), found_items(analyze_estate(hosts))
    return [KindScore(kind, len(want[kind]), len(got[kind]), len(want[kind] & got[kind]),
                      tuple(sorted(_text(i) for i in want[kind] - got[kind])),
                      tuple(sorted(_text(i) for i in got[kind] - want[kind])))
            for kind in KINDS]


def render(scores: Sequence[KindScore], details: bool = True) -> str:
    lines = [f"{'kind':<14}{'truth':>6}{'found':>6}{'match':>6}{'precision':>11}{'recall':>9}"]
    for s in scores:
        lines.append(f"{s.kind:<14}{s.truth:>6}{s.found:>6}{s.matched:>6}{s.precision:>10.1%}{s.recall:>9.1%}")
    if details:
        for s in scores:
            lines += [f"  missed {s.kind}: {m}" for m in s.missed]
            lines += [f"  extra  {s.kind}: {e}" for e in s.extra]
    return "\n".join(lines)
