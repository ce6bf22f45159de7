source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"; sg_skip "todo"
