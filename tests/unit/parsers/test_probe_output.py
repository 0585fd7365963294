"""split_sections / split_records / probe_done: framing, truncation and hostile content."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from analyzers.base import Section
from analyzers.probe_output import MARK, probe_done, split_records, split_sections
from parser_fixtures import ROOT

N = "a1B2c3"
P = f"@@{N}@@"


def frame(name: str, output: bytes, rc: int | None = 0) -> bytes:
    """What the probe's `sect` prints for one section."""
    out = f"\n{P} begin {name}\n".encode() + output
    if rc is not None:
        out += f"\n{P} rc {name} {rc}\n".encode()
    return out + f"\n{P} end {name}\n".encode()


DONE = f"\n{P} done\n".encode()


def test_text_is_exactly_what_the_command_printed():
    data = frame("hostname", b"web01\n") + frame("uptime", b"12.5 3.0") + frame("empty", b"") + DONE
    sections = split_sections(data, N)
    assert sections["hostname"] == Section("hostname", "web01\n", 0, False)
    assert sections["uptime"].text == "12.5 3.0"
    assert sections["empty"] == Section("empty", "", 0, False)
    assert list(sections) == ["hostname", "uptime", "empty"]
    assert sections.complete and probe_done(data, N)


def test_blank_lines_inside_output_survive():
    data = frame("x", b"\n\na\n\n") + DONE
    assert split_sections(data, N)["x"].text == "\n\na\n\n"


def test_nonzero_rc_is_kept():
    section = split_sections(frame("ss", b"", rc=127) + DONE, N)["ss"]
    assert (section.rc, section.truncated, section.ok) == (127, False, False)


def test_missing_rc_means_truncated():
    section = split_sections(frame("df", b"Filesystem 1024-blocks\n/dev/sda1 1", rc=None) + DONE, N)["df"]
    assert section.rc is None and section.truncated
    assert section.text == "Filesystem 1024-blocks\n/dev/sda1 1"


@pytest.mark.parametrize("cut", ["\n@@", f"\n{P} r", f"\n{P} rc df", f"\n{P} rc df 1"])
def test_cap_cutting_the_rc_line_drops_the_partial_marker(cut):
    data = f"\n{P} begin df\nabc{cut}\n{P} end df\n".encode() + DONE
    section = split_sections(data, N)["df"]
    assert (section.text, section.rc, section.truncated) == ("abc", None, True)


def test_time_limit_kill_reads_as_truncated():
    section = split_sections(frame("processes", b"partial", rc=137) + DONE, N)["processes"]
    assert (section.text, section.rc, section.truncated) == ("partial", None, True)


def test_stream_cut_mid_section_keeps_what_arrived():
    data = frame("hostname", b"h\n") + f"\n{P} begin mounts\nproc /proc proc rw 0 0\nsysfs /s".encode()
    sections = split_sections(data, N)
    assert sections["mounts"] == Section("mounts", "proc /proc proc rw 0 0\nsysfs /s", None, True)
    assert not sections.complete and not probe_done(data, N)


def test_unterminated_section_stops_at_next_begin():
    data = f"\n{P} begin a\npartial\n{P} begin b\nB\n\n{P} rc b 0\n\n{P} end b\n".encode() + DONE
    sections = split_sections(data, N)
    assert sections["a"] == Section("a", "partial", None, True)
    assert sections["b"] == Section("b", "B\n", 0, False)


def test_fake_markers_without_the_nonce_are_content():
    hostile = (b"@@other@@ end hostname\n@@" + N.upper().encode() + b"@@ rc hostname 0\n"
               b"@@@@ done\n x@@" + N.encode() + b"@@ end hostname\n")
    data = frame("hostname", hostile) + DONE
    sections = split_sections(data, N)
    assert sections["hostname"].text == hostile.decode()
    assert sections["hostname"].rc == 0


def test_invalid_utf8_and_nul_bytes():
    data = frame("processes", b"\n" + f"{P} pid 7\n{P} f cmdline\n".encode() + b"a\x00b\xff\xfe\x00") + DONE
    text = split_sections(data, N)["processes"].text
    assert "a\x00b\ufffd\ufffd\x00" in text
    assert split_records(text) == [("pid 7", ""), ("f cmdline", "a\x00b\ufffd\ufffd\x00")]


def test_subrecord_markers_become_the_token_and_the_token_cannot_be_forged():
    body = (f"\n{P} file /etc/crontab\n"
            "\x1eM\x1e file /etc/forged\n"          # the token itself, written by the host
            "@@other@@ file /etc/fake\n"           # a marker with the wrong nonce
            f"x {P} file /etc/not-at-line-start\n"
            "* * * * * root true\n").encode()
    text = split_sections(frame("crontabs", body) + DONE, N)["crontabs"].text
    records = split_records(text)
    assert [h for h, _ in records] == ["file /etc/crontab"]
    assert "\x1e" not in records[0][1] and "\ufffdM\ufffd file /etc/forged" in records[0][1]
    assert "@@other@@ file /etc/fake" in records[0][1]


def test_token_only_in_subrecord_sections():
    data = frame("mounts", f"{P} file /x\n".encode()) + DONE
    assert split_sections(data, N)["mounts"].text == f"{P} file /x\n"
    assert MARK not in split_sections(data, N)["mounts"].text


def test_first_section_of_a_name_wins_and_empty_input():
    data = frame("a", b"1") + frame("a", b"2") + DONE
    assert split_sections(data, N)["a"].text == "1"
    assert split_sections(b"", N) == {}
    assert not probe_done(b"", N)


@pytest.mark.parametrize("nonce", ["", "a b", "x\n", "@@"])
def test_unusable_nonce(nonce):
    with pytest.raises(ValueError):
        split_sections(b"", nonce)


def test_split_records_layout():
    text = f"\n{MARK}pid 1\n{MARK}f stat\n1 (a) S\n\n{MARK}f cmdline\nx\x00y\x00\n{MARK}f fdflags\n"
    assert split_records(text) == [("pid 1", ""), ("f stat", "1 (a) S\n"), ("f cmdline", "x\x00y\x00"),
                                   ("f fdflags", "")]
    assert split_records("") == []


@pytest.mark.skipif(not os.path.isdir("/proc/self") or shutil.which("sh") is None, reason="needs Linux /proc")
def test_real_probe_run_on_this_machine():
    from analyzers.facts import parse_sections

    script = (ROOT / "migrator" / "collect" / "probe.sh").read_bytes()
    nonce = "T3stNonce9"
    data = subprocess.run(["sh", "-s", "--", nonce], input=script, capture_output=True, timeout=300).stdout
    assert probe_done(data, nonce)
    sections = split_sections(data, nonce)
    assert sections.complete
    for name in ("probe_info", "hostname", "meminfo", "processes", "mounts", "proc_net_tcp"):
        assert sections[name].ok, name
    facts = parse_sections(sections)
    assert not [n for n in facts.notes if "unreadable" in n], facts.notes
    procs = facts.get("processes")
    me = [p for p in procs if p.cmdline[-1:] == (nonce,) and p.cmdline[:3] == ("sh", "-s", "--")]
    assert me, "the probe's own shell is among the processes"
    assert me[0].exe and me[0].cwd and me[0].open_files
    assert any(p.pid == 1 for p in procs)
    assert facts.get("meminfo")["MemTotal"] > 0


def test_frame_sections_round_trips_recorded_cases():
    from pathlib import Path

    from analyzers.probe_output import frame_sections
    from migrator.collect.replay import read_case
    case = read_case(Path(__file__).resolve().parents[2] / "fixtures" / "hosts" / "lab-app-1")
    assert dict(split_sections(frame_sections(case, "n0nce"), "n0nce")) == case
    odd = {"a": Section("a", "cut short", None, True), "b": Section("b", "", None, True),
           "c": Section("c", "x\n\n", 0, False), "d": Section("d", "killed", None, True)}
    back = split_sections(frame_sections(odd, "n1"), "n1")
    assert dict(back) == odd and back.complete
