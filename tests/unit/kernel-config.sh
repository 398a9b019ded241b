#!/usr/bin/env bash
# TAP: the guest kernel's config fragments, its cache key and its built .config.
#  - every fragment line is well formed and no two fragments disagree;
#  - the cache key is stable, and changes when a fragment, the whitelist or the fragment set
#    changes (temp copy of kernel/configs, --key-only: nothing is rebuilt);
#  - the cached .config of the current key holds every requested option (checked here
#    independently of build.sh), and build.sh's own verifier rejects a tampered copy.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=kernel/build.sh
configs=kernel/configs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. tests/lib/tap.sh

mapfile -t fragments < <(find "$configs" -maxdepth 1 -name '*.conf' ! -name whitelist.conf | LC_ALL=C sort)
have_source=1
[ -f /usr/src/linux-source-6.1.tar.xz ] || have_source=0

echo "1..$((9 + ${#fragments[@]}))"

# 1: syntax and consistency of the fragments, parsed here rather than by build.sh.
declare -A want=() from=()
errors=()
for f in "${fragments[@]}"; do
	while IFS= read -r line || [ -n "$line" ]; do
		if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.+)$ ]]; then
			sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
		elif [[ "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]} val=n
		elif [[ "$line" =~ ^[[:space:]]*(#.*)?$ ]]; then
			continue
		else
			errors+=("$(basename "$f"): bad line: $line")
			continue
		fi
		if [ -n "${want[$sym]+x}" ] && [ "${want[$sym]}" != "$val" ]; then
			errors+=("$sym: ${from[$sym]}=${want[$sym]} vs $(basename "$f")=$val")
		fi
		want[$sym]=$val from[$sym]=$(basename "$f")
	done <"$f"
done
for sym in CONFIG_INPUT CONFIG_INPUT_EVDEV CONFIG_ACPI_BUTTON CONFIG_PROC_FS CONFIG_SYSFS \
	CONFIG_DEVTMPFS CONFIG_UNIX98_PTYS CONFIG_POSIX_MQUEUE CONFIG_CGROUP_BPF CONFIG_MEMCG \
	CONFIG_PVH CONFIG_VIRTIO_VSOCKETS CONFIG_CGROUP_FREEZER; do
	[ "${want[$sym]-}" = y ] || errors+=("$sym is not requested =y by any fragment")
done
if [ ${#errors[@]} -eq 0 ] && [ ${#want[@]} -gt 100 ]; then
	ok "fragments parse, agree, and request what init and the agent need (${#want[@]} options)"
else
	not_ok "fragments parse, agree, and request what init and the agent need"
	printf '# %s\n' "${errors[@]}"
fi

# 2: whitelist lines carry a reason.
bad_wl=$(grep -vE '^[[:space:]]*(#.*)?$' "$configs/whitelist.conf" 2>/dev/null | grep -vE '^CONFIG_[A-Za-z0-9_]+[[:space:]]+[^[:space:]]' || true)
check "whitelist.conf: every entry names a symbol and a reason" test -z "$bad_wl"

if [ "$have_source" = 0 ]; then
	for _ in 3 4 5 6 7 8; do skip "linux-source-6.1 not installed (key needs the tarball)"; done
else
	cp -r "$configs" "$tmp/configs"
	key() { KATA_CACHE_DIR=$tmp/cache "$build" --key-only --configs "$tmp/configs"; }
	k0=$(key)
	check "--key-only prints a sha256 key" test "${#k0}" = 64
	k0b=$(key)
	check "the key is stable across runs" test "$k0" = "$k0b"
	k_repo=$("$build" --key-only)
	check "a copy of the fragments gives the same key as the originals" test "$k0" = "$k_repo"

	sed -i 's/^CONFIG_NR_CPUS=.*/CONFIG_NR_CPUS=32/' "$tmp/configs/base.conf"
	k1=$(key)
	check "changing a fragment value changes the key" test "$k1" != "$k0"

	echo 'CONFIG_ACPI_FOO  test entry' >>"$tmp/configs/whitelist.conf"
	echo 'CONFIG_DUMMY_TEST=y' >"$tmp/configs/extra.conf"
	k2=$(key)
	check "adding a fragment or whitelist entry changes the key" test "$k2" != "$k1"

	if KATA_CACHE_DIR=$tmp/cache "$build" --print-config-path --configs "$tmp/configs" >/dev/null 2>&1; then
		not_ok "--print-config-path fails for a key that was never built"
	else
		ok "--print-config-path fails for a key that was never built"
	fi
fi

# The built kernel of the current key.
if config=$("$build" --print-config-path 2>/dev/null); then
	declare -A have=()
	while IFS= read -r line; do
		[[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] && have[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	done <"$config"
	declare -A allowed=()
	while read -r sym _; do
		[[ "$sym" == CONFIG_* ]] && allowed[$sym]=1
	done <"$configs/whitelist.conf"
	for f in "${fragments[@]}"; do
		missing=()
		count=0
		while IFS= read -r line || [ -n "$line" ]; do
			if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.+)$ ]]; then
				sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
				count=$((count + 1))
				[ "${have[$sym]-}" = "$val" ] && continue
				[ -z "${have[$sym]-}" ] && [ -n "${allowed[$sym]+x}" ] && continue
				missing+=("$sym=$val (got ${have[$sym]:-not set})")
			elif [[ "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
				sym=${BASH_REMATCH[1]}
				count=$((count + 1))
				[ -z "${have[$sym]-}" ] || missing+=("$sym not set (got ${have[$sym]})")
			fi
		done <"$f"
		if [ ${#missing[@]} -eq 0 ]; then
			ok "built .config honours $(basename "$f") ($count options)"
		else
			not_ok "built .config honours $(basename "$f")"
			printf '#   %s\n' "${missing[@]}"
		fi
	done
	# build.sh's verifier must catch a flipped option and name it.
	sed 's/^CONFIG_ACPI_BUTTON=y$/# CONFIG_ACPI_BUTTON is not set/' "$config" >"$tmp/tampered.config"
	out=$("$build" --verify-config "$tmp/tampered.config" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'CONFIG_ACPI_BUTTON requested y' <<<"$out" &&
		"$build" --verify-config "$config" >/dev/null 2>&1; then
		ok "build.sh --verify-config accepts the built .config and names a flipped option"
	else
		not_ok "build.sh --verify-config accepts the built .config and names a flipped option"
		printf '# %s\n' "$out" | head -5
	fi
else
	for f in "${fragments[@]}"; do skip "guest kernel not built for the current key ($(basename "$f"))"; done
	skip "guest kernel not built for the current key (verifier check)"
fi
