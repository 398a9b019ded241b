#!/usr/bin/env bash
# Builds the minimal guest kernel from kernel/configs/*.conf (x86_64), or for aarch64 from
# kernel/configs/arm64/*.conf plus the shared fragments its common.list names, cached outside
# the checkout under a key over everything that decides the result.
#
#   kernel/build.sh [--arch x86_64|aarch64] [--source DIR|TARBALL] [--out DIR] [--configs DIR]
#   kernel/build.sh --key-only            print the cache key and exit
#   kernel/build.sh --print-config-path   print the cached .config of the current key
#                                         (exit 1 if that kernel was never built)
#   kernel/build.sh --verify-config FILE  check FILE against the fragments, as a build does
#
# Outputs: OUT/vmlinux.container (ELF with a PVH entry, no symbol table) and OUT/vmlinuz.container (bzImage);
# aarch64: OUT/vmlinuz.container only (arch/arm64/boot/Image, what QEMU's -kernel boots on virt).
# Cache: ${KATA_CACHE_DIR:-/var/cache/kata-guest}/kernel/<key>/{vmlinux,bzImage,.config};
# aarch64 in kernel-arm64/<key>/{vmlinux,Image,.config}, so pruning one arch never drops the other.
set -euo pipefail

# Bump when the meaning of the fragments changes without their text changing (like
# Kata's kata_config_version); it is part of the cache key.
KERNEL_CONFIG_VERSION=1

self=$(readlink -f -- "${BASH_SOURCE[0]}")
here=$(dirname -- "$self")
root=$(dirname -- "$here")

source_arg=/usr/src/linux-source-6.1.tar.xz
out=$root/build
configs=
guest_arch=x86_64
mode=build
verify_file=

die() {
	echo "kernel/build.sh: $*" >&2
	exit 1
}

usage() {
	sed -n '2,15s/^# \{0,1\}//p' "$self"
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--source) [ $# -ge 2 ] || die "--source needs a directory or tarball"; source_arg=$2; shift 2 ;;
		--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
		--configs) [ $# -ge 2 ] || die "--configs needs a directory"; configs=$2; shift 2 ;;
		--arch) [ $# -ge 2 ] || die "--arch needs x86_64 or aarch64"; guest_arch=$2; shift 2 ;;
		--key-only) mode=key; shift ;;
		--print-config-path) mode=config-path; shift ;;
		--verify-config) [ $# -ge 2 ] || die "--verify-config needs a .config file"; mode=verify; verify_file=$2; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
	done
	set_arch
	[ -e "$source_arg" ] || die "kernel source $source_arg not found (install linux-source-6.1: scripts/install-deps.sh)"
	[ -d "$configs" ] || die "config fragment directory $configs not found"
	source_arg=$(readlink -f -- "$source_arg")
	configs=$(readlink -f -- "$configs")
	cache_root=${KATA_CACHE_DIR:-/var/cache/kata-guest}/$cache_dir
	# Fragments in a fixed order; whitelist.conf is not a fragment but is hashed too.
	mapfile -t fragments < <(find "$configs" -maxdepth 1 -type f -name '*.conf' ! -name whitelist.conf | LC_ALL=C sort)
	shared_fragments
	[ ${#fragments[@]} -gt 0 ] || die "no *.conf fragments in $configs"
	whitelist=$configs/whitelist.conf
}

# Kernel ARCH, toolchain prefix, image, make targets and cache directory of each guest arch.
set_arch() {
	case "$guest_arch" in
	x86_64)
		ARCH=x86_64 CROSS_COMPILE= image=bzImage image_path=arch/x86/boot/bzImage cache_dir=kernel
		outputs=("vmlinux:vmlinux.container" "bzImage:vmlinuz.container")
		configs=${configs:-$here/configs}
		;;
	aarch64 | arm64)
		guest_arch=aarch64
		ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- image=Image image_path=arch/arm64/boot/Image cache_dir=kernel-arm64
		outputs=("Image:vmlinuz.container")
		configs=${configs:-$here/configs/arm64}
		;;
	*) die "unknown --arch $guest_arch (x86_64 or aarch64)" ;;
	esac
	export ARCH CROSS_COMPILE
}

# common.list in an arch's fragment directory names fragments of the directory above it that
# the arch shares; each is merged (and hashed) like its own, after them.
shared_fragments() {
	local list=$configs/common.list line f
	[ -f "$list" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		[[ "$line" =~ ^[[:space:]]*(#.*)?$ ]] && continue
		f=$(dirname -- "$configs")/$line
		[ -f "$f" ] || die "common.list names $line, but $f does not exist"
		fragments+=("$f")
	done <"$list"
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
	echo "gcc $("${CROSS_COMPILE}gcc" --version | sha256sum | cut -d' ' -f1) $("${CROSS_COMPILE}gcc" --version | head -n1)"
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
	for pair in "${outputs[@]}"; do
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
	for pair in "${outputs[@]}"; do
		echo "kernel: $out/${pair#*:} ($(stat -c %s "$out/${pair#*:}") B)"
	done
}

have_entry() {
	[ -f "$entry/vmlinux" ] && [ -f "$entry/$image" ] && [ -f "$entry/.config" ]
}

build_into_cache() {
	local start work src obj log staging tool
	for tool in make "${CROSS_COMPILE}gcc" flex bison bc; do
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

	make -C "$src" O="$obj" -j"$(nproc)" "$image" vmlinux >>"$log" 2>&1 || build_failed "$log" "$work" "kernel build failed"

	# Publish atomically: readers see either no entry or a complete one.
	staging=$cache_root/.tmp-$key.$$
	mkdir -p "$staging"
	cp "$obj/vmlinux" "$staging/vmlinux"
	cp "$obj/$image_path" "$staging/$image"
	cp "$obj/.config" "$staging/.config"
	printf '%s\n' "$inputs" >"$staging/key-inputs"
	chmod 0444 "$staging/vmlinux" "$staging/$image" "$staging/.config" "$staging/key-inputs"
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
