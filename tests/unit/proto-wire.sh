#!/usr/bin/env bash
# Wire compatibility of protocol/proto/*.proto with upstream, checked offline.
#
# Our protos are compiled with protoc (against nothing but protocol/proto, so
# our own google/* files are the ones used), described with proto-manifest.py,
# and compared group by group (one top-level message, enum or service) with the
# manifests taken from upstream in tests/fixtures/. A group passes when its
# facts are identical; otherwise the missing (-) and extra (+) lines are shown.
# containerd's packages are compared with Debian's containerd and cgroups .proto files,
# compiled at test time.
# Finally a known encoding is reproduced from our descriptors.
set -u
cd "$(dirname "$0")/../.." || exit 2

PY=/usr/bin/python3
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /'; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in protoc protoc-c "$PY"; do
  if ! command -v "$tool" >/dev/null; then
    echo "ok 1 # skip $tool not installed (scripts/install-deps.sh installs it)"
    echo "1..1"
    exit 0
  fi
done

mapfile -t protos < <(cd protocol/proto && find . -name '*.proto' | sed 's|^\./||' | sort)

if protoc -Iprotocol/proto --include_imports --descriptor_set_out="$tmp/ours.pb" "${protos[@]}" \
  2>"$tmp/protoc.err"; then
  ok "protoc compiles protocol/proto/*.proto on their own"
else
  not_ok "protoc compiles protocol/proto/*.proto on their own"
  diag <"$tmp/protoc.err"
  finish
fi

mkdir -p "$tmp/c"
if protoc-c -Iprotocol/proto --c_out="$tmp/c" "${protos[@]}" 2>"$tmp/protoc-c.err"; then
  ok "protoc-c generates C for every proto"
else
  not_ok "protoc-c generates C for every proto"
  diag <"$tmp/protoc-c.err"
fi

if ! "$PY" tests/unit/proto-manifest.py "$tmp/ours.pb" >"$tmp/ours.txt" 2>"$tmp/manifest.err"; then
  not_ok "manifest of our protos"
  diag <"$tmp/manifest.err"
  finish
fi

# One TAP line per group of each fixture; the Python prints the TAP body and
# leaves the numbering to us through a counter file.
compare() {
  local fixture=$1 label=$2
  "$PY" - "$fixture" "$tmp/ours.txt" "$label" "$n" >"$tmp/cmp.tap" <<'PYEOF'
import sys
from collections import defaultdict

fixture, ours_path, label, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def load(path):
    groups = defaultdict(set)
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                groups[line.split(" ")[1]].add(line)
    return groups


want, have = load(fixture), load(ours_path)
n = start
for group in sorted(want):
    n += 1
    missing = sorted(want[group] - have.get(group, set()))
    extra = sorted(have.get(group, set()) - want[group])
    if missing or extra:
        print(f"not ok {n} - {label}: {group} matches upstream")
        for line in missing:
            print(f"#   - {line}")
        for line in extra:
            print(f"#   + {line}")
    else:
        print(f"ok {n} - {label}: {group} matches upstream ({len(want[group])} facts)")

# Groups we define in upstream's packages but upstream does not have.
packages = {g.rsplit(".", 1)[0] for g in want}
stray = sorted(g for g in have if g.rsplit(".", 1)[0] in packages and g not in want)
n += 1
if stray:
    print(f"not ok {n} - {label}: no definitions beyond upstream in packages {' '.join(sorted(packages))}")
    for g in stray:
        print(f"#   + {g}")
else:
    print(f"ok {n} - {label}: no definitions beyond upstream in packages {' '.join(sorted(packages))}")
PYEOF
  local rc=$?
  cat "$tmp/cmp.tap"
  if [ "$rc" -ne 0 ] || [ ! -s "$tmp/cmp.tap" ]; then
    not_ok "$label: comparison ran"
    return
  fi
  n=$((n + $(grep -cE '^(not )?ok ' "$tmp/cmp.tap")))
  failed=$((failed + $(grep -c '^not ok ' "$tmp/cmp.tap")))
}

compare tests/fixtures/upstream-wire.txt "agent API"
compare tests/fixtures/upstream-envelope.txt "envelope"

# containerd's own .proto files (Debian's golang-github-containerd-{containerd,cgroups}-dev),
# compiled now with their gogoproto imports, against our protocol/proto/containerd/*.proto,
# one package at a time. gogoproto options change Go code, not the wire; the manifest has
# only wire facts.
GOSRC=/usr/share/gocode/src
CTD=github.com/containerd/containerd
upstream_protos=("$CTD/runtime/v2/task/shim.proto" "$CTD/api/types/mount.proto"
  "$CTD/api/types/task/task.proto" "$CTD/api/events/task.proto"
  "$CTD/api/services/ttrpc/events/v1/events.proto" github.com/containerd/cgroups/stats/v1/metrics.proto)
missing=()
for f in "${upstream_protos[@]}" github.com/gogo/protobuf/gogoproto/gogo.proto; do
  [ -f "$GOSRC/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
  not_ok "containerd's .proto files are installed (scripts/install-deps.sh): missing ${missing[*]}"
elif protoc -I"$GOSRC" -I"$GOSRC/github.com/gogo/protobuf" -I/usr/include --include_imports \
  --descriptor_set_out="$tmp/containerd.pb" "${upstream_protos[@]}" 2>"$tmp/containerd.err"; then
  ok "protoc compiles containerd's shim, types, events and cgroups .proto files from $GOSRC"
  # package, then the groups to compare (all when none are named): we define only Status and
  # ProcessInfo of containerd.v1.types, the rest of task.proto is containerd's own.
  for spec in containerd.task.v2 containerd.types "containerd.v1.types Status ProcessInfo" \
    containerd.events containerd.services.events.ttrpc.v1 io.containerd.cgroups.v1; do
    read -r pkg groups <<<"$spec"
    if ! "$PY" tests/unit/proto-manifest.py "$tmp/containerd.pb" "$pkg" >"$tmp/up.txt" ||
      [ ! -s "$tmp/up.txt" ]; then
      not_ok "manifest of containerd's package $pkg"
      continue
    fi
    if [ -n "$groups" ]; then
      pattern=$(printf '%s\n' $groups | sed "s/^/^[a-z]* ${pkg//./\\.}\\./; s/\$/ /")
      grep -E -f <(echo "$pattern") "$tmp/up.txt" >"$tmp/up-filtered.txt"
      mv "$tmp/up-filtered.txt" "$tmp/up.txt"
    fi
    compare "$tmp/up.txt" "containerd $pkg"
  done
else
  not_ok "protoc compiles containerd's .proto files from $GOSRC"
  diag <"$tmp/containerd.err"
fi

# ReadStdout as the Go runtime sends it: container "c", exec "c", 32 KiB.
# Tags 0x0a/0x12/0x18 are fields 1 (bytes), 2 (bytes), 3 (varint); 32768 is
# the varint 80 80 02.
want_hex="0a01631201631880800 2"
want_hex=${want_hex// /}
got_hex=$("$PY" - "$tmp/ours.pb" 2>"$tmp/pack.err" <<'PYEOF'
import sys
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

fds = descriptor_pb2.FileDescriptorSet()
with open(sys.argv[1], "rb") as f:
    fds.ParseFromString(f.read())
pool = descriptor_pool.DescriptorPool()
for fd in fds.file:
    pool.Add(fd)
desc = pool.FindMessageTypeByName("grpc.ReadStreamRequest")
if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
    cls = message_factory.GetMessageClass(desc)
else:
    cls = message_factory.MessageFactory(pool).GetPrototype(desc)
msg = cls(container_id="c", exec_id="c", len=32768)
print(msg.SerializeToString().hex())
PYEOF
)
if [ "$got_hex" = "$want_hex" ]; then
  ok "ReadStreamRequest{c, c, 32768} encodes as $want_hex"
else
  not_ok "ReadStreamRequest{c, c, 32768} encodes as $want_hex"
  echo "got: '$got_hex'" | diag
  diag <"$tmp/pack.err"
fi

finish
