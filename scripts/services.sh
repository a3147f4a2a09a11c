#!/usr/bin/env bash
# services.sh — the real backing services Gatehouse's tests use, on 127.0.0.1.
#
#   scripts/services.sh start   install (Debian) and start Redis and PostgreSQL,
#                               and install Chromium (started by the browser tests)
#   scripts/services.sh stop    stop exactly what start started, remove its data
#   scripts/services.sh status  say what is running
#   scripts/services.sh env     print the export lines again
#
# start is idempotent and quiet on success: it prints only the export lines
#
#   export GATEHOUSE_REDIS_ADDR=127.0.0.1:6390
#   export GATEHOUSE_POSTGRES_DSN=postgres://gatehouse:gatehouse@127.0.0.1:5439/gatehouse?sslmode=disable
#
# and writes the same lines to .gatehouse-services/env (source it).
# Everything lives under .gatehouse-services/ (override with
# GATEHOUSE_SERVICES_DIR); ports with GATEHOUSE_REDIS_PORT and
# GATEHOUSE_PG_PORT. Redis keeps nothing on disk; PostgreSQL's data directory
# is temporary (removed by stop). Both listen on 127.0.0.1 only.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${GATEHOUSE_SERVICES_DIR:-$root/.gatehouse-services}
redis_port=${GATEHOUSE_REDIS_PORT:-6390}
pg_port=${GATEHOUSE_PG_PORT:-5439}
pg_user=gatehouse
pg_pass=gatehouse
pg_db=gatehouse

redis_dir=$dir/redis
pg_dir=$dir/postgres
pg_data=$pg_dir/data
pg_sock=$pg_dir/run
envfile=$dir/env

die() {
	echo "services.sh: $*" >&2
	exit 1
}

# logtail prints the end of a log file to stderr to explain a failure.
logtail() { [ -f "$1" ] && tail -n 20 "$1" >&2 || true; }

pg_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

apt_updated=
apt_install() {
	command -v apt-get >/dev/null || die "apt-get not found: install $* yourself"
	[ "$(id -u)" = 0 ] || die "not root: cannot install $* (install it, or run as root)"
	# Do not let the packages' init scripts start system-wide daemons on
	# their default ports: we start our own instances below.
	local policy=/usr/sbin/policy-rc.d added=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
	fi
	local rc=0
	if [ -z "$apt_updated" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$dir/apt.log" 2>&1 || rc=$?
		apt_updated=1
	fi
	if [ "$rc" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$dir/apt.log" 2>&1 || rc=$?
	fi
	[ -n "$added" ] && rm -f "$policy"
	if [ "$rc" != 0 ]; then
		logtail "$dir/apt.log"
		die "apt-get install $* failed (log: $dir/apt.log)"
	fi
}

ensure_packages() {
	local want=()
	command -v redis-server >/dev/null || want+=(redis-server)
	command -v redis-cli >/dev/null || want+=(redis-tools)
	pg_bindir >/dev/null || want+=(postgresql)
	command -v psql >/dev/null || want+=(postgresql-client)
	id postgres >/dev/null 2>&1 || want+=(postgresql)
	chromium_bin >/dev/null || want+=(chromium)
	if [ ${#want[@]} -gt 0 ]; then
		apt_install $(printf '%s\n' "${want[@]}" | sort -u)
	fi
	pg_bindir >/dev/null || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
	id postgres >/dev/null 2>&1 || die "user postgres missing (the postgresql package creates it)"
}

chromium_bin() { command -v chromium || command -v chromium-browser; }

redis_up() { redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_redis() {
	mkdir -p "$redis_dir"
	if pid_alive "$redis_dir/redis.pid" && redis_up; then
		return 0
	fi
	if redis_up; then
		die "something that is not ours already answers on 127.0.0.1:$redis_port (set GATEHOUSE_REDIS_PORT)"
	fi
	rm -f "$redis_dir/redis.pid"
	redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes \
		--dir "$redis_dir" --save '' --appendonly no \
		--daemonize yes --pidfile "$redis_dir/redis.pid" \
		--logfile "$redis_dir/redis.log" >/dev/null ||
		{ logtail "$redis_dir/redis.log"; die "redis-server failed to start"; }
	local i
	for i in $(seq 1 100); do
		redis_up && return 0
		sleep 0.1
	done
	logtail "$redis_dir/redis.log"
	die "redis-server did not answer on 127.0.0.1:$redis_port"
}

as_postgres() { runuser -u postgres -- "$@"; }

psql_admin() {
	as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$pg_sock" -p "$pg_port" -U postgres "$@"
}

start_postgres() {
	local bin
	bin=$(pg_bindir)
	mkdir -p "$pg_dir"
	chmod 755 "$dir" "$pg_dir"
	if [ ! -s "$pg_data/PG_VERSION" ]; then
		rm -rf "$pg_data"
		install -d -o postgres -g postgres -m 700 "$pg_data"
		as_postgres "$bin/initdb" -D "$pg_data" -U postgres --auth-local=trust \
			--auth-host=scram-sha-256 -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 ||
			{ logtail "$pg_dir/initdb.log"; die "initdb failed"; }
	fi
	install -d -o postgres -g postgres -m 755 "$pg_sock"
	if ! as_postgres "$bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
		if "$bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; then
			die "something that is not ours already answers on 127.0.0.1:$pg_port (set GATEHOUSE_PG_PORT)"
		fi
		touch "$pg_dir/postgres.log" && chown postgres:postgres "$pg_dir/postgres.log"
		as_postgres "$bin/pg_ctl" -D "$pg_data" -l "$pg_dir/postgres.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
			start >/dev/null 2>&1 ||
			{ logtail "$pg_dir/postgres.log"; die "PostgreSQL failed to start"; }
	fi
	# Role, database and the scs pgxstore table (see pgxstore's README).
	psql_admin -d postgres >/dev/null <<-SQL || die "PostgreSQL setup (role, database) failed"
		SELECT 'CREATE ROLE $pg_user LOGIN PASSWORD ''$pg_pass'''
		WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$pg_user') \gexec
		SELECT 'CREATE DATABASE $pg_db OWNER $pg_user'
		WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$pg_db') \gexec
	SQL
	psql_admin -d "$pg_db" >/dev/null <<-SQL || die "PostgreSQL setup (sessions table) failed"
		SET client_min_messages = warning;
		SET ROLE $pg_user;
		CREATE TABLE IF NOT EXISTS sessions (
			token TEXT PRIMARY KEY,
			data BYTEA NOT NULL,
			expiry TIMESTAMPTZ NOT NULL
		);
		CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry);
	SQL
}

env_lines() {
	echo "export GATEHOUSE_REDIS_ADDR=127.0.0.1:$redis_port"
	echo "export GATEHOUSE_POSTGRES_DSN='postgres://$pg_user:$pg_pass@127.0.0.1:$pg_port/$pg_db?sslmode=disable'"
	echo "export GATEHOUSE_CHROMIUM=$(chromium_bin)"
}

stop_redis() {
	local pidf=$redis_dir/redis.pid pid i
	if pid_alive "$pidf"; then
		pid=$(cat "$pidf")
		redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$redis_dir"
}

stop_postgres() {
	local bin
	if [ -d "$pg_data" ] && bin=$(pg_bindir); then
		if as_postgres "$bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
			as_postgres "$bin/pg_ctl" -D "$pg_data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
				die "could not stop PostgreSQL (data: $pg_data)"
		fi
	fi
	rm -rf "$pg_dir"
}

cmd=${1:-}
case "$cmd" in
start)
	mkdir -p "$dir"
	ensure_packages
	start_redis
	start_postgres
	env_lines >"$envfile"
	cat "$envfile"
	;;
stop)
	[ -d "$dir" ] || exit 0
	stop_redis
	stop_postgres
	rm -f "$envfile"
	;;
status)
	if pid_alive "$redis_dir/redis.pid" && redis_up; then echo "redis: up on 127.0.0.1:$redis_port"; else echo "redis: down"; fi
	if [ -d "$pg_data" ] && bin=$(pg_bindir) && as_postgres "$bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
		echo "postgres: up on 127.0.0.1:$pg_port"
	else
		echo "postgres: down"
	fi
	;;
env)
	env_lines
	;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
