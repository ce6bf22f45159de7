#!/usr/bin/python3
"""Extract the command blocks of a Markdown file as one bash script.

    extract.py DOC.md > script.sh

Every fenced block whose info string is `sh` is a command block a user is
meant to run, and goes into the script exactly as printed, in order, each
announced by a line naming its place in the file.  A block may be left out
only by an HTML comment on the line before its fence:

    <!-- docs-test: skip REASON -->

and the reason is printed when the script runs, so what the test does not
run is visible in its output.  Exit status 2 when the file has no command
block at all (a doc that lost its commands is an error, not a pass).
"""
import shlex
import sys


def main():
    path = sys.argv[1]
    lines = open(path, encoding="utf-8").read().splitlines()
    out = ["set -euo pipefail"]
    n_run = n_skip = 0
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("```"):
            info = ln[3:].strip()
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            body = lines[start:j]
            prev = lines[i - 1].strip() if i > 0 else ""
            if info == "sh":
                where = "%s:%d" % (path, i + 1)
                if prev.startswith("<!-- docs-test: skip"):
                    reason = prev[len("<!-- docs-test: skip"):].rstrip("->").strip()
                    out.append("echo %s" % shlex.quote("SKIP %s: %s" % (where, reason)))
                    n_skip += 1
                else:
                    out.append("echo %s" % shlex.quote("RUN  %s" % where))
                    out.extend(body)
                    n_run += 1
            i = j + 1
            continue
        i += 1
    out.append("echo %s" % shlex.quote("DONE %s: %d blocks run, %d skipped" % (path, n_run, n_skip)))
    if n_run + n_skip == 0:
        print("%s: no command block" % path, file=sys.stderr)
        return 2
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
