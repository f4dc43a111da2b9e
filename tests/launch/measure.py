#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The launch digest of docs/launch.md, written from that page alone:
# measure.py IMAGE GPA prints the digest of IMAGE populated as NORMAL
# pages from GPA (the last page zero-padded).
import hashlib
import sys

PAGE = 4096
NORMAL = 1


def digest(data, gpa):
    d = bytes(32)
    for i in range(0, len(data), PAGE):
        page = data[i:i + PAGE].ljust(PAGE, b"\0")
        rec = d + (gpa + i).to_bytes(8, "little") + bytes([NORMAL]) + \
            hashlib.sha256(page).digest()
        d = hashlib.sha256(rec).digest()
    return d.hex()


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        print(digest(f.read(), int(sys.argv[2], 0)))
