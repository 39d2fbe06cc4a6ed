# shellcheck shell=bash
# Sourced by .ci/run (as root, on a fresh Debian machine whose only network is Debian's packages
# and the Go module proxy): makes sure a PostgreSQL server runs on this machine, creates the role
# and database store/pgstore's tests use, and exports TEST_DATABASE_URL.
#
# When TEST_DATABASE_URL is already set, it only checks that the database answers.
#
# Idempotent: a second run finds the server installed, the cluster running and the role and
# database present, and only exports the variable again. It fails loudly (non-zero status, with the
# server log) when PostgreSQL cannot be installed or started.
#
# Settings (environment, all optional): HUBSYNC_PG_USER, HUBSYNC_PG_PASSWORD, HUBSYNC_PG_DB.

hubsync_pg_main() {
  # A database given from outside (a developer's own) is used as is, once it answers.
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    if psql -X -q "$TEST_DATABASE_URL" -tAc 'SELECT 1' >/dev/null; then
      echo "postgres.sh: using the TEST_DATABASE_URL already set"
      return 0
    fi
    echo "postgres.sh: TEST_DATABASE_URL is set but that database does not answer" >&2
    return 1
  fi

  local user="${HUBSYNC_PG_USER:-hubsync}"
  local password="${HUBSYNC_PG_PASSWORD:-hubsync}"
  local db="${HUBSYNC_PG_DB:-hubsync_test}"

  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "postgres.sh: installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || { echo "postgres.sh: apt-get update failed" >&2; return 1; }
    apt-get install -y -q --no-install-recommends postgresql postgresql-client ||
      { echo "postgres.sh: apt-get install postgresql failed" >&2; return 1; }
  fi

  local bindir version
  bindir=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1)")
  version=$(basename "$(dirname "$bindir")")

  # Debian's packaging creates the "main" cluster on install; recreate it if it is gone.
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version main"; then
    echo "postgres.sh: creating cluster $version/main"
    pg_createcluster "$version" main ||
      { echo "postgres.sh: pg_createcluster $version main failed" >&2; return 1; }
  fi

  # Room for the tests' parallel pools (each test opens its own), set once.
  local confd="/etc/postgresql/$version/main/conf.d"
  if [ -d "$confd" ] && [ ! -f "$confd/hubsync-ci.conf" ]; then
    printf 'max_connections = 200\n' >"$confd/hubsync-ci.conf"
    if pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
      pg_ctlcluster "$version" main restart ||
        { echo "postgres.sh: restarting cluster $version/main failed" >&2; return 1; }
    fi
  fi

  local status port
  status=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}')
  port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
  if [ "$status" != "online" ]; then
    echo "postgres.sh: starting cluster $version/main on port $port"
    if ! pg_ctlcluster "$version" main start; then
      echo "postgres.sh: PostgreSQL $version did not start; its log follows" >&2
      tail -n 50 "/var/log/postgresql/postgresql-$version-main.log" >&2 || true
      return 1
    fi
  fi

  local i
  for i in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$port"; then break; fi
    if [ "$i" = 60 ]; then
      echo "postgres.sh: PostgreSQL on port $port is not answering after 30s; its log follows" >&2
      tail -n 50 "/var/log/postgresql/postgresql-$version-main.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done

  local psql=(runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres)
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$password'" ||
      { echo "postgres.sh: creating role $user failed" >&2; return 1; }
  fi
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE \"$db\" OWNER \"$user\"" ||
      { echo "postgres.sh: creating database $db failed" >&2; return 1; }
  fi

  export TEST_DATABASE_URL="postgres://$user:$password@127.0.0.1:$port/$db?sslmode=disable"
  if ! PGPASSWORD="$password" psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -tAc 'SELECT 1' >/dev/null; then
    echo "postgres.sh: cannot connect to $db as $user over TCP" >&2
    return 1
  fi
  echo "postgres.sh: PostgreSQL $version ready on port $port, database $db (TEST_DATABASE_URL exported)"
}

hubsync_pg_main
