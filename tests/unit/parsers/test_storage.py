"""Sections mounts, df, lsblk (and plain lsblk tree output)."""
from __future__ import annotations

import pytest

from analyzers.base import ParseError
from analyzers.parsers import df, lsblk, mounts
from parser_fixtures import section


def test_mounts_recorded():
    rows = mounts.parse(section("mounts", "debian12"))
    assert len(rows) == 20
    root = next(m for m in rows if m.target == "/")
    assert (root.source, root.fstype, root.options[:2], root.dump, root.pass_) == ("/dev/vda", "ext4", ("rw", "relatime"), 0, 0)


def test_mounts_nfs_with_space():
    rows = mounts.parse(section("mounts", "nfs_host"))
    assert rows[3].target == "/srv/media files" and rows[3].fstype == "nfs4"
    assert "addr=10.20.0.50" in rows[3].options


def test_mounts_empty_and_garbage():
    assert mounts.parse("") == ()
    with pytest.raises(ParseError) as err:
        mounts.parse("proc /proc proc rw 0 0\n/dev/sda1 /mnt with space ext4 rw 0 0\n")
    assert err.value.line_no == 2
    with pytest.raises(ParseError):
        mounts.parse("a b c d x y\n")


def test_df_recorded():
    rows = df.parse(section("df", "debian12"))
    assert [r.mounted_on for r in rows] == ["/dev", "/dev/shm", "/", "/mnt/sandboxing/model_tools_env/v1/python", "/sys/fs/cgroup"]
    assert rows[2] == df.DfEntry("/dev/vda", 264212084, 23507312, 82883600, 23, "/")


def test_df_spaces():
    rows = df.parse(section("df", "spaces"))
    assert rows[2].mounted_on == "/srv/media files" and rows[2].size_kib == 1048576000
    assert rows[3].filesystem == "//fs01/Team Share" and rows[3].mounted_on == "/mnt/team share"


def test_df_dash_values():
    rows = df.parse("Filesystem 1024-blocks Used Available Capacity Mounted on\nnone - - - - /proc/x\n")
    assert rows == (df.DfEntry("none", 0, 0, 0, None, "/proc/x"),)


def test_df_empty_and_garbage():
    assert df.parse("") == ()
    with pytest.raises(ParseError):
        df.parse("Filesystem 1K-blocks\n/dev/sda1 12 x 3 4% /\n")
    with pytest.raises(ParseError):
        df.parse("/dev/mapper/wrapped-but-never-continued\n")
    with pytest.raises(ParseError):
        df.parse("/dev/wrapped\n/dev/another\n")


def test_lsblk_recorded():
    rows = lsblk.parse(section("lsblk", "debian12"))
    assert rows[1] == lsblk.BlockDevice("vda", "vda", "254:0", False, 274877906944, False, "disk", "/", None, None)
    assert rows[0].mountpoint is None and rows[0].size == 0


def test_lsblk_lvm():
    rows = {r.name: r for r in lsblk.parse(section("lsblk", "lvm"))}
    assert rows["rhel-root"].kname == "dm-0" and rows["rhel-root"].fstype == "xfs"
    assert rows["vg_data-lv_pgdata"].maj_min == "253:2" and rows["vg_data-lv_pgdata"].mountpoint == "/srv/pg data"
    assert rows["sr0"].rm is True and rows["rhel-swap"].mountpoint == "[SWAP]"


def test_lsblk_empty_and_garbage():
    assert lsblk.parse("") == ()
    with pytest.raises(ParseError):
        lsblk.parse('KNAME="sda"\n')
    with pytest.raises(ParseError):
        lsblk.parse("sda 8:0 0 10G 0 disk\n")


def test_lsblk_tree_utf8_glyphs():
    text = ("NAME                      MAJ:MIN RM  SIZE RO TYPE MOUNTPOINTS\n"
            "nvme0n1                   259:0    0  477G  0 disk \n"
            "├─nvme0n1p1               259:1    0  512M  0 part /boot/efi\n"
            "└─nvme0n1p2               259:2    0 476.4G  0 part \n"
            "  └─nvme0n1p2_crypt       253:0    0 476.4G  0 crypt \n"
            "    ├─vg-root             253:1    0   50G  0 lvm  /\n"
            "    │ └─vg-root-child     253:9    0    1G  0 lvm  /srv/my data\n"
            "    └─vg-home             253:2    0  400G  0 lvm  /home\n")
    rows = {r.name: r for r in lsblk.lsblk_tree(text)}
    assert rows["nvme0n1p1"].parent == "nvme0n1" and rows["nvme0n1p1"].mountpoint == "/boot/efi"
    assert rows["nvme0n1p2_crypt"].parent == "nvme0n1p2"
    assert rows["vg-root"].parent == "nvme0n1p2_crypt" and rows["vg-home"].parent == "nvme0n1p2_crypt"
    assert rows["vg-root-child"].parent == "vg-root" and rows["vg-root-child"].mountpoint == "/srv/my data"
    assert rows["nvme0n1"].size == "477G" and rows["nvme0n1"].parent is None


def test_lsblk_tree_empty_and_garbage():
    assert lsblk.lsblk_tree("") == ()
    with pytest.raises(ParseError):
        lsblk.lsblk_tree("sda  eight 0 1G 0 disk\n")
    with pytest.raises(ParseError):
        lsblk.lsblk_tree("wrapped-name-without-columns\n")
