#!/usr/bin/env bash
# Install the Debian packages the test suite drives for real, when they are missing.
#
#   scripts/ensure-system-packages.sh             # chromium + fonts (browser tests)
#   scripts/ensure-system-packages.sh --postgres  # also a PostgreSQL answering on 127.0.0.1:5432
#                                                 # with trust auth for `postgres` and a `test` database
#
# Idempotent: does nothing (and needs no root) when everything is already there. Installing
# needs root or password-less sudo; CI runs as root on a bare Debian 12.
set -euo pipefail

WANT_POSTGRES=0
for arg in "$@"; do
  case "$arg" in
    --postgres) WANT_POSTGRES=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

PG_HOST=127.0.0.1
PG_PORT="${PG_PORT:-5432}"
PG_CLUSTER_NAME="${PG_CLUSTER_NAME:-main}"  # used only when a cluster has to be created
export DEBIAN_FRONTEND=noninteractive

say() { printf '[system-packages] %s\n' "$*"; }

can_root() { [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    say "need root to run: $*" >&2
    say "run this script (or 'make test') as root once, or install the packages yourself:" >&2
    say "  apt-get install chromium fonts-noto-cjk fonts-liberation$([ "$WANT_POSTGRES" -eq 1 ] && echo ' postgresql')" >&2
    exit 1
  fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  say "installing: $*"
  as_root apt-get install -y -qq --no-install-recommends "$@"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# --- browser tests: Debian's Chromium (Playwright drives it; never `playwright install`) ---
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Japanese text, and the Latin fonts chromium only recommends (we install without recommends).
installed fonts-noto-cjk || missing+=(fonts-noto-cjk)
installed fonts-liberation || missing+=(fonts-liberation)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ -x /usr/bin/chromium ] && ! can_root; then
    # Only fonts are missing: the tests still run, screenshots may show boxes for some glyphs.
    say "warning: not installed (needs root): ${missing[*]}" >&2
  else
    apt_install "${missing[@]}"
  fi
fi
say "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'MISSING')"

[ "$WANT_POSTGRES" -eq 1 ] || exit 0

# --- PostgreSQL on 127.0.0.1:5432, trust auth for postgres, database `test` ---
pg_answers() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
# -w: never prompt for a password (CI has no stdin); failing means trust auth is not in place.
pg_sql() { psql -w -X -q -h "$PG_HOST" -p "$PG_PORT" -U postgres "$@"; }

local_cluster() {
  # "<version> <cluster>" of the local cluster on our port, if any.
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }'
}

if ! pg_answers; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  cluster="$(local_cluster)"
  if [ -z "$cluster" ]; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
    say "creating cluster $version/$PG_CLUSTER_NAME on port $PG_PORT"
    as_root pg_createcluster --port "$PG_PORT" "$version" "$PG_CLUSTER_NAME"
    cluster="$version $PG_CLUSTER_NAME"
  fi
  say "starting PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086
  as_root pg_ctlcluster --skip-systemctl-redirect $cluster start || true
  for _ in $(seq 1 60); do pg_answers && break; sleep 0.5; done
  pg_answers || { say "PostgreSQL does not answer on $PG_HOST:$PG_PORT" >&2; exit 1; }
fi

if ! pg_sql -d postgres -c 'select 1' >/dev/null 2>&1; then
  # Our own Debian cluster with the default (scram) rules for TCP: let postgres in from loopback.
  cluster="$(local_cluster)"
  if [ -z "$cluster" ]; then
    say "PostgreSQL answers on $PG_HOST:$PG_PORT but refuses postgres without a password," >&2
    say "and it is not a local Debian cluster this script can configure." >&2
    exit 1
  fi
  hba="/etc/postgresql/${cluster// //}/pg_hba.conf"
  say "allowing trust auth from loopback in $hba"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  # shellcheck disable=SC2086
  as_root pg_ctlcluster --skip-systemctl-redirect $cluster reload
  sleep 1
  pg_sql -d postgres -c 'select 1' >/dev/null
fi

if [ "$(pg_sql -d postgres -tAc "select 1 from pg_database where datname = 'test'")" != "1" ]; then
  say "creating database test"
  pg_sql -d postgres -c 'create database test'
fi
pg_sql -d test -c 'select 1' >/dev/null
say "postgresql: $(pg_sql -d test -tAc 'show server_version') on $PG_HOST:$PG_PORT, database test ready"
