#!/usr/bin/python3
"""md2man: turn the Markdown subset signgate's references use into man(7).

    md2man.py --name NAME --section N --title TEXT IN.md OUT

signgate.conf(5) is generated from config/REFERENCE.md at build time so that
the two can never drift apart.  Handles what REFERENCE.md uses: headings
(## -> .SH, ### -> .SS), paragraphs, "-" and "1." lists with continuation
lines, pipe tables (rendered with tbl), fenced code blocks, `code`, **bold**,
*emphasis* and [links](url).  Anything else is kept as text.
"""
import argparse
import re
import sys


def escape(text):
    """Escape troff specials in running text, and give long tokens (paths,
    setting names) places to break, or narrow table cells cannot hold them."""
    text = text.replace("\\", "\\e")
    text = text.replace("-", "\\-")
    return re.sub(r"\S{8,}", lambda m: re.sub(r"([/._,=\[:$-])", r"\1\\:", m.group(0)), text)


def inline(text):
    """Markdown inline markup to troff fonts; the result is escaped."""
    out = []
    pos = 0
    pattern = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)]+)\)")
    for m in pattern.finditer(text):
        out.append(escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + escape(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + escape(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + escape(m.group(3)) + "\\fR")
        else:
            label, url = m.group(4), m.group(5)
            out.append(escape(label))
            if url.startswith("http"):
                out.append(" <" + escape(url) + ">")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def line_safe(s):
    """A line must not start with a control character."""
    if s.startswith(".") or s.startswith("'"):
        return "\\&" + s
    return s


def table(rows):
    """Pipe table to tbl: every cell in a T{ T} block so that it wraps."""
    cells = []
    for r in rows:
        r = r.strip()
        if re.match(r"^\|?\s*:?-{2,}", r):
            continue
        parts = [c.strip() for c in r.strip("|").split("|")]
        cells.append(parts)
    if not cells:
        return []
    ncol = max(len(c) for c in cells)
    # the first format line is the header row's, the second (ending in
    # ".") every other row's
    out = [".TS", "allbox tab(\a);", " ".join(["lbx"] * ncol), " ".join(["lx"] * ncol) + "."]
    for row in cells:
        row = row + [""] * (ncol - len(row))
        out.append("\a".join("T{\n" + line_safe(inline(c)) + "\nT}" for c in row))
    out.append(".TE")
    return out


def convert(md, name, section, title, date):
    # left-adjusted text: justified lines in narrow table cells only warn
    out = ["'\\\" t", ".TH %s %s \"%s\" \"signgate\" \"%s\"" % (name.upper(), section, date, title),
           ".ad l",
           ".SH NAME", "%s \\- %s" % (escape(name), escape(title))]
    lines = md.splitlines()
    i = 0
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.extend(line_safe(inline(p)) for p in para)
            para.clear()

    first_heading = True
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".EX")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_safe(escape(lines[i])))
                i += 1
            out.append(".EE")
            i += 1
            continue
        m = re.match(r"^(#{1,4})\s+(.*)$", ln)
        if m:
            flush()
            level, text = len(m.group(1)), m.group(2)
            if level == 1:
                if first_heading:
                    first_heading = False
                    out.append(".SH DESCRIPTION")
                    i += 1
                    continue
                out.append(".SH " + inline(text.upper()))
            elif level == 2:
                out.append(".SH " + inline(text.upper() if len(text) < 40 else text))
            else:
                out.append(".SS " + inline(text))
            i += 1
            continue
        if ln.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out.extend(table(rows))
            continue
        m = re.match(r"^(\s*)(-|\d+\.)\s+(.*)$", ln)
        if m:
            flush()
            indent = len(m.group(1))
            mark = "\\(bu" if m.group(2) == "-" else m.group(2)
            item = [m.group(3)]
            i += 1
            while i < len(lines) and lines[i].strip() and lines[i].startswith(" " * (indent + 2)) \
                    and not re.match(r"^\s*(-|\d+\.)\s+", lines[i]):
                item.append(lines[i].strip())
                i += 1
            if indent:
                out.append(".RS")
            out.append(".IP %s 4" % mark)
            out.extend(line_safe(inline(t)) for t in item)
            if indent:
                out.append(".RE")
            continue
        if not ln.strip():
            flush()
            i += 1
            continue
        para.append(ln.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--title", required=True)
    ap.add_argument("--date", default="")
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    with open(a.input, encoding="utf-8") as f:
        md = f.read()
    text = convert(md, a.name, a.section, a.title, a.date)
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
