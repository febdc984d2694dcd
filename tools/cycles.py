#!/usr/bin/env python3
"""
cycles.py -- prints the cycles in the file-level dependency graph of runtime/.

File A depends on file B when A's object refers to a symbol (a function or a
variable) that B's object defines -- read from the objects with `nm`, so it is
what the linker sees: no comment, macro or dead declaration counts, and a
static function can never make an edge -- or when A.c includes B.h and B.c
exists (including a file's own header is asking for its declarations).
A header is the file of the same name (router.h is router.c's); cot.h, in
include/, belongs to no one file and makes no edge.

A cycle means neither file can be read, tested or changed without the other.
The runtime's rule is one direction: request-level files (ctx, error, form,
json, db, ...) call down into low-level ones (arena, router, trace); a
low-level file that must reach up does it through a hook that the upper file
registers: error_page_hook at init, ctx_on_free per request.

Usage: tools/cycles.py [--forbid a,b,c] SRCDIR OBJDIR
       tools/cycles.py --self-test
  Prints every strongly connected component of more than one file with one
  cycle through it and the symbol behind each edge ("#" lines), then the
  check (tests/run counts its lines): one "ok" line when no --forbid file is
  on any cycle, else one "not ok" line per file that is; exits 1 then.
  Sources without an object are listed and left out (app_main.c: only the
  export compiles it).
  --self-test compiles three small files in a temporary directory, two of
  them calling each other, and checks that exactly those two are reported:
  a checker that found nothing because nm or the compiler changed would
  otherwise pass.
"""
import os
import re
import subprocess
import sys
import tempfile


def defined_and_used(obj):
    """(defined, undefined) global symbol names of one object."""
    out = subprocess.run(["nm", "-P", obj], check=True, capture_output=True,
                         text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        name, kind = f[0], f[1]
        if kind == "U":
            used.add(name)
        elif kind.isupper() or kind in "vw":
            defined.add(name)
    return defined, used


def includes(src):
    """Quoted #include names of a source file ("form.h")."""
    with open(src, encoding="utf-8") as fp:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', fp.read(), re.M)


def graph(srcdir, objdir):
    """files, edges {a: {b: why}}, missing objects."""
    files, missing, syms, uses, incs = [], [], {}, {}, {}
    for name in sorted(os.listdir(srcdir)):
        if not name.endswith(".c"):
            continue
        stem = name[:-2]
        obj = os.path.join(objdir, stem + ".o")
        if not os.path.exists(obj):
            missing.append(name)
            continue
        files.append(stem)
        syms[stem], uses[stem] = defined_and_used(obj)
        incs[stem] = includes(os.path.join(srcdir, name))
    owner = {}
    for f in files:
        for s in syms[f]:
            owner.setdefault(s, f)
    edges = {f: {} for f in files}
    for f in files:
        for s in sorted(uses[f]):
            o = owner.get(s)
            if o is not None and o != f:
                edges[f].setdefault(o, s)
        for h in incs[f]:
            o = h[:-2] if h.endswith(".h") else None
            if o in edges and o != f:
                edges[f].setdefault(o, "#include \"%s\"" % h)
    return files, edges, missing


def components(files, edges):
    """Tarjan's strongly connected components, each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
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
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for f in files:
        if f not in index:
            visit(f)
    return out


def one_cycle(comp, edges):
    """A shortest cycle through comp's first file, inside comp."""
    start, inside = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w not in inside:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start]


def self_test():
    """Plants a cycle (a <-> b; c calls a, d includes a.h) and finds it."""
    files = {
        "a.c": "int b_f(void);\nint a_f(void) { return b_f() + 1; }\n"
               "int a_g(void) { return 2; }\n",
        "b.c": "int a_g(void);\nint b_f(void) { return a_g(); }\n",
        "c.c": "int a_f(void);\nint c_f(void) { return a_f(); }\n",
        "d.c": '#include "a.h"\nint d_f(void) { return 0; }\n',
        "a.h": "int a_f(void);\n",
    }
    with tempfile.TemporaryDirectory(prefix="cycles-") as tmp:
        for name, text in files.items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as fp:
                fp.write(text)
        cc = os.environ.get("CC") or "gcc"
        for name in files:
            if name.endswith(".c"):
                src = os.path.join(tmp, name)
                subprocess.run([cc, "-c", "-I", tmp, src, "-o", src[:-2] + ".o"],
                               check=True)
        names, edges, _ = graph(tmp, tmp)
        comps = [c for c in components(names, edges) if len(c) > 1]
    ok = comps == [["a", "b"]] and "a" in edges["c"] and "a" in edges["d"]
    print("%s - cycles.py finds a planted cycle (a <-> b) and only it: %s"
          % ("ok" if ok else "not ok", comps))
    return 0 if ok else 1


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    forbid = []
    if len(argv) > 1 and argv[0] == "--forbid":
        forbid = [f for f in argv[1].split(",") if f]
        argv = argv[2:]
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    files, edges, missing = graph(argv[0], argv[1])
    for m in missing:
        print("# %s: no object in %s, left out" % (m, argv[1]))
    nedges = sum(len(e) for e in edges.values())
    print("# %d files, %d edges (file -> file it calls or includes)"
          % (len(files), nedges))
    cyclic = {}
    for comp in components(files, edges):
        if len(comp) < 2:
            continue
        print("# cycle among %d files: %s" % (len(comp), " ".join(comp)))
        cyc = one_cycle(comp, edges)
        for a, b in zip(cyc, cyc[1:]):
            print("#   %s -> %s (%s)" % (a, b, edges[a][b]))
        for f in comp:
            cyclic[f] = comp
    if not cyclic:
        print("# no cycles")
    bad = [f for f in forbid if f not in edges or f in cyclic]
    for f in bad:
        if f not in edges:
            print("not ok - %s: no such file in the graph" % f)
        else:
            print("not ok - %s is on a cycle (with %s)"
                  % (f, " ".join(x for x in cyclic[f] if x != f)))
    if forbid and not bad:
        print("ok - none of %s is on a cycle" % " ".join(forbid))
    failed = len(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
