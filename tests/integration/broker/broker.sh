#!/bin/bash
# Broker mode end to end: p11-kit server with signgate as provider, run by
# a service account that alone can read the token, the PIN and the policy;
# callers of another uid sign through p11-kit-client.so, and signgate takes
# their identity from the connection's peer (SO_PEERCRED on standard
# input of the p11-kit-remote that p11-kit server forks per connection).
source "$(dirname "$0")/broker-lib.sh"

br_write_config
br_server_start

# --- alice (in the role) signs with pkcs11-tool ------------------------------
br_must "alice lists the token through p11-kit-client" br_p11 alice -L
echo "$BR_OUT" | grep -q "token label *: *$SG_TOKEN" || { echo "$BR_OUT"; sg_fail "token not seen through p11-kit-client"; }

# sh records its pid and execs pkcs11-tool: that pid is the socket's peer.
br_must "alice signs SHA256-RSA-PKCS with pkcs11-tool" \
	br_as alice sh -c 'echo $$ > "$HOME/pid"; exec pkcs11-tool "$@"' pkcs11-tool \
	--module "$BR_CLIENT" --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	--input-file "$BR_DATA" --output-file "$SG_TMP/$BR_ALICE/rsa.sig"
alice_pid=$(cat "$SG_TMP/$BR_ALICE/pid")
br_check "openssl verifies alice's RSA signature" \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/$BR_ALICE/rsa.sig" "$BR_DATA"
# The record names the peer: alice's uid and name, pkcs11-tool's pid; the
# program only where /proc/PID/exe is readable to the service (it is not
# without CAP_SYS_PTRACE: another uid's exe link needs ptrace access).
br_audit_expect allow "alice's RSA signature" caller=peer user="$BR_ALICE" \
	uid="$BR_ALICE_UID" pid="$alice_pid" key=test-rsa
echo "$BR_REC" | grep -q "\"uid\":${BR_SVC_UID}[,}]" && sg_fail "record carries the service's uid"
srv_prog=$(echo "$BR_REC" | grep -Eo '"program":"[^"]*"' || true)
case "$srv_prog" in
*p11-kit*) sg_fail "record names the server's program: $srv_prog" ;;
'' | '"program":""') br_log "ok: program not readable by the unprivileged service (no CAP_SYS_PTRACE): recorded empty" ;;
*pkcs11-tool*) br_log "ok: program recorded: $srv_prog" ;;
*) sg_fail "unexpected program in the record: $srv_prog" ;;
esac

br_must "alice signs ECDSA with pkcs11-tool" \
	br_p11 alice --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism ECDSA --id "$SG_EC_ID" --signature-format openssl \
	--input-file "$BR_DATA.sha256" --output-file "$SG_TMP/$BR_ALICE/ec.sig"
br_check "openssl verifies alice's ECDSA signature" \
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$SG_TMP/$BR_ALICE/ec.sig" "$BR_DATA"
br_audit_expect allow "alice's ECDSA signature" caller=peer uid="$BR_ALICE_UID" key=test-ec

# --- alice signs with openssl through the libp11 engine ------------------------
if [ -e "$BR_ENGINE" ]; then
	cat > "$SG_TMP/$BR_ALICE/openssl.cnf" <<CONF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $BR_ENGINE
MODULE_PATH = $BR_CLIENT
PIN = $BR_DUMMY_PIN
init = 0
CONF
	chown "$BR_ALICE" "$SG_TMP/$BR_ALICE/openssl.cnf"
	br_must "alice signs with openssl dgst through the pkcs11 engine and p11-kit-client" \
		br_as alice env OPENSSL_CONF="$SG_TMP/$BR_ALICE/openssl.cnf" \
		openssl dgst -sha256 -engine pkcs11 -keyform engine \
		-sign "pkcs11:token=$SG_TOKEN;object=$SG_RSA_LABEL;type=private" \
		-out "$SG_TMP/$BR_ALICE/openssl.sig" "$BR_DATA"
	br_check "openssl verifies it" \
		openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/$BR_ALICE/openssl.sig" "$BR_DATA"
	br_audit_expect allow "alice's openssl signature" caller=peer uid="$BR_ALICE_UID" key=test-rsa \
		mechanism=CKM_RSA_PKCS
else
	br_log "libp11 engine $BR_ENGINE missing: openssl case not run"
fi

# --- bob (in the group, in no role) is denied by policy ------------------------
br_must "bob sees the token (the socket lets him in)" br_p11 bob -L
br_must_fail "bob's signature is refused" \
	br_p11 bob --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	--input-file "$BR_DATA" --output-file "$SG_TMP/$BR_BOB/rsa.sig"
br_audit_expect deny "bob denied" caller=peer user="$BR_BOB" uid="$BR_BOB_UID" reason=no-role
[ ! -s "$SG_TMP/$BR_BOB/rsa.sig" ] || sg_fail "bob got a signature file"

# --- the callers cannot read what the service keeps ------------------------------
for who in alice bob; do
	for f in "$BR_SVC_DIR/tokens" "$SG_PIN_FILE" "$BR_CONF" "$BR_SVC_DIR/softhsm2.conf"; do
		if br_as "$who" cat "$f" >/dev/null 2>&1 || br_as "$who" ls "$f" >/dev/null 2>&1; then
			sg_fail "$who can read $f"
		fi
	done
	# nor load the token themselves: SoftHSM under their uid sees no token
	if br_as "$who" env SOFTHSM2_CONF="$BR_SVC_DIR/softhsm2.conf" \
		pkcs11-tool --module "$SG_SOFTHSM" -L 2>/dev/null | grep -q "token label *: *$SG_TOKEN"; then
		sg_fail "$who can open the token directly"
	fi
	# nor load signgate in-process with the service's config
	if br_as "$who" env SIGNGATE_CONF="$BR_CONF" \
		pkcs11-tool --module "$SG_MODULE" -L 2>/dev/null | grep -q "token label *: *$SG_TOKEN"; then
		sg_fail "$who can load signgate with the service's config"
	fi
done
br_log "ok: alice and bob cannot read the token directory, PIN file, policy or SoftHSM config, nor open the token"

# --- a uid outside the socket's group cannot connect at all ----------------------
if id nobody >/dev/null 2>&1; then
	br_must_fail "nobody (not in $BR_GROUP) cannot reach the socket" br_p11 nobody -L
fi

# --- mode = "auto" takes the peer too -------------------------------------------------
BR_MODE=auto br_write_config
br_must "alice signs with mode = auto" \
	br_p11 alice --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism ECDSA --id "$SG_EC_ID" \
	--input-file "$BR_DATA.sha256" --output-file "$SG_TMP/$BR_ALICE/auto.sig"
br_audit_expect allow "mode auto: alice" caller=peer uid="$BR_ALICE_UID"
br_must_fail "bob is refused with mode = auto" \
	br_p11 bob --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism ECDSA --id "$SG_EC_ID" \
	--input-file "$BR_DATA.sha256" --output-file "$SG_TMP/$BR_BOB/auto.sig"
br_audit_expect deny "mode auto: bob" caller=peer uid="$BR_BOB_UID" reason=no-role
br_write_config

# --- a program-restricted role cannot match an unknown program ------------------
# Without CAP_SYS_PTRACE the service cannot read the peer's /proc/PID/exe:
# a role that names programs must then deny (fail closed), not match.
p11tool=$(readlink -f "$(command -v pkcs11-tool)")
if [ -z "$srv_prog" ] || [ "$srv_prog" = '"program":""' ]; then
	br_write_config "$(br_policy_text | sed "s|users = \[ \"$BR_ALICE\" \];|users = [ \"$BR_ALICE\" ]; programs = ( { path = \"$p11tool\"; } );|")"
	br_must_fail "program-restricted role, program unknown to the service: refused" \
		br_p11 alice --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
		--sign --mechanism ECDSA --id "$SG_EC_ID" \
		--input-file "$BR_DATA.sha256" --output-file "$SG_TMP/$BR_ALICE/noprog.sig"
	br_audit_expect deny "program unknown" caller=peer uid="$BR_ALICE_UID" reason=no-role
	br_write_config
fi

# --- with CAP_SYS_PTRACE the service reads the peer's program ---------------------
# (tools/signgate-broker --ptrace: an ambient capability, which survives
# the exec of p11-kit-server and p11-kit-remote)
if [ "${BR_SKIP_PTRACE:-0}" != 1 ]; then
	br_server_stop
	br_server_start --ptrace
	br_must "alice signs (service with CAP_SYS_PTRACE)" \
		br_as alice sh -c 'echo $$ > "$HOME/pid"; exec pkcs11-tool "$@"' pkcs11-tool \
		--module "$BR_CLIENT" --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
		--sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
		--input-file "$BR_DATA" --output-file "$SG_TMP/$BR_ALICE/rsa2.sig"
	alice_pid=$(cat "$SG_TMP/$BR_ALICE/pid")
	p11tool=$(readlink -f "$(command -v pkcs11-tool)")
	br_audit_expect allow "peer's program" caller=peer uid="$BR_ALICE_UID" pid="$alice_pid" \
		program="$p11tool" program_sha256='[0-9a-f]{64}'
	# a role that names the program now matches through the broker
	br_write_config "$(br_policy_text | sed "s|users = \[ \"$BR_ALICE\" \];|users = [ \"$BR_ALICE\" ]; programs = ( { path = \"$p11tool\"; } );|")"
	br_must "alice signs with a program-restricted role" \
		br_p11 alice --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
		--sign --mechanism ECDSA --id "$SG_EC_ID" \
		--input-file "$BR_DATA.sha256" --output-file "$SG_TMP/$BR_ALICE/prog.sig"
	br_audit_expect allow "program-restricted role" uid="$BR_ALICE_UID" program="$p11tool"
	if [ -e "$BR_ENGINE" ]; then
		br_must_fail "alice's openssl is outside the program-restricted role" \
			br_as alice env OPENSSL_CONF="$SG_TMP/$BR_ALICE/openssl.cnf" \
			openssl dgst -sha256 -engine pkcs11 -keyform engine \
			-sign "pkcs11:token=$SG_TOKEN;object=$SG_RSA_LABEL;type=private" \
			-out "$SG_TMP/$BR_ALICE/openssl2.sig" "$BR_DATA"
		br_audit_expect deny "openssl outside the role" uid="$BR_ALICE_UID" \
			program="$(readlink -f "$(command -v openssl)")" reason=no-role
	fi
	br_write_config
fi

# --- started as the service account itself (as systemd's User= does) ------------
# The directory exists (systemd: RuntimeDirectory=); the script must not
# need root then.
br_server_stop
BR_SERVER_PID=""
san=()
for w in ${SIGNGATE_SANITIZER_ENV:-}; do san+=(--env "$w"); done
setpriv --reuid="$BR_SVC" --regid="$BR_SVC" --init-groups -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	"$BR_BROKER" run --user "$BR_SVC" --group "$BR_GROUP" --socket "$BR_SOCK" \
	--token "$SG_TOKEN" --config "$BR_CONF" --softhsm-conf "$BR_SVC_DIR/softhsm2.conf" \
	--module "$SG_MODULE" "${san[@]}" \
	> "$SG_TMP/server.log" 2>&1 &
BR_SERVER_PID=$!
for _ in $(seq 1 100); do
	grep -q "serving pkcs11:token" "$SG_TMP/server.log" 2>/dev/null && break
	kill -0 "$BR_SERVER_PID" 2>/dev/null || break
	sleep 0.05
done
[ -S "$BR_SOCK" ] || { cat "$SG_TMP/server.log"; sg_fail "signgate-broker run as the service account did not start"; }
[ "$(stat -c '%a %G' "$BR_SOCK")" = "660 $BR_GROUP" ] || sg_fail "socket is $(stat -c '%a %U:%G' "$BR_SOCK"), want 660 group $BR_GROUP"
br_must "alice signs through the broker started as the service account" \
	br_p11 alice --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism ECDSA --id "$SG_EC_ID" \
	--input-file "$BR_DATA.sha256" --output-file "$SG_TMP/$BR_ALICE/svc.sig"
br_audit_expect allow "broker started as the service" caller=peer uid="$BR_ALICE_UID"
br_server_stop

sg_pass "broker: peer identity, policy and file boundary through p11-kit server"
