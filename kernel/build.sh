#!/usr/bin/env bash
# Builds the minimal x86_64 guest kernel from kernel/configs/*.conf, cached outside the
# checkout under a key over everything that decides the result.
#
#   kernel/build.sh [--source DIR|TARBALL] [--out DIR] [--configs DIR]
#   kernel/build.sh --key-only            print the cache key and exit
#   kernel/build.sh --print-config-path   print the cached .config of the current key
#                                         (exit 1 if that kernel was never built)
#   kernel/build.sh --verify-config FILE  check FILE against the fragments, as a build does
#
# Outputs: OUT/vmlinux.container (ELF with a PVH entry, no symbol table) and OUT/vmlinuz.container (bzImage).
# Cache: ${KATA_CACHE_DIR:-/var/cache/kata-guest}/kernel/<key>/{vmlinux,bzImage,.config}.
set -euo pipefail

# Bump when the meaning of the fragments changes without their text changing (like
# Kata's kata_config_version); it is part of the cache key.
KERNEL_CONFIG_VERSION=1
ARCH=x86_64
export ARCH

self=$(readlink -f -- "${BASH_SOURCE[0]}")
here=$(dirname -- "$self")
root=$(dirname -- "$here")

source_arg=/usr/src/linux-source-6.1.tar.xz
out=$root/build
configs=$here/configs
mode=build
verify_file=

die() {
	echo "kernel/build.sh: $*" >&2
	exit 1
}

usage() {
	sed -n '2,12s/^# \{0,1\}//p' "$self"
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--source) [ $# -ge 2 ] || die "--source needs a directory or tarball"; source_arg=$2; shift 2 ;;
		--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
		--configs) [ $# -ge 2 ] || die "--configs needs a directory"; configs=$2; shift 2 ;;
		--key-only) mode=key; shift ;;
		--print-config-path) mode=config-path; shift ;;
		--verify-config) [ $# -ge 2 ] || die "--verify-config needs a .config file"; mode=verify; verify_file=$2; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
	done
	[ -e "$source_arg" ] || die "kernel source $source_arg not found (install linux-source-6.1: scripts/install-deps.sh)"
	[ -d "$configs" ] || die "config fragment directory $configs not found"
	source_arg=$(readlink -f -- "$source_arg")
	configs=$(readlink -f -- "$configs")
	cache_root=${KATA_CACHE_DIR:-/var/cache/kata-guest}/kernel
	# Fragments in a fixed order; whitelist.conf is not a fragment but is hashed too.
	mapfile -t fragments < <(find "$configs" -maxdepth 1 -type f -name '*.conf' ! -name whitelist.conf | LC_ALL=C sort)
	[ ${#fragments[@]} -gt 0 ] || die "no *.conf fragments in $configs"
	whitelist=$configs/whitelist.conf
}

source_identity() {
	if [ -f "$source_arg" ]; then
		echo "tarball sha256 $(sha256sum <"$source_arg" | cut -d' ' -f1)"
	elif [ -d "$source_arg/.git" ] && command -v git >/dev/null; then
		echo "git $(git -C "$source_arg" rev-parse HEAD) dirty $(git -C "$source_arg" status --porcelain | sha256sum | cut -d' ' -f1)"
	elif [ -d "$source_arg" ]; then
		[ -f "$source_arg/Makefile" ] || die "$source_arg is not a kernel source tree (no Makefile)"
		# No version control: name every source file with its size and mtime.
		echo "tree $(cd "$source_arg" && find . -type f -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1)"
	else
		die "$source_arg is neither a directory nor a tarball"
	fi
}

key_inputs() {
	echo "kernel-config-version $KERNEL_CONFIG_VERSION"
	echo "arch $ARCH"
	echo "source $(source_identity)"
	local f
	for f in "${fragments[@]}" "$whitelist"; do
		[ -f "$f" ] || continue
		echo "fragment $(basename -- "$f") $(sha256sum <"$f" | cut -d' ' -f1)"
	done
	echo "build.sh $(sha256sum <"$self" | cut -d' ' -f1)"
	echo "gcc $(gcc --version | sha256sum | cut -d' ' -f1) $(gcc --version | head -n1)"
}

# Requested value per symbol ("n" for "# CONFIG_X is not set"), and where it came from.
declare -A want=() want_from=() allowed_absent=()

parse_fragments() {
	local f line sym val conflicts=()
	for f in "${fragments[@]}"; do
		while IFS= read -r line || [ -n "$line" ]; do
			if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
				sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
			elif [[ "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
				sym=${BASH_REMATCH[1]} val=n
			elif [[ "$line" =~ ^[[:space:]]*(#.*)?$ ]]; then
				continue
			else
				die "$(basename -- "$f"): cannot parse line: $line"
			fi
			if [ -n "${want[$sym]+x}" ] && [ "${want[$sym]}" != "$val" ]; then
				conflicts+=("$sym: ${want_from[$sym]} wants ${want[$sym]}, $(basename -- "$f") wants $val")
			fi
			want[$sym]=$val
			want_from[$sym]=$(basename -- "$f")
		done <"$f"
	done
	if [ ${#conflicts[@]} -gt 0 ]; then
		printf '  %s\n' "${conflicts[@]}" >&2
		die "fragments disagree on ${#conflicts[@]} symbol(s)"
	fi
	[ -f "$whitelist" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		[[ "$line" =~ ^[[:space:]]*(#.*)?$ ]] && continue
		[[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)[[:space:]]+[^[:space:]] ]] ||
			die "whitelist.conf: each line needs a symbol and a reason: $line"
		allowed_absent[${BASH_REMATCH[1]}]=1
	done <"$whitelist"
}

# Every requested line must be in the final .config exactly. A symbol that is "not set"
# counts as n whether kconfig writes the comment or omits it (invisible symbol).
verify_config() {
	local config=$1 line sym w h bad=()
	declare -A have=()
	while IFS= read -r line; do
		[[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] && have[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	done <"$config"
	for sym in $(printf '%s\n' "${!want[@]}" | LC_ALL=C sort); do
		w=${want[$sym]} h=${have[$sym]-}
		if [ "$w" = n ]; then
			[ -z "$h" ] || [ "$h" = n ] || bad+=("$sym requested not set, got $h (${want_from[$sym]})")
		elif [ "$h" != "$w" ]; then
			if [ -z "$h" ] && [ -n "${allowed_absent[$sym]+x}" ]; then
				echo "kernel: $sym absent, allowed by whitelist.conf" >&2
				continue
			fi
			bad+=("$sym requested $w, got ${h:-<not set>} (${want_from[$sym]})")
		fi
	done
	if [ ${#bad[@]} -gt 0 ]; then
		echo "kernel: ${#bad[@]} requested option(s) are not in the final .config:" >&2
		printf '  %s\n' "${bad[@]}" >&2
		return 1
	fi
}

# Copies only when the content differs, so make sees stable timestamps on a cache hit.
install_outputs() {
	local pair src dst
	mkdir -p "$out"
	for pair in "vmlinux:vmlinux.container" "bzImage:vmlinuz.container"; do
		src=$entry/${pair%%:*} dst=$out/${pair#*:}
		# The booted vmlinux goes without its symbol table: QEMU reads and sorts the
		# symbols of an ELF kernel before it starts it (~50 ms here); the cache keeps
		# the full one.
		if [ "$pair" = vmlinux:vmlinux.container ]; then
			objcopy --strip-all "$src" "$dst.tmp.$$"
		else
			cp -f "$src" "$dst.tmp.$$"
		fi
		chmod 0644 "$dst.tmp.$$"
		if cmp -s "$dst.tmp.$$" "$dst" 2>/dev/null; then
			rm -f "$dst.tmp.$$"
		else
			mv -f "$dst.tmp.$$" "$dst"
		fi
	done
	echo "kernel: $out/vmlinux.container ($(stat -c %s "$out/vmlinux.container") B)," \
		"$out/vmlinuz.container ($(stat -c %s "$out/vmlinuz.container") B)"
}

have_entry() {
	[ -f "$entry/vmlinux" ] && [ -f "$entry/bzImage" ] && [ -f "$entry/.config" ]
}

build_into_cache() {
	local start work src obj log staging tool
	for tool in make gcc flex bison bc; do
		command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
	done
	start=$(date +%s)
	work=$cache_root/.work-$key
	rm -rf "$work" "$cache_root/.tmp-$key".*
	mkdir -p "$work/obj"
	if [ -f "$source_arg" ]; then
		mkdir -p "$work/src"
		tar -xf "$source_arg" -C "$work/src" --strip-components=1
		src=$work/src
	else
		src=$source_arg
	fi
	obj=$work/obj
	log=$work/build.log
	echo "kernel: source ready after $(($(date +%s) - start)) s; log in $log"

	# Fixed identity so the same inputs give the same image.
	export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 1970"
	export KBUILD_BUILD_USER=kata KBUILD_BUILD_HOST=kata-guest KBUILD_BUILD_VERSION=1

	# allnoconfig base + every fragment (-n), listing redundant entries (-r); out of tree
	# so a --source directory stays clean.
	(cd "$src" && scripts/kconfig/merge_config.sh -n -r -O "$obj" "${fragments[@]}") >"$log" 2>&1 ||
		build_failed "$log" "$work" "merge_config.sh failed"
	make -C "$src" O="$obj" olddefconfig >>"$log" 2>&1 || build_failed "$log" "$work" "make olddefconfig failed"
	verify_config "$obj/.config" || die "config fragments not honoured by this kernel source (work dir $work kept)"
	echo "kernel: .config verified (${#want[@]} requested options); compiling with $(nproc) jobs"

	make -C "$src" O="$obj" -j"$(nproc)" bzImage vmlinux >>"$log" 2>&1 || build_failed "$log" "$work" "kernel build failed"

	# Publish atomically: readers see either no entry or a complete one.
	staging=$cache_root/.tmp-$key.$$
	mkdir -p "$staging"
	cp "$obj/vmlinux" "$staging/vmlinux"
	cp "$obj/arch/x86/boot/bzImage" "$staging/bzImage"
	cp "$obj/.config" "$staging/.config"
	printf '%s\n' "$inputs" >"$staging/key-inputs"
	chmod 0444 "$staging/vmlinux" "$staging/bzImage" "$staging/.config" "$staging/key-inputs"
	rm -rf "$entry"
	mv -T "$staging" "$entry"
	rm -rf "$work"
	echo "kernel: built in $(($(date +%s) - start)) s, stored in $entry"
}

build_failed() {
	tail -n 40 "$1" >&2 || true
	die "$3 (full log: $1; work dir $2 kept for inspection)"
}

main() {
	parse_args "$@"
	inputs=$(key_inputs)
	key=$(printf '%s\n' "$inputs" | sha256sum | cut -d' ' -f1)
	entry=$cache_root/$key

	case "$mode" in
	key)
		echo "$key"
		return 0
		;;
	config-path)
		[ -f "$entry/.config" ] || die "kernel for key $key is not built (run kernel/build.sh)"
		echo "$entry/.config"
		return 0
		;;
	verify)
		[ -f "$verify_file" ] || die "$verify_file not found"
		parse_fragments
		verify_config "$verify_file" || die "$verify_file does not match the fragments in $configs"
		echo "kernel: $verify_file matches all ${#want[@]} requested options"
		return 0
		;;
	esac

	echo "kernel: cache key $key"
	if have_entry; then
		echo "kernel: cache hit ($entry)"
		install_outputs
		return 0
	fi
	parse_fragments
	mkdir -p "$cache_root"
	# One builder per key: a second caller waits here, then finds the entry.
	exec 9>"$cache_root/.lock-$key"
	flock 9
	if have_entry; then
		echo "kernel: cache hit after waiting for another build ($entry)"
	else
		echo "kernel: cache miss, building from $source_arg"
		build_into_cache
	fi
	install_outputs
}

# Everything above is definitions; bash has parsed the whole file before anything runs,
# so editing this script during a long build cannot derail it.
main "$@"
