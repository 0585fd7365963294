"""python -m tests.lab up|down|status [--workdir DIR] [--prefix P] [--subnet CIDR] [--purge]"""
import argparse
import json
import sys
from pathlib import Path

from . import SINGLE_VM, Lab, LabError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.lab", description="Bring the migrator test lab up or down.")
    ap.add_argument("command", choices=["up", "down", "status"])
    ap.add_argument("--workdir", type=Path, help="lab directory (default /tmp/migrator-lab-PREFIX)")
    ap.add_argument("--prefix", help="namespace/link name prefix (default $MIGRATOR_LAB_PREFIX or mglab)")
    ap.add_argument("--subnet", help="lab /24 (default $MIGRATOR_LAB_SUBNET or 10.213.66.0/24)")
    ap.add_argument("--purge", action="store_true", help="down: also remove unrecorded namespaces/links of the prefix")
    args = ap.parse_args(argv)
    try:
        lab = Lab(workdir=args.workdir, prefix=args.prefix, subnet=args.subnet)
        if args.command == "up":
            lab.up(SINGLE_VM)
            print(json.dumps(lab.hosts, indent=2))
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
