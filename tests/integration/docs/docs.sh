#!/bin/bash
# The documentation runs as printed: every `sh` block of the given Markdown
# file, in order, in one bash with `set -euo pipefail`, from the top of the
# source tree as a user in a fresh clone would (tests/integration/docs/
# extract.py says how blocks are chosen and how a block is left out).
#
#   docs.sh DOC.md     (relative to the source tree)
set -euo pipefail
SRC=${SIGNGATE_SRCDIR:?run through meson test}
B=${SIGNGATE_BUILDDIR:?}
doc=${1:?usage: docs.sh DOC.md}
T=$(mktemp -d "${TMPDIR:-/tmp}/sg-docs.XXXXXX")
chmod 0755 "$T"
trap 'cd /; pkill -P $$ 2>/dev/null || true; rm -rf "$T"' EXIT

/usr/bin/python3 "$SRC/tests/integration/docs/extract.py" "$SRC/$doc" > "$T/script.sh"
mkdir -p "$T/tmp" "$T/home"
# The user's machine: the tree and this build; nothing of the test's own.
cd "$SRC"
set +e
env -u SIGNGATE_CONF -u SIGNGATE_TICKET -u SOFTHSM2_CONF -u OPENSSL_CONF \
	TMPDIR="$T/tmp" HOME="$T/home" SIGNGATE_BUILD_DIR="$B" \
	bash "$T/script.sh" > "$T/out" 2>&1
rc=$?
set -e
cat "$T/out"
if [ $rc -ne 0 ]; then
	last=$(grep -E '^RUN  ' "$T/out" | tail -1)
	echo "FAIL: $doc: exit $rc in the block at ${last#RUN  }" >&2
	exit 1
fi
grep -q "^DONE $SRC/$doc" "$T/out" || { echo "FAIL: $doc did not run to its end" >&2; exit 1; }
echo "PASS: every command block of $doc ran as printed"
