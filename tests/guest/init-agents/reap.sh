#!/bin/sh
# Test agent: makes orphans and checks that PID 1 adopts and reaps them. Each
# `sh -c 'sleep 3 &'` exits at once, so its sleep is re-parented to init; when the sleeps end (3 s later),
# only init can reap them. Prints "REAP adopted=N zombies=M" and exits 0 only when every
# orphan was adopted (N >= 20) and none is left a zombie.
i=0
while [ $i -lt 20 ]; do
    sh -c 'sleep 3 &'
    i=$((i + 1))
done
count() { # count PATTERN: processes whose parent is PID 1 and whose "(comm):state" matches
    pat=$1 n=0
    for f in /proc/[0-9]*/stat; do
        line=$(cat "$f" 2>/dev/null) || continue
        set -- $line
        [ "$4" = 1 ] || continue
        # shellcheck disable=SC2254 # $pat is meant as a glob
        case "$2:$3" in $pat) n=$((n + 1)) ;; esac
    done
    echo $n
}
adopted=$(count '(sleep):*')
sleep 4
zombies=$(count '*:Z')
echo "REAP adopted=$adopted zombies=$zombies"
[ "$adopted" -ge 20 ] && [ "$zombies" -eq 0 ]
