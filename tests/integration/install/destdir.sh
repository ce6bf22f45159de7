#!/bin/bash
# `meson install` into a DESTDIR puts each file where Debian's conventions
# put it, and the generated files (p11-kit module file, systemd unit) name
# the paths the files were really installed to.  Then the same for a
# Debian-style configuration (--prefix=/usr), from `meson introspect`.
set -euo pipefail
SRC=${SIGNGATE_SRCDIR:?run through meson test}
B=${SIGNGATE_BUILDDIR:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/sg-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v meson >/dev/null || { echo "SKIP: meson not on PATH"; exit 77; }

opt() {	# opt NAME: a directory option of the build, as meson resolved it
	meson introspect --buildoptions "$B" |
		python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]))' "$1"
}
abs() { case "$2" in /*) echo "$2" ;; *) echo "$1/$2" ;; esac; }
prefix=$(opt prefix)
libdir=$(abs "$prefix" "$(opt libdir)")
bindir=$(abs "$prefix" "$(opt bindir)")
datadir=$(abs "$prefix" "$(opt datadir)")
mandir=$(abs "$prefix" "$(opt mandir)")
libexecdir=$(abs "$prefix" "$(opt libexecdir)")
sysconfdir=$(abs "$prefix" "$(opt sysconfdir)")

D=$T/destdir
meson install -C "$B" --no-rebuild --quiet --destdir "$D" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "meson install failed"; }

# Exactly these files, nothing else (no test programs, no fuzzers).
want=(
	"$bindir/signgate"
	"$libdir/pkcs11/signgate-pkcs11.so"
	"$datadir/p11-kit/modules/signgate.module"
	"$prefix/lib/systemd/system/signgate-broker.service"
	"$libexecdir/signgate/signgate-broker"
	"$mandir/man1/signgate.1"
	"$mandir/man5/signgate.conf.5"
	"$mandir/man8/signgate-pkcs11.8"
	"$datadir/doc/signgate/README.md"
	"$datadir/doc/signgate/REFERENCE.md"
	"$datadir/doc/signgate/AUDIT-SCHEMA.md"
	"$datadir/doc/signgate/broker.md"
	"$datadir/doc/signgate/clients.md"
	"$datadir/doc/signgate/tickets.md"
	"$datadir/doc/signgate/reports.md"
	"$datadir/doc/signgate/examples/signgate.conf.example"
)
printf '%s\n' "${want[@]}" | sort > "$T/want"
(cd "$D" && find . -type f -o -type l) | sed 's|^\.||' | sort > "$T/have"
if ! diff -u "$T/want" "$T/have"; then
	fail "installed tree differs from the expected layout (- expected, + installed)"
fi

[ -x "$D$bindir/signgate" ] || fail "signgate not executable"
[ -x "$D$libexecdir/signgate/signgate-broker" ] || fail "broker script not executable"
syms=$(nm -D --defined-only "$D$libdir/pkcs11/signgate-pkcs11.so" | awk '{print $3}' | grep '^C_' | sort | tr '\n' ' ')
[ "$syms" = "C_GetFunctionList C_GetInterface C_GetInterfaceList " ] ||
	fail "installed module exports: $syms"

mod=$D$datadir/p11-kit/modules/signgate.module
grep -qx "module: $libdir/pkcs11/signgate-pkcs11.so" "$mod" ||
	fail "signgate.module does not name the installed module: $(grep '^module:' "$mod")"
grep -qx "x-init-reserved: $sysconfdir/signgate/signgate.conf" "$mod" ||
	fail "signgate.module: x-init-reserved is not $sysconfdir/signgate/signgate.conf"
grep -qx "critical: no" "$mod" || fail "signgate.module must not be critical (a user who may not read the policy would lose every p11-kit token)"

unit=$D$prefix/lib/systemd/system/signgate-broker.service
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ "$exe" = "$libexecdir/signgate/signgate-broker" ] || fail "unit ExecStart '$exe'"
[ -x "$D$exe" ] || fail "unit ExecStart $exe is not installed"
grep -q -- "--module $libdir/pkcs11/signgate-pkcs11.so" "$unit" || fail "unit does not pass the installed module"
doc=$(sed -n 's/^Documentation=file:\([^ ]*\).*/\1/p' "$unit")
[ -f "$D$doc" ] || fail "unit Documentation= $doc is not installed"
if grep -nE '@[A-Z_]+@' "$mod" "$unit"; then fail "unsubstituted @VARIABLE@ left"; fi
echo "ok: DESTDIR layout for prefix $prefix"

# Debian's layout: configure (no build needed) with --prefix=/usr and read
# where each file would go.
meson setup "$T/b-usr" "$SRC" --prefix=/usr >"$T/setup.log" 2>&1 || { cat "$T/setup.log"; fail "meson setup --prefix=/usr"; }
meson introspect --installed "$T/b-usr" > "$T/installed.json"
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
python3 - "$T/installed.json" "$multiarch" <<'PY' || fail "Debian layout for --prefix=/usr"
import json, sys
inst = set(json.load(open(sys.argv[1])).values())
ma = sys.argv[2]
need = [f"/usr/lib/{ma}/pkcs11/signgate-pkcs11.so", "/usr/bin/signgate",
        "/usr/share/p11-kit/modules/signgate.module",
        "/usr/lib/systemd/system/signgate-broker.service",
        "/usr/libexec/signgate/signgate-broker",
        "/usr/share/man/man1/signgate.1", "/usr/share/man/man5/signgate.conf.5",
        "/usr/share/man/man8/signgate-pkcs11.8",
        "/usr/share/doc/signgate/examples/signgate.conf.example"]
missing = [p for p in need if p not in inst]
for p in missing:
    print("missing from the /usr layout:", p, file=sys.stderr)
sys.exit(1 if missing else 0)
PY
grep -qx "module: /usr/lib/$multiarch/pkcs11/signgate-pkcs11.so" "$T/b-usr/signgate.module" ||
	fail "for prefix /usr, signgate.module names $(grep '^module:' "$T/b-usr/signgate.module")"
grep -qx "x-init-reserved: /etc/signgate/signgate.conf" "$T/b-usr/signgate.module" ||
	fail "for prefix /usr, x-init-reserved is not /etc/signgate/signgate.conf"
echo "ok: Debian layout for prefix /usr"
