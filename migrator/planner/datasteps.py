"""How each stateful application's data moves into its new volumes, per ordinal, by software:
dump and restore, replication, snapshot and restore, or a copy of the files.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from migrator.planner.images import IMAGE_USERS
from migrator.planner.model import BATCH, STATEFULSET, DataStep, PlannedWorkload
from migrator.planner.rewrite import pod_dns

NEW_MEMBER = "(new member)"     # the source of an ordinal that replaces no host
NO_HOST = "(no host)"


def data_steps(workloads: Sequence[PlannedWorkload], namespace: str,
               addresses: Mapping[str, str | None] | None = None) -> tuple[DataStep, ...]:
    """Per stateful workload and ordinal, the steps to move the state in.

    addresses: host (inventory name) -> the address the cluster reaches it at. Steps that connect
    to a host over the network name its address, the inventory name in a comment: the inventory
    name need not resolve inside the cluster.
    """
    addresses = addresses or {}
    steps: list[DataStep] = []
    for w in workloads:
        if w.kind in BATCH or not w.volumes:
            continue
        count = w.replicas if w.kind == STATEFULSET else 1
        for ordinal in range(count):
            if ordinal < len(w.refs) and (ordinal == 0 or w.cluster):
                source = w.refs[ordinal]
                steps.append(_step(w, ordinal, source, namespace, _Host(source.split("/", 1)[0], addresses)))
            elif ordinal == 0:
                steps.append(_step(w, ordinal, w.id, namespace, _Host(w.host, addresses)))
            else:
                steps.append(_new_member(w, ordinal, namespace))
    return tuple(steps)


class _Host:
    """A source host as the steps name it: `name` where to run a command, `address` to connect to."""

    def __init__(self, name: str, addresses: Mapping[str, str | None]):
        self.name = name
        self.address = addresses.get(name)

    @property
    def net(self) -> str:
        return self.address or self.name

    @property
    def comment(self) -> str:
        if self.address:
            return f"  # {self.name}"
        return f"  # no address of {self.name} in the findings: use one the cluster can reach"


def _new_member(w: PlannedWorkload, ordinal: int, ns: str) -> DataStep:
    """An ordinal that replaces no host: a new member of a cluster, or an independent copy."""
    pod = _pod(w, ordinal)
    if w.cluster and w.primary_only and w.software in ("postgresql", "mysql", "mariadb"):
        return replace_source(_step(w, ordinal, NEW_MEMBER, ns, _Host(w.host, {})), NEW_MEMBER)
    if w.cluster and w.primary_only:
        return DataStep(w.name, ordinal, NEW_MEMBER, w.software or "unknown", "replication", (
            f"{pod} replaces no host: it starts with an empty volume; configure it to follow "
            f"{pod_dns(w.name, 0, w.headless_service_name, ns)} as a replica",))
    if w.cluster:
        peer = pod_dns(w.name, ordinal, w.headless_service_name, ns)
        how = (f"kubectl -n {ns} exec {w.name}-0 -- etcdctl member add {pod} --peer-urls=http://{peer}:2380, then "
               f"start {pod} with --initial-cluster-state=existing" if w.software == "etcd"
               else "add it to the cluster with the software's own tools")
        return DataStep(w.name, ordinal, NEW_MEMBER, w.software or "unknown", "new-member", (
            f"{pod} replaces no host: it starts with an empty volume and joins as a new member",
            how))
    return DataStep(w.name, ordinal, NO_HOST, w.software or "unknown", "empty", (
        f"{pod} has no host of its own: it starts with an empty volume, independent of {w.name}-0 (it does not "
        "replicate: see the plan notes)",))


def replace_source(step: DataStep, source: str) -> DataStep:
    return DataStep(step.workload, step.ordinal, source, step.software, step.method, step.steps)


def _owner(w: PlannedWorkload) -> str:
    """uid:gid the files must have in the volume."""
    if w.run_as_user is not None:
        return f"{w.run_as_user}:{w.run_as_group if w.run_as_group is not None else w.run_as_user}"
    known = IMAGE_USERS.get(w.software)
    if known:
        return f"{known[0]}:{known[1]}"
    return "the user the image runs as"


def claim(w: PlannedWorkload, volume: str, ordinal: int) -> str:
    return f"{volume}-{w.name}-{ordinal}" if w.kind == STATEFULSET else f"{w.name}-{volume}"


def _pod(w: PlannedWorkload, ordinal: int) -> str:
    return f"{w.name}-{ordinal}" if w.kind == STATEFULSET else f"deploy/{w.name}"


def _port(w: PlannedWorkload, default: int) -> int:
    return w.ports[0].port if w.ports else default


def _step(w: PlannedWorkload, ordinal: int, source: str, ns: str, src: _Host) -> DataStep:
    host = src.name
    pod = _pod(w, ordinal)
    path = w.volumes[0].mount_path
    standby = w.kind == STATEFULSET and ordinal > 0 and w.primary_only
    headless = w.headless_service_name
    if w.software == "postgresql":
        if standby:
            return DataStep(w.name, ordinal, source, w.software, "replication", (
                f"start {pod} with an empty PGDATA (scale to {ordinal + 1} after {w.name}-0 is ready)",
                f"kubectl -n {ns} exec {pod} -- pg_basebackup -h {pod_dns(w.name, 0, headless, ns)} -U replicator "
                "-D \"$PGDATA\" -R -X stream -P",
                f"restart {pod}: it follows {w.name}-0 as a standby, as {source} followed the primary"))
        return DataStep(w.name, ordinal, source, w.software, "dump-restore", (
            f"stop the applications writing to {source} (maintenance window)",
            f"on {host}: sudo -u postgres pg_dumpall --clean --if-exists > /tmp/{w.name}.sql",
            f"kubectl -n {ns} cp /tmp/{w.name}.sql {pod}:/tmp/{w.name}.sql",
            f"kubectl -n {ns} exec {pod} -- psql -U postgres -f /tmp/{w.name}.sql",
            f"for less downtime instead: pg_basebackup from {src.net} ({host}) into PGDATA of {pod}, run it as a "
            "standby, promote it at the cutover",
            "compare row counts of the largest tables on both sides"))
    if w.software in ("mysql", "mariadb"):
        client = "mariadb" if w.software == "mariadb" else "mysql"
        if standby:
            return DataStep(w.name, ordinal, source, w.software, "replication", (
                f"restore the dump of {w.name}-0 into {pod}",
                f"kubectl -n {ns} exec {pod} -- {client} -e \"CHANGE REPLICATION SOURCE TO SOURCE_HOST="
                f"'{pod_dns(w.name, 0, headless, ns)}', ...; START REPLICA\"",))
        return DataStep(w.name, ordinal, source, w.software, "dump-restore", (
            f"stop the applications writing to {source}",
            f"on {host}: mysqldump --all-databases --single-transaction --routines --events --triggers "
            f"> /tmp/{w.name}.sql",
            f"kubectl -n {ns} exec -i {pod} -- {client} -uroot -p\"$ROOT_PASSWORD\" < /tmp/{w.name}.sql",
            "check the schemas and row counts"))
    if w.software in ("redis", "valkey"):
        port = _port(w, 6379)
        cli = "valkey-cli" if w.software == "valkey" else "redis-cli"
        return DataStep(w.name, ordinal, source, w.software, "replication", (
            f"kubectl -n {ns} exec {pod} -- {cli} -p {port} REPLICAOF {src.net} {port}{src.comment}",
            f"wait until INFO replication of {pod} says master_link_status:up",
            f"at the cutover: kubectl -n {ns} exec {pod} -- {cli} -p {port} REPLICAOF NO ONE",
            f"or copy instead: on {host} {cli} -p {port} SAVE (or stop it), then copy dump.rdb and appendonlydir "
            f"from {path} into claim {claim(w, w.volumes[0].name, ordinal)}, owned by {_owner(w)}, before {pod} "
            "starts"))
    if w.software == "etcd":
        port = next((p.port for p in w.ports if p.port != 2380), 2379)
        first = w.refs[0].split("/", 1)[0] if w.refs else host
        return DataStep(w.name, ordinal, source, w.software, "snapshot", (
            f"once, on {first}: ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:{port} snapshot save /tmp/etcd.db",
            f"restore it into claim {claim(w, w.volumes[0].name, ordinal)} (a helper pod mounting it): "
            f"etcdctl snapshot restore /tmp/etcd.db --name {w.name}-{ordinal} --data-dir {path}/member-data "
            f"--initial-cluster <the --initial-cluster of the plan> --initial-advertise-peer-urls "
            f"http://{pod_dns(w.name, ordinal, headless, ns)}:2380",
            f"point --data-dir of {pod} at the restored directory, then start the StatefulSet"))
    if w.software == "mongodb":
        return DataStep(w.name, ordinal, source, w.software, "dump-restore", (
            f"on {host}: mongodump --archive=/tmp/{w.name}.archive --gzip",
            f"kubectl -n {ns} cp /tmp/{w.name}.archive {pod}:/tmp/ && kubectl -n {ns} exec {pod} -- mongorestore "
            f"--archive=/tmp/{w.name}.archive --gzip --drop"))
    volumes = ", ".join(f"{v.mount_path} -> claim {claim(w, v.name, ordinal)}" for v in w.volumes)
    return DataStep(w.name, ordinal, source, w.software or "unknown", "file-copy", (
        f"stop {source} on {host} (or accept a copy of files in use)",
        f"copy the data directories into the claims before {pod} starts: {volumes}",
        f"e.g. a helper pod mounting the claim, then: rsync -a {src.net}:{path}/ through "
        f"kubectl -n {ns} exec -i HELPER -- tar x -C /data{src.comment}",
        f"make the files owned by {_owner(w)} (chown -R in the helper pod)"))
