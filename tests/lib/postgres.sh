# shellcheck shell=bash
# A private PostgreSQL cluster for one test (the state store's tests).
#
# Source it after tests/lib/fixture.sh.  It finds Debian's server binaries
# (/usr/lib/postgresql/N/bin; skips, exit 77, when they are missing), and
# gives:
#
#   sg_pg_start    initdb (first time) in a fresh temporary directory and
#                  start the server: trust authentication, unix socket
#                  only (listen_addresses = ''), never a TCP port.  As root
#                  the cluster runs as a throwaway account (initdb refuses
#                  root), made with useradd and removed on exit.
#   sg_pg_stop     stop the server (SIGINT to the postmaster's pid: a fast
#                  shutdown) and wait for it to go
#   sg_psql SQL    run SQL as the cluster's superuser, unaligned output
#   SG_PG_CONNINFO the libpq connection string (host = the socket dir)
#   SG_PG_DIR      the cluster's base directory
#
# The server is stopped and the directory removed on exit (chained to the
# fixture's EXIT trap).

SG_PG_BIN=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
		SG_PG_BIN=$d
		break
	fi
done
[ -n "$SG_PG_BIN" ] || sg_skip "PostgreSQL server binaries missing (apt-get install postgresql)"
command -v psql >/dev/null || sg_skip "psql missing (postgresql-client)"

SG_PG_DIR=$(mktemp -d /tmp/sg-pg.XXXXXX)
chmod 0755 "$SG_PG_DIR"
SG_PG_DATA=$SG_PG_DIR/data
SG_PG_SOCK=$SG_PG_DIR/sock
SG_PG_SUPER=signgate
SG_PG_PID=""
SG_PG_ACCOUNT=""
SG_PG_CONNINFO="host=$SG_PG_SOCK dbname=postgres user=$SG_PG_SUPER"
export SG_PG_DIR SG_PG_CONNINFO

if [ "$(id -u)" = 0 ]; then
	for t in useradd userdel setpriv; do
		command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || sg_skip "$t not installed"
	done
	SG_PG_ACCOUNT=sg-pg$$
	useradd --system --no-create-home --user-group --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$SG_PG_ACCOUNT" || sg_fail "useradd $SG_PG_ACCOUNT"
	chown "$SG_PG_ACCOUNT:" "$SG_PG_DIR"
fi

# Run a server command as the cluster's owner.
sg_pg_as() {
	if [ -n "$SG_PG_ACCOUNT" ]; then
		setpriv --reuid="$SG_PG_ACCOUNT" --regid="$(id -g "$SG_PG_ACCOUNT")" --clear-groups -- \
			env -i PATH=/usr/bin:/bin LANG=C "$@"
	else
		env -i PATH=/usr/bin:/bin LANG=C "$@"
	fi
}

sg_pg_start() {
	local i
	if [ ! -d "$SG_PG_DATA" ]; then
		sg_pg_as mkdir -m 0700 "$SG_PG_DATA" || sg_fail "mkdir $SG_PG_DATA"
		sg_pg_as mkdir -m 0755 "$SG_PG_SOCK" || sg_fail "mkdir $SG_PG_SOCK"
		sg_pg_as "$SG_PG_BIN/initdb" -D "$SG_PG_DATA" -A trust -U "$SG_PG_SUPER" -E UTF8 \
			--no-sync > "$SG_PG_DIR/initdb.log" 2>&1 ||
			{ cat "$SG_PG_DIR/initdb.log"; sg_fail "initdb failed"; }
	fi
	# pg_ctl start returns once the server accepts connections (-w).
	sg_pg_as "$SG_PG_BIN/pg_ctl" -D "$SG_PG_DATA" -w -t 60 -l "$SG_PG_DIR/server.log" \
		-o "-c listen_addresses='' -k $SG_PG_SOCK -c fsync=off -c max_connections=100" \
		start > /dev/null || { tail -n 20 "$SG_PG_DIR/server.log"; sg_fail "postgres did not start"; }
	SG_PG_PID=$(head -n 1 "$SG_PG_DATA/postmaster.pid")
	for i in $(seq 1 100); do
		psql "$SG_PG_CONNINFO" -Atqc 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "== [postgres] pid $SG_PG_PID, socket $SG_PG_SOCK"
}

sg_pg_stop() {
	local i
	[ -n "$SG_PG_PID" ] || return 0
	kill -INT "$SG_PG_PID" 2>/dev/null || true
	for i in $(seq 1 300); do
		kill -0 "$SG_PG_PID" 2>/dev/null || break
		sleep 0.1
	done
	SG_PG_PID=""
}

sg_psql() {
	psql "$SG_PG_CONNINFO" -v ON_ERROR_STOP=1 -Atq -c "$1"
}

sg_pg_cleanup() {
	sg_pg_stop
	rm -rf "$SG_PG_DIR"
	if [ -n "$SG_PG_ACCOUNT" ]; then
		userdel "$SG_PG_ACCOUNT" 2>/dev/null || userdel -f "$SG_PG_ACCOUNT" 2>/dev/null || true
	fi
}
sg_pg_prev_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
# shellcheck disable=SC2064
trap "sg_pg_cleanup; $sg_pg_prev_trap" EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
