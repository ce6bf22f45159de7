#!/bin/bash
# Fork while other threads are inside the module (test_fork.c): a child
# that does not call C_Initialize gets CKR_CRYPTOKI_NOT_INITIALIZED, one
# that does can sign, none hangs on a lock a vanished thread held.  The
# backend is the fault-injecting SoftHSM wrapper, which slows C_Sign down
# so that the fork lands while a signing thread holds its session.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
test_prog=${1:?test_fork binary}
# The forks land while other threads are inside the module, allocating.
# The libasan of Debian 12's gcc does not take its allocator's locks
# across fork (later LLVM versions do), so under ASan a child can inherit
# a held allocator lock and hang in its first malloc (seen in CI at the
# child's C_Initialize); glibc's malloc takes its locks across fork, and
# the plain pass runs this test.
[ -z "${SIGNGATE_SANITIZER:-}" ] ||
	sg_skip "fork while other threads allocate: libasan's allocator is not fork-safe"
fault=$(realpath "${2:?fault backend}")
sg_config "$SG_TMP/signgate.conf" "$(sg_allow_policy)"
sed -i "s#module = \"$SG_SOFTHSM\";#module = \"$fault\";#" "$SG_TMP/signgate.conf"
grep -q "$fault" "$SG_TMP/signgate.conf" || sg_fail "backend not set"
export SIGNGATE_CONF=$SG_TMP/signgate.conf SG_SOFTHSM SG_TOKEN SG_USER_PIN
"$test_prog" || sg_fail "test_fork failed"
sg_pass
