#!/bin/bash
# The example behind docs/reports.md: a throwaway token and a policy with
# the usual accumulated problems, then who-can-sign and inventory on it.
# Not a test (no assertions): regenerates the documentation's output.
#
#   SIGNGATE_SRCDIR=$PWD SIGNGATE_BUILDDIR=build SIGNGATE_MODULE=build/module/signgate-pkcs11.so \
#   SIGNGATE_TOOL=build/tools/signgate bash tests/integration/reports/example.sh OUTDIR
#
# As root it creates the example's users and group (alice, bob, carol,
# dave, group signers) and removes them at the end; otherwise the current
# user stands in.  OUTDIR receives *.txt outputs, reports-graph.dot/.png.
: "${SIGNGATE_SRCDIR:?set SIGNGATE_SRCDIR and the other SIGNGATE_* variables (see above)}"
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
OUT=${1:?usage: example.sh OUTDIR}
mkdir -p "$OUT"
K=$SG_TMP/k
mkdir -p "$K"

CREATED=()
cleanup() {
	for u in "${CREATED[@]}"; do userdel "$u" >/dev/null 2>&1 || true; done
	groupdel signers >/dev/null 2>&1 || true
	rm -rf "$SG_TMP"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then
	getent group signers >/dev/null || groupadd signers
	for u in alice bob carol dave mallory; do
		getent passwd $u >/dev/null && continue
		if [ $u = dave ]; then useradd -M -N -g signers -s /usr/sbin/nologin $u
		elif [ $u = carol ]; then useradd -M -N -G signers -s /usr/sbin/nologin $u
		else useradd -M -N -s /usr/sbin/nologin $u; fi
		CREATED+=("$u")
	done
	ALICE=alice BOB=bob
else
	ALICE=$(id -un) BOB=$(id -un)
fi

# token: the fixture's rsa-release and ec-release, plus a stray key and a
# retired one that was never destroyed
sg_p11 --keypairgen --key-type EC:prime256v1 --id 09 --label test-signing >/dev/null 2>&1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/old.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$K/old.pem" -outform DER -out "$K/old.p8"
openssl pkey -in "$K/old.pem" -pubout -outform DER -out "$K/old.pub.der"
sg_p11 --write-object "$K/old.p8" --type privkey --id 03 --label release-2023 >/dev/null 2>&1
sg_p11 --write-object "$K/old.pub.der" --type pubkey --id 03 --label release-2023 >/dev/null 2>&1
OLD_FP=$(openssl dgst -sha256 -r "$K/old.pub.der" | cut -d' ' -f1)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/gone.pem" 2>/dev/null
GONE_FP=$(openssl pkey -in "$K/gone.pem" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
openssl genpkey -algorithm ED25519 -out "$K/ci.pem" 2>/dev/null
openssl pkey -in "$K/ci.pem" -pubout -out "$K/ci.pub"
SOON=$(date -u -d '+12 days' +%Y-%m-%dT00:00:00Z)

CONF=$SG_TMP/signgate.conf
sg_config "$CONF" "$(cat <<EOF
validators = ( { name = "ci-validator"; public_key = "$K/ci.pub"; } );
roles = (
  { name = "release"; users = [ "$ALICE" ]; groups = [ "signers" ]; },
  { name = "ci"; programs = ( "/usr/bin/osslsigncode" ); users = [ "$ALICE" ]; },
  { name = "hsm-admins"; users = [ "$BOB" ]; },
  { name = "legacy"; users = [ "mallory-old" ]; }
);
keys = (
  { name = "app-rsa"; token = "$SG_TOKEN"; id = "01"; label = "rsa-release";
    fingerprint = "sha256:$SG_RSA_FP"; products = [ "app", "web" ];
    mechanisms = [ "SHA256-RSA-PKCS", "RSA-PKCS" ]; hashes = [ "SHA256" ];
    not_after = "$SOON"; },
  { name = "app-ec"; token = "$SG_TOKEN"; id = "02"; label = "ec-signing";
    fingerprint = "sha256:$SG_EC_FP"; products = [ "app" ]; mechanisms = [ "ECDSA" ]; },
  { name = "release-2023"; token = "$SG_TOKEN"; id = "03"; label = "release-2023";
    fingerprint = "sha256:$OLD_FP"; products = [ "app" ]; mechanisms = [ "SHA256-RSA-PKCS" ];
    revoked = true; revoked_reason = "superseded by app-rsa"; },
  { name = "docs-ec"; token = "$SG_TOKEN"; id = "05"; label = "docs";
    fingerprint = "sha256:$GONE_FP"; products = [ "docs" ]; mechanisms = [ "ECDSA" ]; }
);
rules = (
  { name = "release-signing"; roles = [ "release" ]; products = [ "app" ];
    days = [ "Mon", "Tue", "Wed", "Thu", "Fri" ]; hours = "08:00-18:00"; timezone = "+01:00";
    quota = { count = 100; period = "1d"; per = "caller"; };
    checks = [ "unit-tests", "vuln-scan" ]; max_ticket_age = "1h"; },
  { name = "ci-docs"; roles = [ "ci" ]; keys = [ "docs-ec" ]; },
  { name = "legacy-signing"; roles = [ "legacy" ]; keys = [ "app-rsa" ]; },
  { name = "key-admin"; roles = [ "hsm-admins" ]; all_keys = true; sign = false; admin = true; }
);
EOF
)"
chmod 0640 "$SG_PIN_FILE"
cp "$CONF" "$OUT/example.conf"

run() { # FILE CMD...
	local f=$1; shift
	local rc=0
	{ echo "\$ $*" | sed "s|$SG_TOOL|signgate|"; "$@" 2>&1 || rc=$?; echo "[exit status $rc]"; } |
		sed "s|$SG_TMP/signgate.conf|/etc/signgate/signgate.conf|g; s|$SG_TMP/token.pin|/etc/signgate/token.pin|g; s|$SG_TMP|/etc/signgate|g" > "$OUT/$f"
}
run who-can-sign.txt "$SG_TOOL" who-can-sign --config "$CONF"
run who-can-sign-user.txt "$SG_TOOL" who-can-sign --config "$CONF" --user carol
run who-can-sign-json.txt "$SG_TOOL" who-can-sign --config "$CONF" --key docs-ec --json
run inventory.txt "$SG_TOOL" inventory --config "$CONF" --fail-on high
run inventory-json.txt "$SG_TOOL" inventory --config "$CONF" --json
"$SG_TOOL" inventory --config "$CONF" --dot |
	sed "s|$SG_TMP/signgate.conf|/etc/signgate/signgate.conf|g; s|$SG_TMP/token.pin|/etc/signgate/token.pin|g" \
	> "$OUT/reports-graph.dot"
if command -v dot >/dev/null; then
	dot -Tpng -Gdpi=110 "$OUT/reports-graph.dot" -o "$OUT/reports-graph.png"
fi
echo "written to $OUT"
