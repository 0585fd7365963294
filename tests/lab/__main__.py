"""python -m tests.lab up|down|status [--estate] [--workdir DIR] [--prefix P] [--subnet CIDR] [--purge]

up brings up one VM (app-1: redis + webapp), or with --estate the nine-VM estate (tests/lab/estate.py);
both write WORKDIR/truth.json and WORKDIR/inventory.json."""
import argparse
import json
import sys
from pathlib import Path

from . import ESTATE, ESTATE_TIMEOUT, SINGLE_VM, Lab, LabError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.lab", description="Bring the migrator test lab up or down.")
    ap.add_argument("command", choices=["up", "down", "status"])
    ap.add_argument("--workdir", type=Path, help="lab directory (default /tmp/migrator-lab-PREFIX)")
    ap.add_argument("--prefix", help="namespace/link name prefix (default $MIGRATOR_LAB_PREFIX or mglab)")
    ap.add_argument("--subnet", help="lab /24 (default $MIGRATOR_LAB_SUBNET or 10.213.66.0/24)")
    ap.add_argument("--estate", action="store_true", help="up: the nine-VM estate instead of one VM")
    ap.add_argument("--purge", action="store_true", help="down: also remove unrecorded namespaces/links of the prefix")
    args = ap.parse_args(argv)
    try:
        lab = Lab(workdir=args.workdir, prefix=args.prefix, subnet=args.subnet)
        if args.command == "up":
            if args.estate:
                lab.up(ESTATE, timeout=ESTATE_TIMEOUT)
            else:
                lab.up(SINGLE_VM)
            inventory = lab.write_inventory(lab.workdir / "inventory.json")
            print(json.dumps(lab.hosts, indent=2))
            print(f"lab up in {lab.last_up_seconds:.1f}s; inventory {inventory}, truth {lab.truth_path}",
                  file=sys.stderr)
        elif args.command == "down":
            lab.down(purge=args.purge)
            print(f"lab in {lab.workdir} is down")
        else:
            print(json.dumps(lab.status(), indent=2))
    except LabError as exc:
        print(f"lab error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
