#!/bin/bash
# examples/*.c build against the installed library with pkg-config alone
# (installed as for tests/lib/install.sh, by the same scratch-install.sh)
# and boot the installed example guest: check-vmm.sh runs what they built.
# Usage: installed.sh <build dir> <examples dir> <guests dir> <sanitizers>
#	<check-vmm.sh>
set -euo pipefail

build=$1 src=$2 guests=$3 san=$4 check=$5
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm"
	exit 77
fi
# shellcheck source-path=SCRIPTDIR source=../lib/scratch-install.sh
. "$(dirname "$0")/../lib/scratch-install.sh"
prefix=$dest$prefix
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
