#!/bin/bash
# The state store's cost (suite 'bench': a measurement, not a test).
#  1. signgate-bench-state: one counted decision (quota_take) in the file
#     store and in PostgreSQL on this machine (unix socket), median and
#     p99; the first decision of a process (connect + schema check, what
#     broker mode pays per client connection); the revocation check.
#  2. signgate-bench: ECDSA signatures through signgate, A = no quota
#     (PostgreSQL store configured, nothing counted) against B = a rule
#     quota counted in PostgreSQL; and A = file-store quota against B =
#     PostgreSQL quota.
# ST_BENCH_SECONDS (default 2) and ST_BENCH_ROUNDS (default 3) size runs.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/postgres.sh"
sg_pg_start
micro=$SG_BUILDDIR/tests/integration/state/signgate-bench-state
bench=$SG_BUILDDIR/tools/signgate-bench
secs=${ST_BENCH_SECONDS:-2} rounds=${ST_BENCH_ROUNDS:-3}

printf '%s\n' "$SG_PG_CONNINFO" > "$SG_TMP/state.conninfo"
chmod 0600 "$SG_TMP/state.conninfo"
pg="state = { store = \"postgresql\"; conninfo_file = \"$SG_TMP/state.conninfo\"; timeout_ms = 2000; };"
files="state = { store = \"files\"; dir = \"$SG_TMP/state\"; };"
sg_config "$SG_TMP/init.conf" "$pg"
sed -i '/^state_dir/d' "$SG_TMP/init.conf"
"$SG_TOOL" state init --config "$SG_TMP/init.conf" || sg_fail "state init"

echo "== counted decision, file store ($SG_TMP/state)"
"$micro" "$SG_TMP/state" 5000 || sg_fail "micro bench (files)"
echo "== counted decision, PostgreSQL $(psql --version | awk '{print $3}') on this machine (unix socket)"
"$micro" "postgresql:2000:$SG_TMP/state.conninfo" 5000 "$SG_PG_CONNINFO" || sg_fail "micro bench (postgresql)"

conf() { # NAME STATE RULE_EXTRA
	sg_config "$SG_TMP/$1.conf" "$2
audit = { enabled = false; };
$(sg_allow_policy | sed "s|keys = \[ \"test-rsa\", \"test-ec\" \]; } );|keys = [ \"test-rsa\", \"test-ec\" ]; $3 } );|")"
	sed -i '/^state_dir/d' "$SG_TMP/$1.conf"
}
quota='quota = { count = 1000000000; period = "1d"; per = "rule"; };'
conf pg-none "$pg" ""
conf pg-quota "$pg" "$quota"
conf files-quota "$files" "$quota"
run() { # A B
	echo "== signgate-bench ECDSA, 1 thread: A = $1, B = $2"
	"$bench" --module "$SG_MODULE" --module-b "$SG_MODULE" --conf-a "$SG_TMP/$1.conf" \
		--conf-b "$SG_TMP/$2.conf" --name-a "$1" --name-b "$2" --token "$SG_TOKEN" \
		--pin "$SG_USER_PIN" --id "$SG_EC_ID" --mech ecdsa --threads 1 --seconds "$secs" \
		--rounds "$rounds" --pubkey "$SG_EC_PUB" || sg_fail "signgate-bench $1 vs $2"
}
run pg-none pg-quota
run files-quota pg-quota
echo "counters in signgate_quota: $(sg_psql "SELECT string_agg(count::text, ' ') FROM signgate_quota")"
sg_pass "measured"
