#!/bin/bash
# examples/*.c build against the installed library with pkg-config alone
# (as tests/lib/install.sh does for a small program) and boot the installed
# example guest: check-vmm.sh runs what they built.
# Usage: installed.sh <build dir> <examples dir> <guests dir> <sanitizers>
#	<check-vmm.sh>
set -euo pipefail

build=$1 src=$2 guests=$3 san=$4 check=$5
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm"
	exit 77
fi
sanflags=()
[ "$san" = none ] || sanflags=(-fsanitize="$san")
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

DESTDIR=$dest meson install -C "$build" --quiet --no-rebuild >/dev/null
pc=$(find "$dest" -name libgmem.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no libgmem.pc installed"; exit 1; }
prefix=$dest$(sed -n 's/^prefix=//p' "$pc")
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
libdir=$(dirname "$(dirname "$pc")")
export LD_LIBRARY_PATH=$libdir	# for the installed gmem as well

# Only the guest ABI comes from the source tree (it is the guest's
# contract, not installed); everything else from the installed prefix.
for c in "$src"/*.c; do
	exe=$dest/$(basename "$c" .c)
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror -pthread "${sanflags[@]}" \
		-I "$guests" -o "$exe" "$c" $(pkg-config --cflags --libs libgmem)
	echo "built $(basename "$exe") against $prefix with pkg-config"
done
"$check" "$dest/minimal-vmm" "$prefix/share/gmem/gmem-example-guest.bin" \
	"$prefix/bin/gmem"
