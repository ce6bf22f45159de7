#!/bin/bash
# Signing from another machine through an SSH-forwarded unix socket
# (docs/broker.md): a private sshd on 127.0.0.1 stands in for the signing
# host's.  bob, on "the build machine", forwards a local socket to the
# broker's socket, logging in as the SSH account alice (key only,
# forwarding only).  On the signing host the broker's peer is sshd's session
# process running as alice, so the policy and the audit see alice -- the
# SSH account -- whoever runs the client; bob signing directly is still
# denied.  Skips (77) without openssh-server (sshd).
source "$(dirname "$0")/broker-lib.sh"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || sg_skip "sshd not installed (Debian: openssh-server)"
command -v ssh >/dev/null || sg_skip "ssh not installed"
command -v ssh-keygen >/dev/null || sg_skip "ssh-keygen not installed"

br_write_config
br_server_start

# --- a private sshd --------------------------------------------------------
sd=$SG_TMP/sshd
mkdir -p "$sd/keys"
chmod 0755 "$sd"
ssh-keygen -q -t ed25519 -N '' -f "$sd/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$sd/bob_key" -C "bob on the build machine"
chown "$BR_BOB" "$sd/bob_key"
# alice's authorized key: forwarding only
printf 'restrict,port-forwarding %s\n' "$(cat "$sd/bob_key.pub")" > "$sd/keys/$BR_ALICE"
chmod 0644 "$sd/keys/$BR_ALICE"
# useradd leaves the password '!' (locked), which sshd refuses even for
# keys without PAM; '*' is "no password", not locked.
usermod -p '*' "$BR_ALICE"
mkdir -p /run/sshd && chmod 0755 /run/sshd   # sshd's privilege separation directory
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + $$ % 20000)))
cat > "$sd/sshd_config" <<CONF
ListenAddress 127.0.0.1:$port
HostKey $sd/host_key
PidFile none
AuthorizedKeysFile $sd/keys/%u
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers $BR_ALICE
# OpenSSH admits unix-socket forwarding (-L to a path) only when TCP
# forwarding is allowed too: with "AllowTcpForwarding no" the request is
# "denied" (seen with OpenSSH 9.2); PermitOpen cannot name a path.
AllowTcpForwarding local
AllowStreamLocalForwarding local
X11Forwarding no
PermitTTY no
ForceCommand /usr/sbin/nologin
LogLevel VERBOSE
CONF
"$SSHD" -t -f "$sd/sshd_config" || sg_fail "sshd refuses the test config"
"$SSHD" -D -e -f "$sd/sshd_config" > "$sd/sshd.log" 2>&1 &
sshd_pid=$!
stop_sshd() { kill "$sshd_pid" 2>/dev/null || true; wait "$sshd_pid" 2>/dev/null || true; }
trap 'stop_sshd; br_cleanup' EXIT
for _ in $(seq 1 100); do
	grep -q "Server listening" "$sd/sshd.log" 2>/dev/null && break
	kill -0 "$sshd_pid" 2>/dev/null || { cat "$sd/sshd.log"; sg_fail "sshd exited"; }
	sleep 0.05
done

# --- bob forwards a socket of his own to the broker, as the SSH account alice ---
fwd=$SG_TMP/$BR_BOB/signgate.sock
# setpriv execs env, which execs ssh: $! is ssh's pid (to stop it on exit)
setpriv --reuid="$BR_BOB" --regid="$(id -g "$BR_BOB")" --init-groups -- \
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$SG_TMP/$BR_BOB" LANG=C \
	ssh -N -F /dev/null -i "$sd/bob_key" -p "$port" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	-o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes \
	-L "$fwd:$BR_SOCK" "$BR_ALICE@127.0.0.1" > "$sd/ssh.log" 2>&1 &
ssh_pid=$!
# The session process (sshd as alice) ends with the client's connection;
# it must be gone before the accounts are removed.
stop_ssh() {
	kill "$ssh_pid" 2>/dev/null || true
	wait "$ssh_pid" 2>/dev/null || true
	for _ in $(seq 1 40); do env -u LD_PRELOAD pgrep -u "$BR_ALICE" >/dev/null || break; sleep 0.05; done
}
trap 'stop_ssh; stop_sshd; br_cleanup' EXIT
for _ in $(seq 1 100); do
	[ -S "$fwd" ] && break
	kill -0 "$ssh_pid" 2>/dev/null || { cat "$sd/ssh.log" "$sd/sshd.log"; sg_fail "ssh -L exited"; }
	sleep 0.05
done
[ -S "$fwd" ] || { cat "$sd/ssh.log"; sg_fail "ssh did not create $fwd"; }
br_log "bob forwards $fwd to $BR_SOCK as $BR_ALICE@127.0.0.1:$port"

# bob's own shell, bob's pkcs11-tool -- through the forwarded socket
br_must "bob signs through the SSH-forwarded socket (as the SSH account alice)" \
	br_as bob env P11_KIT_SERVER_ADDRESS="unix:path=$fwd" \
	pkcs11-tool --module "$BR_CLIENT" --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	--input-file "$BR_DATA" --output-file "$SG_TMP/$BR_BOB/ssh.sig"
br_check "openssl verifies it" \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/$BR_BOB/ssh.sig" "$BR_DATA"
br_audit_expect allow "the SSH account is the caller" caller=peer user="$BR_ALICE" uid="$BR_ALICE_UID"
rec_pid=$(echo "$BR_REC" | grep -Eo '"pid":[0-9]+' | cut -d: -f2)
rec_comm=$(cat "/proc/$rec_pid/comm" 2>/dev/null || echo gone)
br_log "ok: the peer pid $rec_pid is sshd's session process ($rec_comm), uid $(stat -c %u "/proc/$rec_pid" 2>/dev/null || echo ?)"
case "$rec_comm" in sshd*) ;; *) sg_fail "peer pid $rec_pid is '$rec_comm', not sshd" ;; esac

# bob directly: still bob, still denied
br_must_fail "bob directly is still refused" \
	br_p11 bob --token-label "$SG_TOKEN" --login --pin "$BR_DUMMY_PIN" \
	--sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	--input-file "$BR_DATA" --output-file "$SG_TMP/$BR_BOB/direct.sig"
br_audit_expect deny "bob directly" uid="$BR_BOB_UID" reason=no-role

# the SSH account has no shell
if br_as bob ssh -F /dev/null -i "$sd/bob_key" -p "$port" -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes "$BR_ALICE@127.0.0.1" id 2>/dev/null | grep -q "uid="; then
	sg_fail "the forwarding-only SSH account ran a command"
fi
br_log "ok: the SSH account cannot run commands (ForceCommand nologin)"

stop_ssh
env -u LD_PRELOAD pgrep -u "$BR_ALICE" >/dev/null && sg_fail "sshd's session as $BR_ALICE outlived the client"
sg_pass "SSH-forwarded signing: the caller is the SSH account on the signing host"
