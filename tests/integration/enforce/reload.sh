#!/bin/bash
# Runs reload THREADS RELOADS (tests/integration/enforce/reload.c): config
# reloads while threads sign, with operations in progress across them.
# Checks, from SIGNGATE_DEBUG=config, that every retired config was freed
# before the program stopped signing (none kept until C_Finalize) and that
# no more than a few were alive at any time.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
reload=${1:?reload binary} threads=${2:-3} reloads=${3:-8}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf" SG_TOKEN SG_USER_PIN SG_RSA_ID SG_EC_ID SG_RSA_PUB
# both configs: sign with both keys, derive (ECDH) with the EC key
policy() {
	cat <<POLICY
roles = ( { name = "testers"; users = [ $(id -u) ]; } );
keys = (
  { name = "test-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA_ID"; label = "$SG_RSA_LABEL";
    fingerprint = "sha256:$SG_RSA_FP"; mechanisms = [ "SHA256-RSA-PKCS" ]; hashes = [ "SHA256" ]; },
  { name = "test-ec"; token = "$SG_TOKEN"; id = "$SG_EC_ID"; label = "$SG_EC_LABEL";
    fingerprint = "sha256:$SG_EC_FP"; mechanisms = [ "ECDSA" ]; hashes = [ "SHA256" ];
    derive = { mechanisms = [ "ECDH1-DERIVE" ]; }; }
);
rules = ( { name = "$1"; roles = [ "testers" ]; keys = [ "test-rsa", "test-ec" ]; derive = true; } );
POLICY
}
sg_config "$conf.a" "$(policy sign-a)"
sg_config "$conf.b" "$(policy sign-b)"
cp -p "$conf.a" "$conf"

rc=0
SIGNGATE_DEBUG=${SIGNGATE_DEBUG:-config} "$reload" "$threads" "$reloads" 2> "$SG_TMP/stderr" || rc=$?
cat "$SG_TMP/stderr" >&2
[ $rc = 0 ] || sg_fail "reload exited $rc"

before=$(sed '/^reload: signing stopped/q' "$SG_TMP/stderr")
published=$(grep -c 'in force; configs alive' <<<"$before")
freed=$(grep -c 'config #[0-9]* freed' <<<"$before")
max_alive=$(grep -o 'configs alive: [0-9]*' <<<"$before" | awk '{ if ($3 > m) m = $3 } END { print m + 0 }')
reloaded=$((published - 1))
echo "configs published: $published (1 + $reloaded reloads), freed while signing: $freed, most alive at a reload: $max_alive"
[ "$reloaded" -ge $((reloads - 1)) ] || sg_fail "only $reloaded of $reloads reloads were seen"
[ "$freed" -eq "$reloaded" ] || sg_fail "$reloaded configs retired but $freed freed before C_Finalize"
# in force + those held by operations in progress (thread 0 keeps one
# across a reload; each session holds its last operation's)
[ "$max_alive" -le $((threads + 1)) ] || sg_fail "$max_alive configs alive at once"
sg_pass "reload with $threads signing threads"
