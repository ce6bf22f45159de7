# signgate test fixture: a throwaway SoftHSMv2 token for one test.
#
# Source it from a test script (bash).  It creates a private temporary
# directory ($SG_TMP) with its own SOFTHSM2_CONF and token, imports an
# RSA-2048 and an EC P-256 key pair with a certificate each, writes the
# token PIN file (0600) and exports everything a test needs:
#
#   SG_TMP SOFTHSM2_CONF SG_SOFTHSM SG_MODULE SG_TOOL SG_SRCDIR
#   SG_TOKEN (label) SG_USER_PIN SG_SO_PIN SG_PIN_FILE
#   SG_RSA_ID SG_RSA_LABEL SG_RSA_KEY SG_RSA_PUB SG_RSA_CERT SG_RSA_FP
#   SG_EC_ID  SG_EC_LABEL  SG_EC_KEY  SG_EC_PUB  SG_EC_CERT  SG_EC_FP
#
# Key material is generated once per build directory (test-keys/, under
# a lock) and imported into a fresh token per test, so tests may change
# their token freely and run in parallel.
#
# Helpers: sg_config FILE [EXTRA]   write a signgate config: backend
#          section for this token plus EXTRA (libconfig text) verbatim;
#          sg_skip MSG              exit 77 (meson: skipped);
#          sg_fail MSG / sg_pass    print and exit.
# The directory is removed on exit unless SG_KEEP=1.

set -euo pipefail

SG_SRCDIR=${SIGNGATE_SRCDIR:?run through meson test}
SG_BUILDDIR=${SIGNGATE_BUILDDIR:?run through meson test}
SG_MODULE=${SIGNGATE_MODULE:?}
SG_TOOL=${SIGNGATE_TOOL:?}
SG_SOFTHSM=${SG_SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}
export SG_SRCDIR SG_BUILDDIR SG_MODULE SG_TOOL SG_SOFTHSM

sg_skip() { echo "SKIP: $*"; exit 77; }
sg_fail() { echo "FAIL: $*" >&2; exit 1; }
sg_pass() { echo "PASS${1:+: $*}"; exit 0; }

for t in softhsm2-util pkcs11-tool openssl; do
	command -v "$t" >/dev/null || sg_skip "$t not installed"
done
[ -e "$SG_SOFTHSM" ] || sg_skip "SoftHSM module $SG_SOFTHSM missing"

SG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/signgate-test.XXXXXX")
chmod 0755 "$SG_TMP"
export SG_TMP
if [ "${SG_KEEP:-0}" != 1 ]; then
	trap 'rm -rf "$SG_TMP"' EXIT
fi

# --- key material, once per build directory ---------------------------
SG_KEYS="$SG_BUILDDIR/test-keys"
sg_make_keys() {
	local d=$1
	mkdir -p "$d"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/rsa.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ec.pem" 2>/dev/null
	for k in rsa ec; do
		openssl pkcs8 -topk8 -nocrypt -in "$d/$k.pem" -outform DER -out "$d/$k.p8"
		openssl pkey -in "$d/$k.pem" -pubout -out "$d/$k.pub.pem"
		openssl pkey -in "$d/$k.pem" -pubout -outform DER -out "$d/$k.pub.der"
		openssl req -new -x509 -key "$d/$k.pem" -subj "/CN=signgate test $k/O=signgate" \
			-days 3650 -sha256 -out "$d/$k.crt" \
			-addext keyUsage=critical,digitalSignature \
			-addext extendedKeyUsage=codeSigning 2>/dev/null
		openssl x509 -in "$d/$k.crt" -outform DER -out "$d/$k.crt.der"
		openssl dgst -sha256 -r "$d/$k.pub.der" | cut -d' ' -f1 > "$d/$k.fp"
	done
	touch "$d/.done"
}
if [ ! -e "$SG_KEYS/.done" ]; then
	mkdir -p "$SG_BUILDDIR"
	(
		flock 9
		[ -e "$SG_KEYS/.done" ] || sg_make_keys "$SG_KEYS"
	) 9>"$SG_BUILDDIR/.test-keys.lock"
fi

# --- the token -----------------------------------------------------------
SG_TOKEN=signgate-test
SG_USER_PIN=1234
SG_SO_PIN=123456
SG_RSA_ID=01 SG_RSA_LABEL=rsa-release
SG_EC_ID=02  SG_EC_LABEL=ec-release
SG_RSA_KEY=$SG_KEYS/rsa.pem SG_RSA_PUB=$SG_KEYS/rsa.pub.pem SG_RSA_CERT=$SG_KEYS/rsa.crt
SG_EC_KEY=$SG_KEYS/ec.pem   SG_EC_PUB=$SG_KEYS/ec.pub.pem   SG_EC_CERT=$SG_KEYS/ec.crt
SG_RSA_FP=$(cat "$SG_KEYS/rsa.fp")
SG_EC_FP=$(cat "$SG_KEYS/ec.fp")
export SG_TOKEN SG_USER_PIN SG_SO_PIN SG_RSA_ID SG_RSA_LABEL SG_EC_ID SG_EC_LABEL \
	SG_RSA_KEY SG_RSA_PUB SG_RSA_CERT SG_EC_KEY SG_EC_PUB SG_EC_CERT SG_RSA_FP SG_EC_FP

mkdir -p "$SG_TMP/tokens"
cat > "$SG_TMP/softhsm2.conf" <<CONF
directories.tokendir = $SG_TMP/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$SG_TMP/softhsm2.conf"

# SG_BACKEND=nss: the same keys on an NSS softokn token (the meson suite
# 'nss'), to show that signgate works in front of another implementation.
SG_BACKEND=${SG_BACKEND:-softhsm}
SG_BACKEND_MODULE=$SG_SOFTHSM
SG_BACKEND_INIT_ARGS=""
export SG_BACKEND SG_BACKEND_MODULE SG_BACKEND_INIT_ARGS
case "$SG_BACKEND" in
softhsm)
	softhsm2-util --init-token --free --label "$SG_TOKEN" --so-pin "$SG_SO_PIN" \
		--pin "$SG_USER_PIN" >/dev/null ;;
nss)
	# shellcheck source=backend-nss.sh
	source "$SG_SRCDIR/tests/lib/backend-nss.sh" ;;
*) sg_fail "unknown SG_BACKEND '$SG_BACKEND'" ;;
esac

sg_p11() { pkcs11-tool --module "$SG_SOFTHSM" --token-label "$SG_TOKEN" --login --pin "$SG_USER_PIN" "$@"; }
for k in rsa ec; do
	if [ $k = rsa ]; then id=$SG_RSA_ID label=$SG_RSA_LABEL; else id=$SG_EC_ID label=$SG_EC_LABEL; fi
	sg_p11 --write-object "$SG_KEYS/$k.p8" --type privkey --id "$id" --label "$label" >/dev/null 2>&1
	sg_p11 --write-object "$SG_KEYS/$k.pub.der" --type pubkey --id "$id" --label "$label" >/dev/null 2>&1
	sg_p11 --write-object "$SG_KEYS/$k.crt.der" --type cert --id "$id" --label "$label" >/dev/null 2>&1
done

SG_PIN_FILE="$SG_TMP/token.pin"
printf '%s\n' "$SG_USER_PIN" > "$SG_PIN_FILE"
chmod 0600 "$SG_PIN_FILE"
export SG_PIN_FILE
mkdir -p "$SG_TMP/state"

# sg_big_keys: import more key sizes into this test's token, for tests
# that ask for them: RSA 4096 and 9216 bits, EC P-384 and P-521 (the
# 9216-bit key takes minutes to generate, so they are generated once per
# build directory, under the same lock as the other keys, and only when
# a test calls this).  Exports, for K in RSA4096 RSA9216 EC384 EC521:
#   SG_K_ID SG_K_LABEL SG_K_FP (and the files $SG_KEYS/big/<k>.pem/.pub.pem)
sg_make_big_keys() {
	local d=$1 k
	mkdir -p "$d"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$d/rsa4096.pem" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:9216 -out "$d/rsa9216.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$d/ec384.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$d/ec521.pem" 2>/dev/null
	for k in rsa4096 rsa9216 ec384 ec521; do
		openssl pkcs8 -topk8 -nocrypt -in "$d/$k.pem" -outform DER -out "$d/$k.p8"
		openssl pkey -in "$d/$k.pem" -pubout -out "$d/$k.pub.pem"
		openssl pkey -in "$d/$k.pem" -pubout -outform DER -out "$d/$k.pub.der"
		openssl dgst -sha256 -r "$d/$k.pub.der" | cut -d' ' -f1 > "$d/$k.fp"
	done
	touch "$d/.done"
}
sg_big_keys() {
	local d="$SG_KEYS/big" k id var
	if [ ! -e "$d/.done" ]; then
		(
			flock 9
			[ -e "$d/.done" ] || sg_make_big_keys "$d"
		) 9>"$SG_BUILDDIR/.test-keys.lock"
	fi
	[ -e "$d/.done" ] || sg_fail "large test keys could not be generated"
	id=10
	for k in rsa4096 rsa9216 ec384 ec521; do
		id=$((id + 1))   # 11..14, read as hex like every CKA_ID here
		# pkcs11-tool cannot read RSA keys above 8192 bits; SoftHSM's own
		# tool imports the pair (private and public key objects).
		softhsm2-util --import "$d/$k.pem" --token "$SG_TOKEN" --pin "$SG_USER_PIN" \
			--id "$id" --label "$k" >/dev/null 2>&1 || sg_fail "cannot import $k"
		var=$(echo "$k" | tr a-z A-Z)
		export "SG_${var}_ID=$id" "SG_${var}_LABEL=$k" "SG_${var}_FP=$(cat "$d/$k.fp")"
	done
}

# sg_config FILE [EXTRA]: a config for this token.  EXTRA is appended
# verbatim (roles, keys, rules, audit ...).  Written 0600.
sg_config() {
	local f=$1 extra=${2:-} audit_default="" init_args=""
	[ -z "$SG_BACKEND_INIT_ARGS" ] || init_args=" init_args = \"$SG_BACKEND_INIT_ARGS\";"
	# Tests that do not look at the audit get a non-required audit to a
	# socket nobody reads (CI has no syslog daemon).
	case "$extra" in
	*"audit"*) ;;
	*) audit_default="audit = { required = false; socket = \"$SG_TMP/nolog.sock\"; };" ;;
	esac
	cat > "$f" <<CONF
backend = {
  module = "$SG_BACKEND_MODULE";
  tokens = [ "$SG_TOKEN" ];
  pin_file = "$SG_PIN_FILE";$init_args
};
state_dir = "$SG_TMP/state";
$audit_default
$extra
CONF
	chmod 0600 "$f"
}

# sg_allow_policy [MECHS] [HASHES]: roles/keys/rules text that lets the
# current user sign with both test keys.  Default mechanisms are the
# usual ones; pass "all" for everything (RSA-X-509 and SHA-1 included),
# as pkcs11-tool --test needs.
sg_allow_policy() {
	local mechs=${1:-'"RSA-PKCS", "SHA256-RSA-PKCS", "SHA384-RSA-PKCS", "SHA512-RSA-PKCS", "RSA-PKCS-PSS", "SHA256-RSA-PKCS-PSS", "ECDSA", "ECDSA-SHA256"'}
	local hashes=${2:-'"SHA256", "SHA384", "SHA512"'}
	if [ "$mechs" = all ]; then
		mechs='"RSA-PKCS", "RSA-X-509", "RSA-PKCS-PSS", "SHA1-RSA-PKCS", "SHA224-RSA-PKCS", "SHA256-RSA-PKCS", "SHA384-RSA-PKCS", "SHA512-RSA-PKCS", "SHA1-RSA-PKCS-PSS", "SHA224-RSA-PKCS-PSS", "SHA256-RSA-PKCS-PSS", "SHA384-RSA-PKCS-PSS", "SHA512-RSA-PKCS-PSS", "ECDSA", "ECDSA-SHA1", "ECDSA-SHA224", "ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512"'
		hashes='"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"'
	fi
	cat <<POLICY
roles = ( { name = "testers"; users = [ $(id -u) ]; } );
keys = (
  { name = "test-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA_ID"; label = "$SG_RSA_LABEL";
    fingerprint = "sha256:$SG_RSA_FP"; products = [ "app" ];
    mechanisms = [ $mechs ]; hashes = [ $hashes ]; },
  { name = "test-ec"; token = "$SG_TOKEN"; id = "$SG_EC_ID"; label = "$SG_EC_LABEL";
    fingerprint = "sha256:$SG_EC_FP"; products = [ "app" ];
    mechanisms = [ $mechs ]; hashes = [ $hashes ]; }
);
rules = ( { name = "testers-sign"; roles = [ "testers" ]; keys = [ "test-rsa", "test-ec" ]; } );
POLICY
}
