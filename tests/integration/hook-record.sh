#!/bin/sh
# An OCI hook for agent-hooks.bats: records its stdin (the container state), environment and
# arguments under $DIR, then sleeps $SLEEP seconds and exits $RC.
cat >"$DIR/$KIND.json"
env | sort >"$DIR/$KIND.env"
echo "$KIND $*" >>"$DIR/order"
[ -z "$SLEEP" ] || sleep "$SLEEP"
exit "${RC:-0}"
