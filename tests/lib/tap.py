"""TAP output for the Python test drivers (the shell ones use tests/lib/tap.sh)."""
_count = 0


def ok(cond, name, detail=""):
    """Prints "ok N - name" or "not ok N - name" (with the detail as a comment); returns cond."""
    global _count
    _count += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (_count, name))
    if not cond and detail:
        print("# %r" % (detail,))
    return cond
