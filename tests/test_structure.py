# SPDX-License-Identifier: MIT
"""The shape of src/, measured from the code (docs/ARCHITECTURE.md):

- no two source files call each other, directly or round a loop (a file
  "calls" another when it names a non-static function defined there);
- no function is longer than 120 lines;
- no source file is longer than 1,200 lines.

The reading is deliberately simple and fits the house style (clang-format's
kernel style: a function's body opens with "{" alone at column 0 and closes
with "}" at column 0)."""
import os
import re

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "src")
MAX_FUNC, MAX_FILE = 120, 1200

# comments and literals in one pass: whichever starts first wins
_NOISE = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'",
                    re.S)
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _strip(text):
    """Comments and string literals blanked, line breaks kept."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return _NOISE.sub(blank, text)


def _functions(text):
    """(name, is_static, first_line, last_line) of each function defined."""
    lines = text.split("\n")
    out, start = [], 0
    for i, line in enumerate(lines):
        # a signature has no blank line (comments are blank by now), and
        # follows a body, a declaration or a preprocessor line
        if (not line.strip() or line.startswith(("}", "#")) or
                line.rstrip().endswith((";", "\\"))):
            start = i + 1
        if line.rstrip() != "{":
            continue
        head = "\n".join(lines[start:i])
        names = [n for n in _CALL.findall(head)
                 if n not in ("__attribute__", "format")]
        if not names:
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("}"))
        out.append((names[0], head.lstrip().startswith("static"), start + 1, end + 1))
    return out


def _read():
    files = {}
    for name in sorted(os.listdir(SRC)):
        if name.endswith(".c"):
            with open(os.path.join(SRC, name), errors="replace") as fh:
                files[name] = fh.read()
    return files


FILES = _read()
STRIPPED = {n: _strip(t) for n, t in FILES.items()}
FUNCS = {n: _functions(t) for n, t in STRIPPED.items()}


def _graph():
    defined = {}
    for name, funcs in FUNCS.items():
        for fn, static, _, _ in funcs:
            if not static:
                defined.setdefault(fn, name)
    edges = {name: set() for name in FILES}
    for name, text in STRIPPED.items():
        for call in _CALL.findall(text):
            other = defined.get(call)
            if other and other != name:
                edges[name].add(other)
    return edges


def _cycles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_reader_sees_the_functions():
    # guards the guard: the parser finds what the files plainly hold
    funcs = {fn: (static, a, b) for fn, static, a, b in FUNCS["flowio.c"]}
    assert "flow_sb_read" in funcs and not funcs["flow_sb_read"][0]
    assert "sb_window" in funcs and funcs["sb_window"][0]
    assert sum(len(f) for f in FUNCS.values()) > 1000
    assert "flowio.c" in _graph()["relay.c"]


def test_no_call_cycles_between_files():
    cycles = _cycles(_graph())
    assert not cycles, "files that call each other: %s" % cycles


@pytest.mark.parametrize("name", sorted(FILES))
def test_functions_are_short(name):
    long = [(fn, b - a + 1) for fn, _, a, b in FUNCS[name] if b - a + 1 > MAX_FUNC]
    assert not long, "%s: functions over %d lines: %s" % (name, MAX_FUNC, long)


def test_files_are_not_too_long():
    big = {n: t.count("\n") for n, t in FILES.items() if t.count("\n") > MAX_FILE}
    assert not big, "source files over %d lines: %s" % (MAX_FILE, big)
