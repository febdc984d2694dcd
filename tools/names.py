#!/usr/bin/env python3
"""names.py -- checks the naming habit of runtime/ and devserver/.

Rule (STYLE.md, issue 15): every function defined in X.c starts with X's
name -- `router_lookup` in router.c -- or, in a file that is one part of a
family (`console_db.c`, `migrate_sql.c`), with the family's name
(`console_`, `migrate_`), or of a family nested in it (`dbpg_` in
`db_pg_sql.c`, as in `db_pg.c`). Public API (`cot_*`) may be defined
anywhere in runtime/. Definitions are found the way STYLE.md promises grep
finds them: the function's name at the start of a line, the return type on
the line above.

usage: tools/names.py [DIR...]   (default: runtime devserver)
Prints one line per function that breaks the rule, then one "ok"/"not ok"
line for tests/run (make test runs it); exits 1 if any broke it.
"""
import os
import re
import sys

DEF = re.compile(r'^([a-z_][A-Za-z0-9_]*)\(', re.M)  # lower case: not a macro
# Names fixed by something outside us: the linker's --wrap, main().
EXEMPT = re.compile(r'^(main|__wrap_[a-z_]+)$')


def prefixes(path):
    base = os.path.basename(path)[:-2]
    parts = base.split('_')
    # the file's own name and every family it belongs to: db_pg_sql.c may
    # use db_pg_sql_, db_pg_ (or dbpg_, as db_pg.c does) and db_
    out = set()
    for k in range(1, len(parts) + 1):
        out.add('_'.join(parts[:k]) + '_')
        out.add(''.join(parts[:k]) + '_')
    if path.startswith('runtime') or '/runtime/' in path:
        out.add('cot_')
    return out


def check(path):
    bad = []
    with open(path, encoding='utf-8') as f:
        text = f.read()
    ok = prefixes(path)
    for m in DEF.finditer(text):
        name = m.group(1)
        if EXEMPT.match(name) or any(name.startswith(p) for p in ok):
            continue
        line = text.count('\n', 0, m.start()) + 1
        bad.append('%s:%d: %s (expected a prefix: %s)' %
                   (path, line, name, ', '.join(sorted(ok))))
    return bad


def main():
    dirs = sys.argv[1:] or ['runtime', 'devserver']
    bad = []
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if name.endswith('.c'):
                bad += check(os.path.join(d, name))
    for b in bad:
        print('# ' + b)
    if bad:
        print('not ok names: %d function(s) not named after their file' % len(bad))
        return 1
    print('ok names: every function in %s is named after its file' % ' and '.join(dirs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
