"""Jump hosts (ProxyJump) in the inventory: validation, loops, chains, imports, the scan target."""
from __future__ import annotations

import pytest

from migrator import get_db
from migrator.credentials import CredentialCipher
from migrator.errors import ConnectError, InputError, NotFound
from migrator.services import groups, hosts
from migrator.services.hosts import effective_jump, jump_chain, proxy_jump, read_inventory


@pytest.fixture
def db(app):
    return get_db(app)


@pytest.fixture
def cipher(app):
    return CredentialCipher(app.config)


def _add(s, cipher, name, **extra):
    return hosts.add_host(s, cipher, {"name": name, "address": extra.pop("address", f"10.213.80.{len(name)}"),
                                      **extra})


def test_add_update_and_clear_a_jump_host(db, cipher):
    with db.session() as s:
        bastion = _add(s, cipher, "bastion-1", address="10.213.80.5")
        db1 = _add(s, cipher, "db-1", address="10.213.81.7", jump="bastion-1")
        assert db1.jump_host is bastion and jump_chain(db1) == [bastion]
        d = hosts.host_dict(db1)
        assert d["jump"] == {"id": bastion.id, "name": "bastion-1"} and d["effective_jump"] == d["jump"]
        by_id = _add(s, cipher, "db-2", jump=bastion.id)
        assert by_id.jump_host is bastion
        hosts.update_host(s, cipher, db1, {"jump": None})
        assert db1.jump_host is None and hosts.host_dict(db1)["jump"] is None
        hosts.update_host(s, cipher, db1, {"jump": str(bastion.id)})
        assert db1.jump_host is bastion
        hosts.update_host(s, cipher, db1, {"port": 2222})       # other fields leave the jump host alone
        assert db1.jump_host is bastion


@pytest.mark.parametrize("ref,kind,words", [
    ("nosuch", NotFound, "no host with id or name 'nosuch'"),
    (["bastion-1"], InputError, "jump must be the id or name of another host"),
    (True, InputError, "jump must be the id or name of another host"),
    (99999, NotFound, "no host with id or name '99999'"),
])
def test_bad_jump_references_name_the_field(db, cipher, ref, kind, words):
    with db.session() as s:
        _add(s, cipher, "bastion-1")
        with pytest.raises(kind, match=words) as err:
            _add(s, cipher, "db-1", jump=ref)
        assert err.value.field == "jump" and "jump" in err.value.errors


def test_a_host_cannot_jump_through_itself_or_round_a_loop(db, cipher):
    with db.session() as s:
        a = _add(s, cipher, "a")
        with pytest.raises(InputError, match="host 'a' cannot be its own jump host") as err:
            hosts.update_host(s, cipher, a, {"jump": "a"})
        assert err.value.field == "jump"
    with db.session() as s:
        a = _add(s, cipher, "a2")
        b = _add(s, cipher, "b2", jump="a2")
        with pytest.raises(InputError, match="loop: a2 → b2 → a2") as err:
            hosts.update_host(s, cipher, a, {"jump": "b2"})
        assert err.value.field == "jump"
        c = _add(s, cipher, "c2", jump="b2")
        with pytest.raises(InputError, match="loop: a2 → c2 → b2 → a2"):
            hosts.update_host(s, cipher, a, {"jump": "c2"})
        assert b.jump_host is a


def test_chains_are_limited_including_the_hosts_behind(db, cipher):
    with db.session() as s:
        b1 = _add(s, cipher, "b1")
        b2 = _add(s, cipher, "b2", jump="b1")
        b3 = _add(s, cipher, "b3", jump="b2")
        t = _add(s, cipher, "t", jump="b3")
        assert jump_chain(t) == [b3, b2, b1]
        _add(s, cipher, "b4", jump="b3")
        with pytest.raises(InputError, match=r"t2 → b4 → b3 → b2 → b1 goes through more than 3 jump hosts"):
            _add(s, cipher, "t2", jump="b4")
    with db.session() as s:      # making b1 go through another host would make t's chain too long
        b0 = _add(s, cipher, "b0")
        b1 = hosts.find_hosts(s, ["b1"])[0]
        with pytest.raises(InputError, match=r"t → b3 → b2 → b1 → b0 goes through more than 3"):
            hosts.update_host(s, cipher, b1, {"jump": b0.id})


def test_group_jump_host_and_effective_jump(db, cipher):
    with db.session() as s:
        bastion = _add(s, cipher, "bastion-1")
        other = _add(s, cipher, "bastion-2")
        db1 = _add(s, cipher, "db-1")
        db2 = _add(s, cipher, "db-2", jump="bastion-2")
        g = groups.create_group(s, {"name": "private", "hosts": ["db-1", "db-2", "bastion-1"], "jump": "bastion-1"})
        assert groups.group_dict(g)["jump"] == {"id": bastion.id, "name": "bastion-1"}
        assert effective_jump(db1) is bastion          # from the group
        assert effective_jump(db2) is other            # its own wins
        assert effective_jump(bastion) is None         # a member that is the group's jump host: directly
        d = hosts.host_dict(db1)
        assert d["jump"] is None and d["effective_jump"]["name"] == "bastion-1"
        # the first group (by id) that names a jump host
        g2 = groups.create_group(s, {"name": "later", "hosts": ["db-1"], "jump": "bastion-2"})
        assert effective_jump(db1) is bastion
        groups.update_group(s, g, {"jump": None})
        assert effective_jump(db1) is other and groups.group_dict(g)["jump"] is None
        # a loop through a group: bastion-2 in a group whose jump host is db-2, which goes through bastion-2
        with pytest.raises(InputError, match=r"loop: db-2 → bastion-2 → db-2 \(on the way to db-1\)") as err:
            groups.update_group(s, g2, {"hosts": ["db-1", "bastion-2"], "jump": "db-2"})
        assert err.value.field == "jump"
        with pytest.raises(NotFound, match="no host with id or name 'ghost'"):
            groups.update_group(s, g2, {"jump": "ghost"})
        with pytest.raises(InputError, match="jump must be the id or name"):
            groups.create_group(s, {"name": "x", "jump": {"id": 1}})


def test_a_jump_host_in_use_cannot_be_removed(db, cipher):
    """Removing a bastion would quietly make the hosts behind it connect directly: refused, naming them."""
    with db.session() as s:
        _add(s, cipher, "bastion-1")
        db1 = _add(s, cipher, "db-1", jump="bastion-1")
        _add(s, cipher, "db-2", jump="bastion-1")
        _add(s, cipher, "db-3")
        groups.create_group(s, {"name": "private", "hosts": ["db-3"], "jump": "bastion-1"})
        db1_id = db1.id
    with db.session() as s:
        with pytest.raises(InputError, match="'bastion-1' is the jump host of hosts db-1, db-2 and groups private"):
            hosts.remove_host(s, hosts.find_hosts(s, ["bastion-1"])[0])
    with db.session() as s:
        from migrator.models import AuditEvent, Host, HostGroup
        assert s.get(Host, db1_id).jump_host.name == "bastion-1"          # nothing changed
        assert s.query(AuditEvent).filter_by(action="host.delete").count() == 0
        # removed together with the hosts behind it, only the group still names it
        with pytest.raises(InputError, match="jump host of groups private"):
            hosts.remove_hosts(s, hosts.find_hosts(s, ["bastion-1", "db-1", "db-2"]))
    with db.session() as s:
        groups.update_group(s, groups.find_groups(s, ["private"])[0], {"jump": None})
        hosts.remove_hosts(s, hosts.find_hosts(s, ["db-2", "bastion-1", "db-1"]))
    with db.session() as s:
        assert [h.name for h in s.query(Host)] == ["db-3"] and s.query(HostGroup).one().jump_host is None
        assert s.query(AuditEvent).filter_by(action="host.delete").count() == 3


@pytest.mark.parametrize("args,expected", [
    ("-o ProxyJump=bastion-1", "bastion-1"),
    ("-o 'ProxyJump bastion-1'", "bastion-1"),
    ("-oProxyJump=deploy@10.0.0.5:2222", "deploy@10.0.0.5:2222"),
    ("-o StrictHostKeyChecking=no -J bastion-1", "bastion-1"),
    ("-Jbastion-1", "bastion-1"),
    ("-o proxyjump=bastion-1 -o ServerAliveInterval=30", "bastion-1"),
    ("-o 'ProxyJump\tbastion-1'", "bastion-1"),
    ("-o 'ProxyJump = bastion-1'", "bastion-1"),
    ("-o ProxyJump=none", None),
    ("-o StrictHostKeyChecking=no", None),
    ("", None),
])
def test_proxy_jump_in_ssh_options(args, expected):
    assert proxy_jump(args) == expected


def test_proxy_jump_chains_are_refused_with_a_hint():
    with pytest.raises(ValueError, match="chain of jump hosts: import each bastion as a host"):
        proxy_jump("-J b1,b2")


@pytest.mark.parametrize("args,message", [
    ("-J", "-J has no jump host after it"),
    ("-J -o StrictHostKeyChecking=no", "-J has no jump host after it"),
    ("-o ProxyJump=", "ProxyJump has no jump host after it"),
    ("-o 'ProxyJump '", "ProxyJump has no jump host after it"),
    ("-o ProxyCommand='ssh -W %h:%p bastion'", "ProxyCommand cannot be followed: import the bastion as a host"),
    ("-J b1 -J b2", r"several jump hosts \(b1, b2\): keep one"),
    ("-o ProxyJump=b1 -J b2", r"several jump hosts \(b1, b2\)"),
])
def test_proxy_jump_options_ssh_would_refuse_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        proxy_jump(args)


def test_the_same_jump_host_twice_is_one():
    assert proxy_jump("-J b1 -o ProxyJump=b1") == "b1"


ANSIBLE_INI = """\
[private]
db-1 ansible_host=10.213.81.7
db-2 ansible_host=10.213.81.8 ansible_ssh_common_args='-J bastion-2'

[private:vars]
ansible_ssh_common_args='-o ProxyJump="root@10.213.80.5"'

[edge]
bastion-1 ansible_host=10.213.80.5
bastion-2 ansible_host=10.213.80.6
"""


def test_ansible_ini_proxy_jump_resolves_within_the_import(db, cipher):
    records = read_inventory(ANSIBLE_INI, "ansible-ini")
    assert records[0]["ansible_ssh_common_args"] == '-o ProxyJump="root@10.213.80.5"'   # one pair of quotes off
    with db.session() as s:
        added = {h.name: h for h in hosts.import_hosts(s, cipher, records)}
        assert added["db-1"].jump_host is added["bastion-1"]          # by address, later in the file
        assert added["db-2"].jump_host is added["bastion-2"]          # the host's own variable wins
        assert added["bastion-1"].jump_host is None


def test_ansible_yaml_proxy_jump_names_an_inventory_host(db, cipher):
    with db.session() as s:
        bastion = _add(s, cipher, "bastion-1", address="10.213.80.5", port=2222, username="admin")
    text = """
all:
  children:
    private:
      vars:
        ansible_ssh_common_args: "-o ProxyJump=admin@10.213.80.5:2222"
      hosts:
        db-1: {ansible_host: 10.213.81.7}
        db-3: {ansible_host: 10.213.81.9, ansible_ssh_common_args: "-J bastion-1"}
"""
    with db.session() as s:
        added = {h.name: h for h in hosts.import_hosts(s, cipher, read_inventory(text, "yaml"))}
        assert added["db-1"].jump_host.id == bastion.id and added["db-3"].jump_host.id == bastion.id


def test_import_jump_column_and_key(db, cipher):
    csv_text = "name,address,jump\ndb-1,10.213.81.7,bastion-1\nbastion-1,10.213.80.5,\n"
    with db.session() as s:
        added = {h.name: h for h in hosts.import_hosts(s, cipher, read_inventory(csv_text, "csv"))}
        assert added["db-1"].jump_host is added["bastion-1"]
    json_text = '{"hosts": [{"name": "db-2", "address": "10.213.81.8", "jump_host": "bastion-1"},' \
                ' {"name": "db-3", "address": "10.213.81.9", "jump": "10.213.80.5"}]}'
    with db.session() as s:
        added = {h.name: h for h in hosts.import_hosts(s, cipher, read_inventory(json_text, "json"))}
        assert added["db-2"].jump_host.name == "bastion-1" and added["db-3"].jump_host.name == "bastion-1"


def test_import_jump_errors_are_clear_and_nothing_is_added(db, cipher):
    from migrator.models import Host
    bad = [
        ([{"name": "db-1", "address": "10.213.81.7", "ansible_ssh_common_args": "-o ProxyJump=ops@10.9.9.9:22"}],
         "host 1 (db-1): jump 'ops@10.9.9.9:22' matches no host in this import or the inventory: add the "
         "bastion as a host first"),
        ([{"name": "a", "address": "10.213.81.1", "jump": "b"}, {"name": "b", "address": "10.213.81.2", "jump": "a"}],
         "loop: a → b → a"),
        ([{"name": "a", "address": "10.213.81.1", "jump": "a"}], "host 'a' cannot be its own jump host"),
        ([{"name": "a", "address": "10.213.81.1", "jump": ["x"]}], "jump must be the id, name or address"),
        ([{"name": "a", "address": "10.213.81.1", "jump": "x y"}], "neither a host name nor [user@]host[:port]"),
        ([{"name": "a", "address": "10.213.81.1", "ansible_ssh_common_args": "-J b1,b2"}], "chain of jump hosts"),
        ([{"name": "a", "address": "10.213.81.1"}, {"name": "b", "address": "10.213.81.1"},
          {"name": "c", "address": "10.213.81.3", "jump": "10.213.81.1"}], "matches several hosts (a, b)"),
        ([{"name": "a", "address": "10.213.81.1", "jump": "b:2222"}, {"name": "b", "address": "10.213.81.2"}],
         "jump 'b:2222': host 'b' is reached on port 22, not 2222"),
        ([{"name": "a", "address": "10.213.81.1", "jump": "b:99999"}, {"name": "b", "address": "10.213.81.2"}],
         "jump 'b:99999': port 99999 is not between 1 and 65535"),
        ([{"name": "a", "address": "10.213.81.1", "ansible_ssh_common_args": "-J deploy@10.213.81.2"},
          {"name": "b", "address": "10.213.81.2", "username": "ops"}],
         "jump 'deploy@10.213.81.2' logs in as 'deploy', but jump host 'b' logs in as 'ops'"),
        ([{"name": "a", "address": "10.213.81.1", "ansible_ssh_common_args": "-o ProxyCommand='nc b 22'"}],
         "ProxyCommand cannot be followed"),
        ([{"name": "a", "address": "10.213.81.1", "ansible_ssh_extra_args": "-J b0", "ansible_ssh_common_args": "-J b1"},
          {"name": "b0", "address": "10.213.81.2"}, {"name": "b1", "address": "10.213.81.3"}],
         "several jump hosts are named (b0, b1): keep one"),
        ([{"name": "a", "address": "10.213.81.1", "ansible_ssh_extra_args": "-J b0",
           "ansible_ssh_common_args": '-o ProxyCommand="ssh -W %h:%p evil"'}, {"name": "b0", "address": "10.213.81.2"}],
         "ProxyCommand cannot be followed"),
        ([{"name": "a", "address": "10.213.81.1", "ansible_ssh_common_args": ["-J", "b1"]}],
         "ansible_ssh_common_args must be a string of ssh options"),
        ([{"name": "a", "address": "10.213.81.1", "ansible_ssh_common_args": "-o"}], "-o has no option after it"),
        ([{"name": "a", "address": "10.213.81.1", "jump": "deploy@b0"}, {"name": "b0", "address": "10.213.81.2"}],
         "jump 'deploy@b0' logs in as 'deploy', but jump host 'b0' logs in as 'root'"),
    ]
    for records, words in bad:
        with db.session() as s:
            with pytest.raises(InputError) as err:
                hosts.import_hosts(s, cipher, records)
            assert words in str(err.value), str(err.value)
            assert err.value.field == "file"
        with db.session() as s:
            assert s.query(Host).count() == 0


def test_scan_target_carries_the_chain(db, cipher):
    from migrator.models import Host
    from migrator.services.scans import _target
    with db.session() as s:
        _add(s, cipher, "b1", address="10.213.80.5", username="ops")
        _add(s, cipher, "b2", address="10.213.80.6", jump="b1")
        t = _add(s, cipher, "t", address="10.213.81.7", jump="b2")
        target = _target(t, cipher)
        assert (target.name, target.address, target.on_new_host_key) == ("t", "10.213.81.7", None)
        assert (target.jump.name, target.jump.address) == ("b2", "10.213.80.6")
        assert target.jump.pinned_host_key is None
        assert (target.jump.jump.name, target.jump.jump.username, target.jump.jump.jump) == ("b1", "ops", None)
        b1_id = hosts.find_hosts(s, ["b1"])[0].id
    # as in a scan: the session that built the target is over when the connection is made
    target.jump.jump.on_new_host_key("ssh-ed25519 AAAAnew")      # pins on b1's own row
    target.jump.jump.on_new_host_key("ssh-ed25519 AAAAother")    # once only
    with db.session() as s:
        assert s.get(Host, b1_id).host_key == "ssh-ed25519 AAAAnew"
        from sqlalchemy import update
        t = hosts.find_hosts(s, ["t"])[0]
        s.execute(update(Host).where(Host.id == t.id).values(jump_host_id=t.id))   # past validation
        s.expire(t)
        with pytest.raises(ConnectError, match="cannot be its own jump host"):
            _target(t, cipher)


def test_import_jump_user_is_checked_against_the_credential_a_scan_uses(db, cipher):
    from migrator.services import credentials
    with db.session() as s:
        cred = credentials.create_credential(s, cipher, {"name": "c1", "kind": "password", "username": "svc",
                                                          "password": "pw-c1"})
        _add(s, cipher, "cb", address="10.213.80.9", username="root", credential=cred.id)
    with db.session() as s:
        (added,) = hosts.import_hosts(s, cipher, [{"name": "t1", "address": "10.213.81.9", "jump": "svc@cb"}])
        assert added.jump_host.name == "cb"
    with db.session() as s:
        with pytest.raises(InputError, match="jump 'root@cb' logs in as 'root', but jump host 'cb' logs in as 'svc'"):
            hosts.import_hosts(s, cipher, [{"name": "t2", "address": "10.213.81.10", "jump": "root@cb"}])


def test_group_changes_never_leave_a_loop_or_drop_a_route_quietly(db, cipher):
    """Paths a breaker found: removing a group, reordering a host's groups, emptying a group."""
    from migrator.errors import Conflict
    with db.session() as s:
        for name in ("lp-a", "lp-b", "lp-x", "bastion"):
            _add(s, cipher, name)
        g1 = groups.create_group(s, {"name": "lg1", "hosts": ["lp-x"], "jump": "lp-a"})
        groups.create_group(s, {"name": "lg2", "hosts": ["lp-x"], "jump": "lp-b"})
        hosts.update_host(s, cipher, hosts.find_hosts(s, ["lp-b"])[0], {"jump": "lp-x"})
        # lp-x reaches lp-a through lg1 (the first group); without lg1 it would go through lp-b: a loop
        with pytest.raises(Conflict, match="group 'lg1' is how hosts lp-x reach their jump host 'lp-a'"):
            groups.delete_group(s, g1)
        with pytest.raises(InputError, match="loop"):
            groups.update_group(s, g1, {"hosts": []})        # emptying it: the member that left loops
    with db.session() as s:
        x = hosts.find_hosts(s, ["lp-x"])[0]
        with pytest.raises(InputError, match="loop"):      # leaving lg1: through lp-b, a loop
            hosts.update_host(s, cipher, x, {"groups": ["lg2"]})
    with db.session() as s:
        for name in ("po-p", "po-q", "po-r"):
            _add(s, cipher, name)
        groups.create_group(s, {"name": "po-ga", "jump": "po-q"})
        groups.create_group(s, {"name": "po-gb", "jump": "po-r"})
        hosts.update_host(s, cipher, hosts.find_hosts(s, ["po-q"])[0], {"jump": "po-p"})
        p = hosts.find_hosts(s, ["po-p"])[0]
        with pytest.raises(InputError, match="loop"):      # the order sent is not the order stored (by id)
            hosts.update_host(s, cipher, p, {"groups": ["po-gb", "po-ga"]})
    with db.session() as s:                               # a group whose route is the same elsewhere goes
        groups.create_group(s, {"name": "empty", "jump": "bastion"})
        hosts.remove_host(s, hosts.find_hosts(s, ["bastion"])[0])     # an empty group reaches nobody
