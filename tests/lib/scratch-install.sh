# shellcheck shell=bash disable=SC2034,SC2154 # shared with the sourcing script
# Sourced by install.sh and tests/examples/installed.sh with $build (the
# build dir) and $san (its sanitizers, or none) set: `meson install` into a
# scratch DESTDIR removed on exit, and pkg-config pointed at it. Sets
# $dest, $pc (libgmem.pc), $prefix (as the .pc says it, without DESTDIR),
# $libdir (the installed lib dir, with DESTDIR) and $sanflags (cc flags).
sanflags=()
[ "$san" = none ] || sanflags=(-fsanitize="$san")
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

DESTDIR=$dest meson install -C "$build" --quiet --no-rebuild >/dev/null
pc=$(find "$dest" -name libgmem.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no libgmem.pc installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
libdir=$(dirname "$(dirname "$pc")")
