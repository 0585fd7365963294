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

  # units_code: the unit files given as arguments (globs), then for every running service
  # (a NAME.service component of a /proc/PID/cgroup path) the file systemd loads for it (the
  # first of /etc, /run, /lib, /usr/lib; for an instance NAME@I.service also its template
  # NAME@.service) and its drop-ins (NAME.service.d/*.conf in those four directories).
  # Each path once, in that order; the parser resolves precedence and merges the drop-ins.
  units_code='M=$1; shift
NL="
"
cands() {
  for f in "$@"; do printf "%s\n" "$f"; done
  cat /proc/[0-9]*/cgroup 2>/dev/null | tr "/" "\n" | grep "\.service$" | sort -u | while IFS= read -r u; do
    case $u in ""|.*|*[!A-Za-z0-9@:._\\-]*) continue;; esac
    t=""
    case $u in ?*@?*.service) t="${u%%@*}@.service";; esac
    for n in $u $t; do
      for dir in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
        if [ -f "$dir/$n" ]; then printf "%s\n" "$dir/$n"; break; fi
      done
    done
    for n in $t $u; do
      for dir in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
        for f in "$dir/$n.d"/*.conf; do printf "%s\n" "$f"; done
      done
    done
  done
}
seen="$NL"
cands "$@" </dev/null | while IFS= read -r f; do
  case $seen in *"$NL$f$NL"*) continue;; esac
  seen="$seen$f$NL"
  [ -f "$f" ] && [ -r "$f" ] || continue
  printf "\n%s file %s\n" "$M" "$f"; head -c 262144 "$f" </dev/null
done; :'
  # configs_code: the config files of the running applications: every path ending in a
  # config extension named on a command line (a whole argument, or the value of --flag=PATH
  # or key=PATH; a relative one is resolved against the process's cwd), then the well-known
  # config files given as arguments (globs). Each is marked by its path. Regular readable
  # files only, never under /proc, /sys or /dev (also after resolving symlinks), never key
  # material, each path once, at most 300 files of at most 64 KiB each.
  configs_code='M=$1; shift
NL="
"
cands() {
  for d in /proc/[0-9]*; do
    [ -r "$d/cmdline" ] || continue
    c=$(readlink "$d/cwd" 2>/dev/null)
    tr "\000" "\n" <"$d/cmdline" 2>/dev/null | while IFS= read -r a; do
      case $a in -*=*|[A-Za-z_]*=*) a=${a#*=};; esac
      case $a in *.conf|*.cnf|*.cfg|*.ini|*.yml|*.yaml|*.toml|*.properties|*.json|*.hcl) ;; *) continue;; esac
      case $a in
        /*) printf "%s\n" "$a";;
        -*|*=*) ;;
        *) [ -n "$c" ] && printf "%s/%s\n" "${c%/}" "$a";;
      esac
    done
  done
  # EnvironmentFile= of the units on disk (/etc and /run): the variables a service starts with
  for u in /etc/systemd/system/*.service /run/systemd/system/*.service; do
    [ -r "$u" ] || continue
    sed -n "s/^[[:space:]]*EnvironmentFile=-\{0,1\}//p" "$u" 2>/dev/null
  done
  for f in "$@"; do printf "%s\n" "$f"; done
}
n=0
seen="$NL"
cands "$@" </dev/null | while IFS= read -r f; do
  case $seen in *"$NL$f$NL"*) continue;; esac
  seen="$seen$f$NL"
  case $f in /proc/*|/sys/*|/dev/*) continue;; esac
  r=$(readlink -f "$f" 2>/dev/null) || r=$f
  case $r in ""|/proc/*|/sys/*|/dev/*) continue;; esac
  case $r in *.key|*.pem|*.crt|*.cer|*.der|*.csr|*.p12|*.pfx|*.jks|*.keystore|*.truststore|*/shadow|*/gshadow|*htpasswd*) continue;; esac
  [ -f "$f" ] && [ -r "$f" ] || continue
  n=$((n+1))
  [ "$n" -le 300 ] || break
  printf "\n%s file %s\n" "$M" "$f"; head -c 65536 "$f" </dev/null
done; :'

  tools=""
  for t in timeout ss ip systemctl lsblk df du find dpkg-query rpm apk sudo getconf; do
    if command -v "$t" >/dev/null 2>&1; then tools="$tools $t"; fi
  done

  sect probe_info 4096 5 sh -c 'echo "version=1"; echo "uid=$(id -u)"; echo "user=$(id -un)"; echo "time=$(date +%s)"; echo "clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)"; echo "pagesize=$(getconf PAGESIZE 2>/dev/null || echo 4096)"; echo "uname=$(uname -srm)"; echo "tools='"$tools"'"'
  sect os_release 16384 5 sh -c 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release'
  sect hostname 1024 5 cat /proc/sys/kernel/hostname
  sect timezone 1024 5 sh -c 'if [ -r /etc/timezone ]; then head -n 1 /etc/timezone; else ls -l /etc/localtime; fi'
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
  sect unit_files 4194304 15 sh -c "$units_code" units "$M" /etc/systemd/system/*.service /etc/systemd/system/*.timer /run/systemd/system/*.service /run/systemd/system/*.timer
  sect configs 4194304 30 sh -c "$configs_code" configs "$M" \
    /etc/redis/*.conf /etc/redis.conf /etc/keydb/*.conf \
    /etc/postgresql/*/*/postgresql.conf /etc/postgresql/*/*/conf.d/*.conf /etc/postgresql/postgresql.conf \
    /var/lib/pgsql/data/postgresql.conf /var/lib/pgsql/*/data/postgresql.conf /etc/pgbouncer/pgbouncer.ini \
    /etc/mysql/my.cnf /etc/mysql/*.cnf /etc/mysql/*/*.cnf /etc/my.cnf /etc/my.cnf.d/*.cnf \
    /etc/mongod.conf /etc/mongodb.conf \
    /etc/nginx/nginx.conf /etc/nginx/conf.d/*.conf /etc/nginx/http.d/*.conf /etc/nginx/sites-enabled/* \
    /etc/apache2/apache2.conf /etc/apache2/ports.conf /etc/apache2/sites-enabled/* \
    /etc/httpd/conf/httpd.conf /etc/httpd/conf.d/*.conf /etc/haproxy/haproxy.cfg \
    /etc/default/etcd /etc/etcd/* /etc/sysconfig/etcd \
    /etc/memcached.conf /etc/sysconfig/memcached \
    /etc/zookeeper/conf/zoo.cfg /etc/zookeeper/zoo.cfg /opt/zookeeper*/conf/zoo.cfg \
    /etc/kafka/server.properties /etc/kafka/zookeeper.properties /opt/kafka*/config/server.properties \
    /etc/rabbitmq/rabbitmq.conf /etc/rabbitmq/rabbitmq-env.conf /etc/rabbitmq/advanced.config \
    /etc/prometheus/prometheus.yml /etc/default/prometheus /etc/default/prometheus-node-exporter \
    /etc/grafana/grafana.ini /etc/elasticsearch/elasticsearch.yml /etc/opensearch/opensearch.yml \
    /etc/cassandra/cassandra.yaml /etc/cassandra/conf/cassandra.yaml \
    /etc/consul.d/*.hcl /etc/consul.d/*.json /etc/vault.d/*.hcl /etc/default/minio \
    /etc/tomcat*/server.xml /etc/php/*/fpm/php-fpm.conf /etc/php/*/fpm/pool.d/*.conf /etc/php-fpm.d/*.conf \
    /etc/fluent-bit/fluent-bit.conf /etc/td-agent-bit/td-agent-bit.conf /etc/td-agent/td-agent.conf \
    /etc/fluent/fluentd.conf /etc/filebeat/filebeat.yml /etc/traefik/traefik.yml /etc/traefik/traefik.toml
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
