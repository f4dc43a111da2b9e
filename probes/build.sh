#!/bin/sh
# build one probe: probes/build.sh NAME [extra sources]
cd "$(dirname "$0")/.." || exit 1
n=$1; shift
nice -n 19 gcc -std=gnu11 -g -Wall -O1 -Wno-misleading-indentation -Iinclude -Ivhost -Itests/vhost -Itests -o build/probe-$n probes/$n.c "$@" -Lbuild/lib build/vhost/libgmemvu.a -lgmem -lpthread -Wl,-rpath,$PWD/build/lib:$PWD/build/vhost
