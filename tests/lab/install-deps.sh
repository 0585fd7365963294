#!/usr/bin/env bash
# Install the Debian packages the migrator test lab needs (idempotent).
# Runs `apt-get update` only when something is missing; skips quietly when not root.
set -euo pipefail

PACKAGES=(openssh-server openssh-client redis-server redis-tools iproute2 procps util-linux python3 sudo
          postgresql python3-psycopg2 nginx etcd-server etcd-client prometheus-node-exporter openssl
          chromium   # chromium: the web UI browser tests (Playwright drives it; no `playwright install`)
          busybox-static)  # the busybox-only fault host (tests/lab/faults.py)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "lab deps: all present (${PACKAGES[*]})"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "lab deps: not root, not installing missing packages: ${missing[*]}"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "lab deps: apt-get not found, cannot install: ${missing[*]}"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps package scripts from starting daemons (e.g. a host redis/sshd) during install
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "lab deps: installed ${missing[*]}"
