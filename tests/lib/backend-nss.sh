# shellcheck shell=bash
# The NSS softokn token for tests/lib/fixture.sh (SG_BACKEND=nss): a second,
# different real PKCS#11 implementation behind signgate.  Sourced by the
# fixture after the key material exists; sets what the SoftHSM part would:
#
#   SG_BACKEND_MODULE     libsoftokn3.so (what signgate's backend.module names)
#   SG_BACKEND_INIT_ARGS  its parameter string (backend.init_args): the NSS
#                         database in $SG_TMP/nssdb, the token labelled
#                         $SG_TOKEN through dbTokenDescription
#   SG_SOFTHSM            the "direct" route for tests: tests/lib's
#                         initargs shim, which hands NSS its parameters
#
# The token PIN is the NSS database password.  Keys are imported with the
# same CKA_ID and labels as on SoftHSM.  Needs certutil (libnss3-tools).
SG_BACKEND_MODULE=/usr/lib/x86_64-linux-gnu/libsoftokn3.so
[ -e "$SG_BACKEND_MODULE" ] || sg_skip "NSS softokn ($SG_BACKEND_MODULE) not installed"
command -v certutil >/dev/null || sg_skip "certutil (libnss3-tools) not installed"
SG_SHIM=${SG_SHIM:-$SG_BUILDDIR/tests/signgate-test-initargs-shim.so}
[ -e "$SG_SHIM" ] || sg_skip "test shim $SG_SHIM not built"

mkdir -p "$SG_TMP/nssdb"
printf '%s\n' "$SG_USER_PIN" > "$SG_TMP/nssdb.pw"
certutil -N -d "sql:$SG_TMP/nssdb" -f "$SG_TMP/nssdb.pw" >/dev/null 2>&1 ||
	sg_fail "certutil -N could not create the NSS database"
SG_BACKEND_INIT_ARGS="configdir='sql:$SG_TMP/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags= dbTokenDescription='$SG_TOKEN'"
export SG_SHIM_MODULE=$SG_BACKEND_MODULE SG_SHIM_INIT_ARGS=$SG_BACKEND_INIT_ARGS
SG_SOFTHSM=$SG_SHIM
export SG_BACKEND_MODULE SG_BACKEND_INIT_ARGS SG_SOFTHSM
