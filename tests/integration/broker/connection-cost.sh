#!/bin/bash
# Per-connection cost of signgate behind p11-kit server (meson suite
# 'bench': a measurement, not a pass/fail test).
#
# p11-kit server forks a p11-kit-remote per connection, which initialises
# the provider afresh: with signgate that is load and check the config,
# identify the peer (SO_PEERCRED, user database, /proc/PID/exe and its
# SHA-256 where readable), configure the audit, dlopen the token module,
# log in with the PIN file.  One short-lived client = one connection, so
# the cost shows as the wall time of a one-signature `pkcs11-tool` run
# through p11-kit-client.so.  Sides, alternated run by run (A B C A B C ..):
#   A  p11-kit server, SoftHSM as provider (plain)
#   B  p11-kit server, signgate as provider, mode = broker, audit off
#   C  the same, audit to a live rsyslogd (required)
#   D  as B, but the server runs as the client's uid (here root): the peer's
#      /proc/PID/exe is readable, so signgate also hashes the program
# As root, A-C run as 'nobody' (the deployment: a service account that
# cannot read the caller's /proc/PID/exe) and the clients as root.
# Each side: median, min and p90 over BROKER_COST_RUNS runs (default 41) of
# ECDSA P-256 and of SHA256-RSA-PKCS 2048 signatures; differences B-A and C-A
# are the per-connection cost.  Also the server side's CPU time per
# connection (the reaped p11-kit-remote children's user+system time), which
# a busy machine disturbs far less than wall time.  Prints a markdown table at the end.
#
# Run: meson test -C BUILD --suite bench broker-connection-cost -v
# or by hand with SIGNGATE_* set as in tests/meson.build.
source "${SIGNGATE_SRCDIR:?run through meson test}/tests/lib/fixture.sh"
# shellcheck source=../../lib/rsyslog.sh
source "$SG_SRCDIR/tests/lib/rsyslog.sh"
set +e
CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -e "$CLIENT" ] || sg_skip "$CLIENT missing"
command -v p11-kit >/dev/null || sg_skip "p11-kit not installed"
runs=${BROKER_COST_RUNS:-41}
sg_rsyslog_start

policy=$(sg_allow_policy)
sg_config "$SG_TMP/off.conf" "mode = \"broker\";
audit = { enabled = false; };
$policy"
sg_config "$SG_TMP/syslog.conf" "mode = \"broker\";
audit = { enabled = true; required = true; format = \"json\"; socket = \"$SG_LOG_SOCK\"; };
$policy"

# the servers' user: nobody when we are root (see above)
as_svc=()
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	as_svc=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
	chown -R nobody "$SG_TMP"
	chmod 0666 "$SG_LOG_SOCK"
	chown root "$SG_TMP/off.conf"   # D runs as root: its config must be root's
	cp -p "$SG_TMP/off.conf" "$SG_TMP/same.conf"
	chown nobody "$SG_TMP/off.conf"
else
	cp -p "$SG_TMP/off.conf" "$SG_TMP/same.conf"
fi
svc_user=$(id -un); [ ${#as_svc[@]} -gt 0 ] && svc_user=nobody

pids=()
declare -A spid
stop_all() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	sg_rsyslog_stop
	[ "${SG_KEEP:-0}" = 1 ] || rm -rf "$SG_TMP"
}
trap stop_all EXIT
start() { # NAME PROVIDER [CONF] [same]: same = run as ourselves
	local sock=$SG_TMP/$1.sock pre=("${as_svc[@]}")
	[ "${4:-}" = same ] && pre=()
	"${pre[@]}" env ${3:+SIGNGATE_CONF=$3} p11-kit server -f --provider "$2" -n "$sock" \
		"pkcs11:token=$SG_TOKEN" > "$SG_TMP/$1.log" 2>&1 &
	pids+=($!)
	spid[$1]=$!
	for _ in $(seq 1 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
	cat "$SG_TMP/$1.log"; sg_fail "p11-kit server $1 did not start"
}
start plain "$SG_SOFTHSM"
start off "$SG_MODULE" "$SG_TMP/off.conf"
start syslog "$SG_MODULE" "$SG_TMP/syslog.conf"
start same "$SG_MODULE" "$SG_TMP/same.conf" same
pin_of() { [ "$1" = plain ] && echo "$SG_USER_PIN" || echo anything; }

head -c 32 /dev/urandom > "$SG_TMP/in.sha256"
head -c 1000 /dev/urandom > "$SG_TMP/in.data"
one() { # SIDE MECH -> prints microseconds, fails on a failed signature
	local side=$1 mech=$2 id in t0 t1
	if [ "$mech" = ECDSA ]; then id=$SG_EC_ID in=$SG_TMP/in.sha256; else id=$SG_RSA_ID in=$SG_TMP/in.data; fi
	t0=$(date +%s%N)
	P11_KIT_SERVER_ADDRESS=unix:path=$SG_TMP/$side.sock pkcs11-tool --module "$CLIENT" \
		--token-label "$SG_TOKEN" --login --pin "$(pin_of "$side")" --sign --mechanism "$mech" \
		--id "$id" --input-file "$in" --output-file "$SG_TMP/out.sig" >/dev/null 2>>"$SG_TMP/client.err" ||
		return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
stats() { # values... -> "median min p90" in ms
	printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(NR * 0.9 + 0.5)]
		printf "%.2f %.2f %.2f", m / 1000, v[1] / 1000, p / 1000 }'
}

# CPU time of the p11-kit-remote children a server has reaped (cutime +
# cstime in /proc/PID/stat, clock ticks): per-connection CPU cost without
# the wall-clock noise of a shared machine.
hz=$(getconf CLK_TCK)
child_ticks() { awk '{print $16 + $17}' "/proc/$1/stat"; }
declare -A ticks
table=()
cpu_table=()
for mech in ECDSA SHA256-RSA-PKCS; do
	a=() b=() c=() d=()
	for side in plain off syslog same; do one "$side" "$mech" >/dev/null || sg_fail "warm-up $side $mech failed: $(tail -n 3 "$SG_TMP/client.err")"; done
	sleep 0.2   # let the server reap the warm-up children
	for side in plain off syslog same; do ticks[$side]=$(child_ticks "${spid[$side]}"); done
	for _ in $(seq 1 "$runs"); do
		v=$(one plain "$mech") || sg_fail "plain $mech failed"; a+=("$v")
		v=$(one off "$mech") || sg_fail "signgate(off) $mech failed: $(tail -n 3 "$SG_TMP/client.err")"; b+=("$v")
		v=$(one syslog "$mech") || sg_fail "signgate(syslog) $mech failed: $(tail -n 3 "$SG_TMP/client.err")"; c+=("$v")
		v=$(one same "$mech") || sg_fail "signgate(same uid) $mech failed: $(tail -n 3 "$SG_TMP/client.err")"; d+=("$v")
	done
	sleep 0.2
	cpu=()
	for side in plain off syslog same; do
		cpu+=("$(awk -v t0="${ticks[$side]}" -v t1="$(child_ticks "${spid[$side]}")" -v hz="$hz" -v n="$runs" \
			'BEGIN{printf "%.2f", (t1 - t0) * 1000 / hz / n}')")
	done
	echo "RESULT mech=$mech runs=$runs server_cpu_ms_per_connection plain=${cpu[0]} signgate_off=${cpu[1]} signgate_syslog=${cpu[2]} signgate_off_program_hashed=${cpu[3]}"
	cpu_table+=("| $mech | ${cpu[0]} | ${cpu[1]} | ${cpu[2]} | ${cpu[3]} | $(awk -v a="${cpu[0]}" -v b="${cpu[1]}" 'BEGIN{printf "%+.2f", b-a}') | $(awk -v a="${cpu[0]}" -v c="${cpu[2]}" 'BEGIN{printf "%+.2f", c-a}') | $(awk -v a="${cpu[0]}" -v c="${cpu[3]}" 'BEGIN{printf "%+.2f", c-a}') |")
	read -r am an ap <<<"$(stats "${a[@]}")"
	read -r bm bn bp <<<"$(stats "${b[@]}")"
	read -r cm cn cp <<<"$(stats "${c[@]}")"
	read -r dm dn dp <<<"$(stats "${d[@]}")"
	echo "RESULT mech=$mech runs=$runs plain_ms=$am/$an/$ap signgate_off_ms=$bm/$bn/$bp signgate_syslog_ms=$cm/$cn/$cp signgate_off_program_hashed_ms=$dm/$dn/$dp"
	table+=("| $mech | $am ($an–$ap) | $bm ($bn–$bp) | $cm ($cn–$cp) | $dm ($dn–$dp) | $(awk -v a="$am" -v b="$bm" 'BEGIN{printf "%+.2f", b-a}') | $(awk -v a="$am" -v c="$cm" 'BEGIN{printf "%+.2f", c-a}') | $(awk -v a="$am" -v c="$dm" 'BEGIN{printf "%+.2f", c-a}') |")
done

# How many records did one connection leave (module start, config, login, sign, stop)?
n0=$(wc -l < "$SG_AUDIT_LOG")
one syslog ECDSA >/dev/null
sleep 0.5
n1=$(wc -l < "$SG_AUDIT_LOG")

echo
echo "One pkcs11-tool --sign run per connection, wall time in ms: median (min–p90) of $runs, alternated."
echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -r)."
echo
echo "Servers A-C run as $svc_user, D as $(id -un); clients as $(id -un)."
echo
echo "| mechanism | A plain p11-kit server (SoftHSM) | B signgate, audit off | C signgate, audit to rsyslogd | D as B, program hashed | B-A | C-A | D-A |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
echo
echo "CPU time of the server side per connection (p11-kit-remote: fork, exec, provider init, login, sign, finalize), ms, mean of $runs (clock ticks: ±$(awk -v hz="$hz" -v n="$runs" 'BEGIN{printf "%.2f", 1000 / hz / n}') ms):"
echo
echo "| mechanism | A | B | C | D | B-A | C-A | D-A |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${cpu_table[@]}"
# --- exact instruction counts (callgrind), optional -----------------------------
# BROKER_COST_CALLGRIND=1: each side's server once more under
# valgrind --tool=callgrind --trace-children=yes; the p11-kit-remote
# profiles give the instructions one connection costs, noise-free.
if [ "${BROKER_COST_CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
	cg_side() { # NAME PROVIDER CONF same|svc
		local cgdir=$SG_TMP/cg-$1 sock=$SG_TMP/cg-$1.sock pre=("${as_svc[@]}") p f n=0 sum=0 v
		[ "$4" = same ] && pre=()
		mkdir -p "$cgdir"; chmod 0777 "$cgdir"
		"${pre[@]}" env ${3:+SIGNGATE_CONF=$3} valgrind --tool=callgrind --trace-children=yes \
			--callgrind-out-file="$cgdir/cg.%p" p11-kit server -f --provider "$2" -n "$sock" \
			"pkcs11:token=$SG_TOKEN" > "$cgdir/server.log" 2>&1 &
		p=$!
		for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.1; done
		for _ in 1 2; do
			P11_KIT_SERVER_ADDRESS=unix:path=$sock pkcs11-tool --module "$CLIENT" --token-label "$SG_TOKEN" \
				--login --pin "$(pin_of "$1")" --sign --mechanism ECDSA --id "$SG_EC_ID" \
				--input-file "$SG_TMP/in.sha256" --output-file "$SG_TMP/out.sig" >/dev/null 2>&1 ||
				echo "callgrind side $1: signature failed" >&2
		done
		sleep 1
		kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
		for f in "$cgdir"/cg.*; do
			grep -q '^cmd: .*p11-kit-remote' "$f" || continue
			v=$(sed -n 's/^summary: //p' "$f"); sum=$((sum + v)); n=$((n + 1))
		done
		[ "$n" -gt 0 ] && echo $((sum / n)) || echo 0
	}
	ia=$(cg_side plain "$SG_SOFTHSM" "" svc)
	ib=$(cg_side off "$SG_MODULE" "$SG_TMP/off.conf" svc)
	id_=$(cg_side same "$SG_MODULE" "$SG_TMP/same.conf" same)
	echo "RESULT callgrind instructions_per_connection plain=$ia signgate_off=$ib signgate_off_program_hashed=$id_"
	echo
	echo "Instructions per connection (callgrind, p11-kit-remote, one ECDSA signature):"
	echo
	echo "| A plain | B signgate, audit off | D as B, program hashed | B-A | D-A |"
	echo "|---|---|---|---|---|"
	awk -v a="$ia" -v b="$ib" -v d="$id_" 'BEGIN{printf "| %.1f M | %.1f M | %.1f M | %+.1f M (%+.0f%%) | %+.1f M (%+.0f%%) |\n",
		a/1e6, b/1e6, d/1e6, (b-a)/1e6, (b-a)*100/a, (d-a)/1e6, (d-a)*100/a}'
fi

echo
echo "Audit records per connection (audit on): $((n1 - n0))"
sg_pass "connection cost measured"
