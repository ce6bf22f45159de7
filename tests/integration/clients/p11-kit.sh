#!/bin/bash
# p11-kit: (1) the module registered with p11-kit through a module file
# (a private copy of config/signgate.module.in) and used by pkcs11-tool and
# openssl through p11-kit-proxy.so; the real SoftHSM module is masked so
# the proxy does not expose the token around signgate; (2) the module as
# provider of `p11-kit server`, used through p11-kit-client.so.
#
# As root p11-kit ignores the user's config directory, so the proxy part
# runs as 'nobody' (setpriv) with HOME in the test directory, which is
# handed to nobody for the purpose; as another user it runs as is.
# Route: $1 = direct | signgate.
source "$(dirname "$0")/clients-lib.sh" "${1:-signgate}"
PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
command -v p11-kit >/dev/null || sg_skip "p11-kit not installed"
[ -e "$PROXY" ] || sg_skip "$PROXY missing"
[ -e "$CLIENT" ] || sg_skip "$CLIENT missing"

d=$SG_TMP/p11kit
mkdir -p "$d"
head -c 2000 /dev/urandom > "$d/data"
openssl dgst -sha256 -binary "$d/data" > "$d/data.sha256"

# --- who runs the proxy part ---------------------------------------------
as_user=()
run_uid=$(id -u)
if [ "$run_uid" = 0 ]; then
	command -v setpriv >/dev/null || sg_skip "root without setpriv: cannot test a private p11-kit config"
	run_uid=$(id -u nobody) || sg_skip "no user nobody"
	as_user=(setpriv --reuid="$run_uid" --regid="$(id -g nobody)" --clear-groups --)
fi

# --- private p11-kit user config -----------------------------------------
home=$SG_TMP/home
mods=$home/.config/pkcs11/modules
mkdir -p "$mods"
# Mask every system module by name (a blank module: line in a same-named
# file masks it); the route decides what is registered.
for f in /usr/share/p11-kit/modules/*.module /etc/pkcs11/modules/*.module; do
	[ -e "$f" ] || continue
	printf 'module:\n' > "$mods/$(basename "$f")"
done
if [ "$CL_VIA" = direct ]; then
	printf 'module: %s\n' "$SG_SOFTHSM" > "$mods/softhsm2.module"
	PROXY_PIN=$SG_USER_PIN
else
	src=$SG_SRCDIR/config/signgate.module.in
	if [ -r "$src" ]; then
		grep -vE '^[[:space:]]*(module|x-init-reserved)[[:space:]]*:' "$src" > "$mods/signgate.module"
		cl_log "registered through a copy of config/signgate.module.in"
	else
		: > "$mods/signgate.module"
		cl_log "config/signgate.module.in not in the tree yet: writing a minimal module file"
	fi
	# The config path reaches the module as pReserved (x-init-reserved),
	# not through the environment.
	printf 'module: %s\nx-init-reserved: %s\n' "$SG_MODULE" "$CL_CONF" >> "$mods/signgate.module"
	# The proxy user must be the policy's caller.
	cl_use_config "$(cl_audit_section)
$(sg_allow_policy | sed "s/users = \[ [0-9]* \]/users = [ $run_uid ]/")"
	PROXY_PIN=$CL_DUMMY_PIN
fi
cl_log "p11-kit modules seen by uid $run_uid: $(grep -l '^module: *[^ ]' "$mods"/*.module | xargs -n1 basename | tr '\n' ' ')"
if [ "${#as_user[@]}" -gt 0 ]; then
	chown -R "$run_uid" "$SG_TMP"
	chmod 0755 "$(dirname "$SG_MODULE")" 2>/dev/null || true
fi

proxy() {
	# SIGNGATE_CONF is deliberately absent: x-init-reserved must carry it.
	"${as_user[@]}" env -u SIGNGATE_CONF HOME="$home" XDG_CONFIG_HOME="$home/.config" \
		SOFTHSM2_CONF="$SOFTHSM2_CONF" "$@"
}
cl_run "pkcs11-tool -L through p11-kit-proxy" proxy pkcs11-tool --module "$PROXY" -L
echo "$CL_OUT" | grep -q "token label *: *$SG_TOKEN" || { echo "$CL_OUT"; sg_fail "token not seen through the proxy"; }
n=$(echo "$CL_OUT" | grep -c "token label *: *$SG_TOKEN" || true)
[ "$n" = 1 ] || { echo "$CL_OUT"; sg_fail "token seen $n times through the proxy (real module not masked?)"; }
cl_log "ok: the proxy shows the token once"
cl_run "pkcs11-tool --sign ECDSA through p11-kit-proxy" \
	proxy pkcs11-tool --module "$PROXY" --token-label "$SG_TOKEN" --login --pin "$PROXY_PIN" \
	--sign --mechanism ECDSA --id "$SG_EC_ID" --signature-format openssl \
	--input-file "$d/data.sha256" --output-file "$d/proxy-ec.sig"
# the caller signgate saw is the proxy's user, program pkcs11-tool
cl_audit_expect allow "signature through the proxy" key=test-ec user="$(id -un "$run_uid")" \
	program='.*/pkcs11-tool'
cl_run "openssl verifies the proxy ECDSA signature" \
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$d/proxy-ec.sig" "$d/data"
cl_run "pkcs11-tool --sign SHA256-RSA-PKCS through p11-kit-proxy" \
	proxy pkcs11-tool --module "$PROXY" --token-label "$SG_TOKEN" --login --pin "$PROXY_PIN" \
	--sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	--input-file "$d/data" --output-file "$d/proxy-rsa.sig"
cl_run "openssl verifies the proxy RSA signature" \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$d/proxy-rsa.sig" "$d/data"
if [ -e "$CL_ENGINE" ]; then
	# openssl through the engine's default module (p11-kit-proxy), URI only
	cl_engine_conf "$d/openssl.cnf" "$PROXY" "$PROXY_PIN"
	[ "${#as_user[@]}" -eq 0 ] || chown "$run_uid" "$d/openssl.cnf"
	cl_run "openssl dgst -sign $CL_URI_RSA through p11-kit-proxy" \
		proxy env OPENSSL_CONF="$d/openssl.cnf" openssl dgst -sha256 -engine pkcs11 -keyform engine \
		-sign "$CL_URI_RSA" -out "$d/proxy-openssl.sig" "$d/data"
	cl_run "openssl verifies it" \
		openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$d/proxy-openssl.sig" "$d/data"
fi

# --- p11-kit server with the module as provider ---------------------------
if [ "$CL_VIA" = signgate ]; then
	# The server runs as us; so the policy's caller is us again.
	cl_use_config "$(cl_audit_section)
$(sg_allow_policy)"
	[ "${#as_user[@]}" -eq 0 ] || chown -R "$(id -u)" "$SG_TMP"
	SERVER_PIN=$CL_DUMMY_PIN
else
	[ "${#as_user[@]}" -eq 0 ] || chown -R "$(id -u)" "$SG_TMP"
	SERVER_PIN=$SG_USER_PIN
fi
sock=$SG_TMP/p11kit.sock
p11-kit server -f --provider "$CL_MODULE" -n "$sock" "pkcs11:token=$SG_TOKEN" > "$d/server.log" 2>&1 &
server_pid=$!
cl_stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	if declare -F sg_rsyslog_stop >/dev/null; then sg_rsyslog_stop; fi
	[ "${SG_KEEP:-0}" = 1 ] || rm -rf "$SG_TMP"
}
trap cl_stop_server EXIT
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$d/server.log"; sg_fail "p11-kit server did not create $sock"; }
export P11_KIT_SERVER_ADDRESS="unix:path=$sock"
cl_run "pkcs11-tool -L through p11-kit-client" pkcs11-tool --module "$CLIENT" -L
echo "$CL_OUT" | grep -q "token label *: *$SG_TOKEN" || { echo "$CL_OUT"; sg_fail "token not seen through p11-kit-client"; }
cl_run "pkcs11-tool --sign SHA256-RSA-PKCS through p11-kit server" \
	pkcs11-tool --module "$CLIENT" --token-label "$SG_TOKEN" --login --pin "$SERVER_PIN" \
	--sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	--input-file "$d/data" --output-file "$d/server-rsa.sig"
cl_run "openssl verifies the server RSA signature" \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$d/server-rsa.sig" "$d/data"
cl_run "pkcs11-tool --sign ECDSA through p11-kit server" \
	pkcs11-tool --module "$CLIENT" --token-label "$SG_TOKEN" --login --pin "$SERVER_PIN" \
	--sign --mechanism ECDSA --id "$SG_EC_ID" --signature-format openssl \
	--input-file "$d/data.sha256" --output-file "$d/server-ec.sig"
cl_run "openssl verifies the server ECDSA signature" \
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$d/server-ec.sig" "$d/data"

if [ -e "$CL_ENGINE" ]; then
	cl_engine_conf "$d/openssl-client.cnf" "$CLIENT" "$SERVER_PIN"
	cl_run "openssl dgst -sign $CL_URI_EC_ID through p11-kit-client" \
		env OPENSSL_CONF="$d/openssl-client.cnf" openssl dgst -sha256 -engine pkcs11 -keyform engine \
		-sign "$CL_URI_EC_ID" -out "$d/client-openssl.sig" "$d/data"
	cl_run "openssl verifies it" \
		openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$d/client-openssl.sig" "$d/data"
fi

if [ "$CL_VIA" = signgate ]; then
	# DENIED through the server: the EC key is outside the role (the
	# module rereads its config per connection).
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa)"
	cl_must_fail "ECDSA through p11-kit server with a key outside the role is refused" \
		pkcs11-tool --module "$CLIENT" --token-label "$SG_TOKEN" --login --pin "$SERVER_PIN" \
		--sign --mechanism ECDSA --id "$SG_EC_ID" \
		--input-file "$d/data.sha256" --output-file "$d/server-denied.sig"
	cl_audit_expect deny "EC signature through the server denied" key=test-ec reason=no-rule
fi
sg_pass "p11-kit via $CL_VIA"
