#!/usr/bin/env bash
# System services some tests use; they skip with a reason when these are missing.
# Installs Debian's chromium (browser tests) and PostgreSQL, starts a throw-away PostgreSQL
# server on 127.0.0.1:55432 (trust auth, data in a temp dir), installs node-opcua (when npm is there)
# and prints the variables to export.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v chromium >/dev/null || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1
fi
initdb=$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)
bin=$(dirname "$initdb")
port=55432
if ! "$bin/pg_isready" -q -h 127.0.0.1 -p $port 2>/dev/null; then
  data=$(mktemp -d /tmp/twin-pg.XXXXXX)
  chown postgres "$data"
  runuser -u postgres -- "$bin/initdb" -D "$data" -A trust -U twin >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
fi
echo "export TWIN_TEST_PG_URL=postgresql://twin@127.0.0.1:$port/postgres"
# node-opcua, an OPC UA client this project did not write, with the OPC Foundation's NodeSet2 files
# (node-opcua-nodesets) for tests/api/test_opcua*.py; installed once into a cache directory
if command -v npm >/dev/null; then
  node_dir=${TWIN_NODE_DIR:-/var/cache/twin-node}
  if [ ! -d "$node_dir/node_modules/node-opcua-nodesets" ]; then
    mkdir -p "$node_dir"
    npm install --silent --no-audit --no-fund --prefix "$node_dir" node-opcua@2 node-opcua-nodesets@2 >/dev/null 2>&1 || true
  fi
  if [ -d "$node_dir/node_modules/node-opcua-nodesets" ]; then
    echo "export TWIN_NODE_MODULES=$node_dir/node_modules"
  fi
fi
