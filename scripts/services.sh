#!/usr/bin/env bash
# services.sh — the real backing services Gatehouse's tests use, on 127.0.0.1.
#
#   scripts/services.sh start   install (Debian) and start Redis and PostgreSQL,
#                               install Chromium (started by the browser tests),
#                               install the pinned OpenID Provider (panva's
#                               oidc-provider, npm ci from e2e/oidcop) and start it
#   scripts/services.sh stop    stop exactly what start started, remove its data
#   scripts/services.sh status  say what is running
#   scripts/services.sh env     print the export lines again
#
# start is idempotent and quiet on success: it prints only the export lines
#
#   export GATEHOUSE_REDIS_ADDR=127.0.0.1:6390
#   export GATEHOUSE_POSTGRES_DSN=postgres://gatehouse:gatehouse@127.0.0.1:5439/gatehouse?sslmode=disable
#   export GATEHOUSE_OIDC_ISSUER=http://127.0.0.1:9840
#   export GATEHOUSE_OIDC_CLIENT_ID=... GATEHOUSE_OIDC_CLIENT_SECRET=...
#   export GATEHOUSE_OIDC_REGISTRATION_TOKEN=...
#
# and writes the same lines to .gatehouse-services/env (source it).
# Everything lives under .gatehouse-services/ (override with
# GATEHOUSE_SERVICES_DIR); ports with GATEHOUSE_REDIS_PORT and
# GATEHOUSE_PG_PORT. Redis keeps nothing on disk; PostgreSQL's data directory
# is temporary (removed by stop). Both listen on 127.0.0.1 only.
#
# The OpenID Provider (e2e/oidcop/server.mjs) needs Node.js >= 20.12 (the
# machine image ships 20; where node is missing or older, start installs
# Debian's nodejs and npm and says which version it got). The pinned package
# is installed with `npm ci` into .gatehouse-services/oidcop-install (kept
# across stop, reinstalled when package-lock.json or node changes); the OP
# listens on 127.0.0.1:GATEHOUSE_OIDCOP_PORT (default 9840) with issuer
# http://127.0.0.1:PORT, its access tokens live GATEHOUSE_OIDCOP_ACCESS_TTL
# seconds (default 8), and its client secret and registration token are new
# random values at each start.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${GATEHOUSE_SERVICES_DIR:-$root/.gatehouse-services}
redis_port=${GATEHOUSE_REDIS_PORT:-6390}
pg_port=${GATEHOUSE_PG_PORT:-5439}
op_port=${GATEHOUSE_OIDCOP_PORT:-9840}
op_access_ttl=${GATEHOUSE_OIDCOP_ACCESS_TTL:-8}
pg_user=gatehouse
pg_pass=gatehouse
pg_db=gatehouse

redis_dir=$dir/redis
pg_dir=$dir/postgres
pg_data=$pg_dir/data
pg_sock=$pg_dir/run
envfile=$dir/env
op_src=$root/e2e/oidcop
op_install=$dir/oidcop-install
op_dir=$dir/oidcop
# Oldest Node.js the pinned oidc-provider runs on (it uses crypto.hash).
node_min=20.12.0

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
	command -v curl >/dev/null || want+=(curl)
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

node_version() { node -e 'process.stdout.write(process.versions.node)' 2>/dev/null; }

# version_ge A B: A >= B (dotted versions).
version_ge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }

# ensure_node makes sure node >= node_min and npm are there, installing
# Debian's nodejs and npm otherwise (and saying which version that gave).
ensure_node() {
	local v
	v=$(node_version || true)
	if [ -n "$v" ] && version_ge "$v" "$node_min" && command -v npm >/dev/null; then
		return 0
	fi
	echo "services.sh: Node.js ${v:-not found}${v:+ (older than $node_min)} or npm missing: installing Debian's nodejs and npm" >&2
	apt_install nodejs npm
	v=$(node_version || true)
	echo "services.sh: Debian gave Node.js ${v:-nothing} ($(command -v node || echo 'no node'))" >&2
	if [ -z "$v" ] || ! version_ge "$v" "$node_min"; then
		die "Node.js ${v:-missing} is older than $node_min, which the pinned oidc-provider needs: install Node.js $node_min or newer"
	fi
}

# install_oidcop runs npm ci for e2e/oidcop into op_install, unless the same
# lock was already installed there with the same node.
install_oidcop() {
	local want
	want="$(cat "$op_src/package.json" "$op_src/package-lock.json" "$op_src/.npmrc" | sha256sum | cut -d' ' -f1) node-$(node_version)"
	if [ -f "$op_install/.stamp" ] && [ "$(cat "$op_install/.stamp")" = "$want" ] &&
		[ -f "$op_install/node_modules/oidc-provider/package.json" ]; then
		return 0
	fi
	rm -rf "$op_install"
	mkdir -p "$op_install"
	cp "$op_src/package.json" "$op_src/package-lock.json" "$op_src/.npmrc" "$op_install/"
	(cd "$op_install" && npm ci --ignore-scripts --no-audit --no-fund >"$dir/npm.log" 2>&1) ||
		{ logtail "$dir/npm.log"; die "npm ci of the OpenID Provider (e2e/oidcop) failed (log: $dir/npm.log)"; }
	echo "$want" >"$op_install/.stamp"
}

oidcop_issuer() { echo "http://127.0.0.1:$op_port"; }

oidcop_up() {
	curl -fsS -m 2 "$(oidcop_issuer)/.well-known/openid-configuration" 2>/dev/null |
		grep -qF "\"issuer\":\"$(oidcop_issuer)\""
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

randtoken() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

start_oidcop() {
	mkdir -p "$op_dir"
	if pid_alive "$op_dir/op.pid" && [ -s "$op_dir/config" ] && oidcop_up; then
		return 0
	fi
	if pid_alive "$op_dir/op.pid"; then
		stop_oidcop # ours but not answering: start afresh
		mkdir -p "$op_dir"
	fi
	if port_busy "$op_port"; then
		die "something that is not ours already answers on 127.0.0.1:$op_port (set GATEHOUSE_OIDCOP_PORT)"
	fi
	ensure_node
	install_oidcop
	cp "$op_src/server.mjs" "$op_install/server.mjs"
	local secret regtok
	secret=$(randtoken)
	regtok=$(randtoken)
	(umask 077 && printf 'op_client_id=gatehouse-e2e\nop_client_secret=%s\nop_registration_token=%s\n' \
		"$secret" "$regtok" >"$op_dir/config")
	(
		cd "$op_install" || exit 1
		# A simple command in the background: $! is node itself (setsid
		# does not fork here: the child leads no process group).
		OIDCOP_PORT=$op_port OIDCOP_CLIENT_ID=gatehouse-e2e OIDCOP_CLIENT_SECRET=$secret \
			OIDCOP_REGISTRATION_TOKEN=$regtok OIDCOP_ACCESS_TOKEN_TTL=$op_access_ttl \
			setsid nohup node server.mjs >>"$op_dir/op.log" 2>&1 </dev/null &
		echo $! >"$op_dir/op.pid"
	)
	local i
	for i in $(seq 1 200); do
		oidcop_up && return 0
		pid_alive "$op_dir/op.pid" || break
		sleep 0.1
	done
	logtail "$op_dir/op.log"
	die "the OpenID Provider did not answer on $(oidcop_issuer) (log: $op_dir/op.log)"
}

stop_oidcop() {
	local pidf=$op_dir/op.pid pid i
	if pid_alive "$pidf"; then
		pid=$(cat "$pidf")
		kill "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$op_dir" # the npm ci install (op_install) is kept
}

env_lines() {
	echo "export GATEHOUSE_REDIS_ADDR=127.0.0.1:$redis_port"
	echo "export GATEHOUSE_POSTGRES_DSN='postgres://$pg_user:$pg_pass@127.0.0.1:$pg_port/$pg_db?sslmode=disable'"
	echo "export GATEHOUSE_CHROMIUM=$(chromium_bin)"
	if [ -s "$op_dir/config" ]; then
		local op_client_id op_client_secret op_registration_token
		# shellcheck disable=SC1091
		. "$op_dir/config"
		echo "export GATEHOUSE_OIDC_ISSUER=$(oidcop_issuer)"
		echo "export GATEHOUSE_OIDC_CLIENT_ID=$op_client_id"
		echo "export GATEHOUSE_OIDC_CLIENT_SECRET=$op_client_secret"
		echo "export GATEHOUSE_OIDC_REGISTRATION_TOKEN=$op_registration_token"
	fi
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
	start_oidcop
	env_lines >"$envfile"
	cat "$envfile"
	;;
stop)
	[ -d "$dir" ] || exit 0
	stop_redis
	stop_postgres
	stop_oidcop
	rm -f "$envfile"
	;;
status)
	if pid_alive "$redis_dir/redis.pid" && redis_up; then echo "redis: up on 127.0.0.1:$redis_port"; else echo "redis: down"; fi
	if [ -d "$pg_data" ] && bin=$(pg_bindir) && as_postgres "$bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
		echo "postgres: up on 127.0.0.1:$pg_port"
	else
		echo "postgres: down"
	fi
	if pid_alive "$op_dir/op.pid" && oidcop_up; then echo "oidc-provider: up at $(oidcop_issuer)"; else echo "oidc-provider: down"; fi
	;;
env)
	env_lines
	;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
