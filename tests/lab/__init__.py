"""Test lab: VMs built from Linux namespaces on this machine, reachable over real SSH.

    from tests.lab import Lab, VMSpec
    lab = Lab(workdir=Path("/tmp/x"))            # prefix/subnet from MIGRATOR_LAB_PREFIX / MIGRATOR_LAB_SUBNET
    lab.up([VMSpec(name="app-1", services=("redis", "webapp"))])
    lab.hosts; lab.write_inventory(path); lab.truth; lab.down()

ESTATE (tests/lab/estate.py) is the nine-VM estate of issue 3: `lab.up(ESTATE, timeout=ESTATE_TIMEOUT)`.
"""
from .lab import DEFAULT_PREFIX, DEFAULT_SUBNET, Lab, LabError, VMSpec

SINGLE_VM = [VMSpec(name="app-1", services=("redis", "webapp"))]

from .estate import ESTATE, ESTATE_TIMEOUT  # noqa: E402

__all__ = ["Lab", "VMSpec", "LabError", "SINGLE_VM", "ESTATE", "ESTATE_TIMEOUT", "DEFAULT_PREFIX",
           "DEFAULT_SUBNET"]
