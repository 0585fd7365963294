# migrator probe: a fixed, read-only POSIX sh script sent on stdin to `sh -s -- NONCE`.
# It writes nothing on the host. Every section is framed by lines that carry the
# per-run NONCE, so hostile output cannot forge a section boundary:
#   @@NONCE@@ begin NAME
#   <raw output, capped>
#   @@NONCE@@ rc NAME CODE      (absent when the cap cut the output or the time limit killed it)
#   @@NONCE@@ end NAME
# Sections that hold several files mark each with "@@NONCE@@ file PATH".
# The whole body is one function, so the shell has read all of it before any
# command runs, and every command reads /dev/null, never the rest of this script.
probe_main() {
  M="@@$1@@"
  LC_ALL=C
  export LC_ALL
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export PATH
  if command -v timeout >/dev/null 2>&1; then T="timeout -s KILL"; else T=""; fi

  # sect NAME CAP_BYTES SECONDS CMD...: run CMD with a time limit and an output cap.
  sect() {
    _n=$1; _c=$2; _s=$3; shift 3
    printf '\n%s begin %s\n' "$M" "$_n"
    if [ -n "$T" ]; then
      { $T "$_s" "$@" 2>/dev/null; printf '\n%s rc %s %s\n' "$M" "$_n" "$?"; } | head -c "$_c"
    else
      { "$@" 2>/dev/null; printf '\n%s rc %s %s\n' "$M" "$_n" "$?"; } | head -c "$_c"
    fi
    printf '\n%s end %s\n' "$M" "$_n"
  }
  # files_code: print each readable file given as an argument, marked by its path.
  files_code='M=$1; shift; for f in "$@"; do [ -f "$f" ] && [ -r "$f" ] || continue; printf "\n%s file %s\n" "$M" "$f"; head -c 262144 "$f"; done; :'
  # procs_code: per process the raw /proc files the analyzers need.
  procs_code='M=$1
for d in /proc/[0-9]*; do
  [ -r "$d/stat" ] || continue
  printf "\n%s pid %s\n" "$M" "${d#/proc/}"
  printf "%s f stat\n" "$M"; cat "$d/stat"
  printf "\n%s f status\n" "$M"; cat "$d/status"
  printf "\n%s f cmdline\n" "$M"; head -c 32768 "$d/cmdline"
  printf "\n%s f cgroup\n" "$M"; cat "$d/cgroup"
  printf "\n%s f links\n" "$M"; ls -l "$d/exe" "$d/cwd" "$d/fd/"
  printf "\n%s f fdflags\n" "$M"; grep -H "^flags" "$d"/fdinfo/*
done; :'

  tools=""
  for t in timeout ss ip systemctl lsblk df du find dpkg-query rpm apk sudo getconf; do
    if command -v "$t" >/dev/null 2>&1; then tools="$tools $t"; fi
  done

  sect probe_info 4096 5 sh -c 'echo "version=1"; echo "uid=$(id -u)"; echo "user=$(id -un)"; echo "time=$(date +%s)"; echo "clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)"; echo "pagesize=$(getconf PAGESIZE 2>/dev/null || echo 4096)"; echo "uname=$(uname -srm)"; echo "tools='"$tools"'"'
  sect os_release 16384 5 sh -c 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release'
  sect hostname 1024 5 cat /proc/sys/kernel/hostname
  sect cpuinfo 8192 5 sh -c 'grep -c "^processor" /proc/cpuinfo; grep -m1 "^model name" /proc/cpuinfo; :'
  sect meminfo 16384 5 cat /proc/meminfo
  sect passwd 1048576 5 sh -c 'getent passwd 2>/dev/null || cat /etc/passwd'
  sect uptime 1024 5 cat /proc/uptime
  sect processes 16777216 60 sh -c "$procs_code" procs "$M"
  sect proc_net_tcp 8388608 10 cat /proc/net/tcp
  sect proc_net_tcp6 8388608 10 cat /proc/net/tcp6
  sect proc_net_udp 4194304 10 cat /proc/net/udp
  sect proc_net_udp6 4194304 10 cat /proc/net/udp6
  if command -v ss >/dev/null 2>&1; then sect ss 8388608 15 ss -tunap; fi
  if command -v ip >/dev/null 2>&1; then sect ip_addr 262144 5 ip -o addr show; fi
  sect proc_net_if_inet6 262144 5 cat /proc/net/if_inet6
  sect proc_net_fib_trie 1048576 5 cat /proc/net/fib_trie
  sect mounts 1048576 5 cat /proc/mounts
  sect df 1048576 15 df -kP
  if command -v lsblk >/dev/null 2>&1; then sect lsblk 1048576 10 lsblk -P -b -o NAME,KNAME,MAJ:MIN,RM,SIZE,RO,TYPE,MOUNTPOINT,FSTYPE; fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    sect systemctl_units 1048576 15 systemctl list-units --type=service --type=timer --all --no-legend --no-pager --plain
    sect systemctl_unit_files 1048576 15 systemctl list-unit-files --type=service --no-pager
  fi
  sect unit_files 4194304 15 sh -c "$files_code" files "$M" /etc/systemd/system/*.service /etc/systemd/system/*.timer /run/systemd/system/*.service /run/systemd/system/*.timer
  sect crontabs 1048576 10 sh -c "$files_code" files "$M" /etc/crontab /etc/cron.d/* /var/spool/cron/crontabs/* /var/spool/cron/*
  if command -v dpkg-query >/dev/null 2>&1; then
    sect packages_dpkg 8388608 30 dpkg-query -W -f='${Package}\t${Version}\t${db:Status-Abbrev}\n'
  elif command -v rpm >/dev/null 2>&1; then
    sect packages_rpm 8388608 30 rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n'
  elif command -v apk >/dev/null 2>&1; then
    sect packages_apk 8388608 30 apk info -v
  fi
  printf '\n%s done\n' "$M"
}
probe_main "$@" </dev/null
