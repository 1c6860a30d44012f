#!/usr/bin/env bash
# s3-test-server.sh — the real S3-compatible server the S3 tests run against: a throw-away,
# single-host Ceph cluster (1 mon, 1 OSD in RAM, no mgr) with radosgw (Ceph's S3 gateway) on
# 127.0.0.1 only. No durability, no auth between daemons: for tests, never for data.
# (Adapted from the shared recipe ../shared/s3/s3-ceph.sh; the project carries its own copy.)
#
#   S3ENV=$(bash scripts/s3-test-server.sh start) || exit 1   # installs Debian's ceph-mon, ceph-osd,
#   eval "$S3ENV"                                            # radosgw if missing (root or sudo -n),
#                                                            # starts (~3 s), prints export lines
#   npm test                                                  # the S3 suite runs against it
#   bash scripts/s3-test-server.sh stop                       # stops the daemons, deletes the data
#
# Capture the output first as above: `eval "$(… start)"` would hide a failed start.
# `start` when this instance is already up and answering only prints the export lines again.
# Everything but the export lines goes to stderr; a failed step prints the daemons' log tails.
#
# Settings (environment):
#   S3CEPH_DIR    working dir             (default /tmp/holdfast-s3) — wiped on start and stop
#   S3CEPH_PORT   S3 port on 127.0.0.1    (default 7480)
#   S3CEPH_MON    mon port on 127.0.0.1   (default 3300, msgr2 only)
#   S3CEPH_STORE  memstore | bluestore    (default memstore: data in RAM; bluestore: sparse file in the dir)
#   S3CEPH_BYTES  OSD capacity in bytes   (default 8 GiB; memstore uses RAM only for what is stored)
#   S3CEPH_KEY / S3CEPH_SECRET            (default fixed test keys)
#   S3CEPH_APT_TIMEOUT  seconds the package install may take before it fails (default 600)
set -euo pipefail

D=${S3CEPH_DIR:-/tmp/holdfast-s3}
PORT=${S3CEPH_PORT:-7480}
MONPORT=${S3CEPH_MON:-3300}
STORE=${S3CEPH_STORE:-memstore}
BYTES=${S3CEPH_BYTES:-8589934592}
KEY=${S3CEPH_KEY:-TESTACCESSKEY0000001}
SECRET=${S3CEPH_SECRET:-testsecretkey0000000000000000000000000001}
CONF="$D/ceph.conf"
APT_TIMEOUT=${S3CEPH_APT_TIMEOUT:-600}

log() { echo "[s3-test-server] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# a start step failed: show the log tails, stop what was started, fail
fail() {
  log "ERROR: $*"
  for f in "$D"/log/*.log; do [ -f "$f" ] && { log "--- tail $f"; tail -n 20 "$f" >&2; }; done
  stop; exit 1
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# a pid is alive while /proc has it and it is not a zombie (no procps needed)
alive() { local st; st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1; [ "${st%% *}" != Z ]; }

print_env() {
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT"
  echo "export AWS_ACCESS_KEY_ID=$KEY"
  echo "export AWS_SECRET_ACCESS_KEY=$SECRET"
  echo "export AWS_REGION=us-east-1"
  # Ceph wants path-style addressing and no streamed (aws-chunked) checksums.
  echo "export HOLDFAST_S3_FORCE_PATH_STYLE=1"
}

stop() {
  # SIGTERM each daemon by the pid file it wrote, SIGKILL whatever is left after 2 s (radosgw can
  # take >10 s to shut down; memstore would dump its whole content to disk). The data is thrown away.
  local pids=() n f pid
  for n in client.rgw osd.0 mon.a; do
    f="$D/run/$n.pid"; [ -f "$f" ] || continue
    pid=$(cat "$f"); alive "$pid" || continue
    kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid")
  done
  for _ in $(seq 1 20); do
    n=0; for pid in "${pids[@]}"; do alive "$pid" && n=1; done
    [ "$n" = 0 ] && break; sleep 0.1
  done
  for pid in "${pids[@]}"; do alive "$pid" && kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$D"
  log "stopped"
}

install_pkgs() {
  if command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v radosgw >/dev/null; then return; fi
  log "installing ceph-mon ceph-osd radosgw from Debian (about 60 MB download, 230 MB on disk)"
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || die "ceph-mon, ceph-osd and radosgw are missing and installing them needs root (or sudo without a password)"
    sudo=(sudo -n)
  fi
  # Bounded: a stuck mirror or a held dpkg lock fails the start instead of hanging CI.
  local apt=(timeout "$APT_TIMEOUT" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 -o Acquire::http::Timeout=30 -o DPkg::Lock::Timeout=120)
  local aptlog; aptlog=$(mktemp /tmp/s3-test-server-apt.XXXXXX)
  "${apt[@]}" update -qq >"$aptlog" 2>&1 || { tail -n 30 "$aptlog" >&2; die "apt-get update failed (or took over $APT_TIMEOUT s); log $aptlog"; }
  "${apt[@]}" install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >>"$aptlog" 2>&1 \
    || { tail -n 30 "$aptlog" >&2; die "apt-get install ceph-mon ceph-osd radosgw failed (or took over $APT_TIMEOUT s); log $aptlog"; }
  rm -f "$aptlog"
  command -v radosgw >/dev/null || die "radosgw is still missing after the install"
}

start() {
  case "$STORE" in memstore|bluestore) ;; *) die "S3CEPH_STORE must be memstore or bluestore" ;; esac
  if [ -f "$D/run/client.rgw.pid" ] && alive "$(cat "$D/run/client.rgw.pid")" && port_busy "$PORT"; then
    log "already running in $D on 127.0.0.1:$PORT"; print_env; return
  fi
  install_pkgs
  # A half-started or crashed earlier instance in our dir: clear it away first.
  stop 2>/dev/null
  port_busy "$PORT" && die "127.0.0.1:$PORT is already in use"
  port_busy "$MONPORT" && die "127.0.0.1:$MONPORT is already in use"
  rm -rf "$D"; mkdir -p "$D"/{mon,osd,rgw,log,run}
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MONPORT
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
client mount timeout = 30
rados mon op timeout = 60
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
log to stderr = false
err to stderr = false
mon cluster log file = $D/log/cluster.log
crash dir = $D/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail crit = 0
mon data avail warn = 0
[mon]
mon data = $D/mon
# batch map updates every 10 ms instead of 1 s: radosgw's first start creates ~5 pools one by one
paxos propose interval = 0.01
paxos min wait = 0.001
[osd]
osd data = $D/osd
osd objectstore = $STORE
memstore device bytes = $BYTES
bluestore block path = $D/osd/block.file
bluestore block size = $BYTES
bluestore block create = true
osd memory target = 1073741824
[client.rgw]
# tcp_nodelay: without it every small GET waits ~45 ms (Nagle here, delayed ACK in the client)
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $D/rgw
rgw init timeout = 120
rgw enable usage log = false
rgw dynamic resharding = false
rgw gc obj min wait = 60
rgw gc processor period = 60
EOF
  export CEPH_CONF="$CONF"
  monmaptool --create --clobber --addv a "[v2:127.0.0.1:$MONPORT]" --fsid "$fsid" "$D/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$D/monmap" >>"$D/log/setup.log" 2>&1 || fail "mon mkfs"
  ceph-mon -i a >>"$D/log/setup.log" 2>&1 || fail "mon start"
  local uuid; uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph --connect-timeout 30 osd new "$uuid" >>"$D/log/setup.log" 2>&1 || fail "osd new"
  ceph-osd -i 0 --mkfs --osd-uuid "$uuid" >>"$D/log/setup.log" 2>&1 || fail "osd mkfs"
  ceph-osd -i 0 >>"$D/log/setup.log" 2>&1 || fail "osd start"
  for i in $(seq 1 60); do ceph osd dump 2>/dev/null | grep -q '^osd.0 up' && break; sleep 0.5; [ "$i" = 60 ] && fail "osd.0 not up"; done
  radosgw -n client.rgw >>"$D/log/setup.log" 2>&1 || fail "radosgw start"
  for i in $(seq 1 240); do
    port_busy "$PORT" && break   # bash /dev/tcp, no curl needed
    sleep 0.25; [ "$i" = 240 ] && fail "radosgw did not answer on 127.0.0.1:$PORT"
  done
  radosgw-admin user create --uid=test --display-name=test --access-key="$KEY" --secret-key="$SECRET" \
    >>"$D/log/setup.log" 2>&1 || fail "user create"
  log "S3 endpoint http://127.0.0.1:$PORT ready (store=$STORE, dir=$D)"
  print_env
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  install) install_pkgs ;;
  *) echo "usage: $0 start|stop|env|install" >&2; exit 2 ;;
esac
