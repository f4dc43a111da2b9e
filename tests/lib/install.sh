#!/bin/bash
# `meson install` works and the installed library is usable: install into a
# scratch DESTDIR, then build a program against it with pkg-config only
# (the public header, the shared library, its version script) and run it.
# Usage: install.sh <build dir> [sanitizers the library was built with]
set -euo pipefail

build=$1
san=${2:-none}
# shellcheck source-path=SCRIPTDIR source=scratch-install.sh
. "$(dirname "$0")/scratch-install.sh"

# The library exports exactly the functions the installed header declares.
hdr=$(find "$dest" -name gmem.h | head -n 1)
declared=$(cc -E -P "$hdr" | grep -oE '\bgmem_[a-z0-9_]+ *\(' | tr -d '( ' | sort -u)
exported=$(nm -D --defined-only "$libdir/libgmem.so" | awk '$2 == "T" { print $3 }' |
	sed 's/@.*//' | sort -u)
if [ "$declared" != "$exported" ]; then
	echo "FAIL: exported functions differ from the header's (< header, > library):"
	diff <(echo "$declared") <(echo "$exported") | grep '^[<>]'
	exit 1
fi

cat > "$dest/use.c" <<'C'
#include <gmem.h>
#include <stdio.h>

int main(void)
{
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint64_t attrs, run;
	char in[8] = "gmem", out[8] = "";
	struct gmem_region r = { .slot = 0, .gpa = 1 << 20, .size = 1 << 16 };

	if (gmem_vm_create(NULL, &vm) ||
	    gmem_create(vm, 1 << 16, GMEM_FLAG_INIT_SHARED, &f))
		return 1;
	r.file = f;
	if (gmem_vm_set_region(vm, &r) || gmem_vm_write(vm, 1 << 20, in, 5, NULL) ||
	    gmem_vm_read(vm, 1 << 20, out, 5, NULL) ||
	    gmem_set_attributes(f, 0, 4096, GMEM_ATTR_PRIVATE,
				GMEM_CONVERT_PRESERVE, NULL) ||
	    gmem_get_attributes(f, 0, &attrs, &run) ||
	    attrs != GMEM_ATTR_PRIVATE || run != 4096)
		return 1;
	gmem_vm_put(vm);
	printf("%s\n", out);
	return gmem_close(f);
}
C
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Werror "${sanflags[@]}" -o "$dest/use" "$dest/use.c" \
	$(pkg-config --cflags --libs libgmem) -Wl,-rpath,"$libdir"
out=$("$dest/use")
[ "$out" = gmem ] || { echo "FAIL: program built against the install printed '$out'"; exit 1; }
echo "installed under $prefix, built with pkg-config, ran: ok"
