#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the three renderings of a memory map (docs/map.md).

  check_map.py fixture DIR   DIR holds map-fixture's output: map.txt,
                             map-color.txt, map.json and map.svg must agree
                             with truth.json, read from the library with
                             gmem_get_run() (maximal runs, not split at
                             memslots: the split is redone here).
  check_map.py cli JSON TXT COLOR_TXT SVG
                             gmem map's outputs: the JSON must be
                             consistent in itself (runs tile each file,
                             totals add up, memslots slice the runs), and
                             the text and the SVG must agree with it.
Both ways, each file's huge-page levels (gmem_get_level, merged) must be
what its runs' attributes make of every 2 MiB and 1 GiB region.
Exit 0 when everything agrees, 1 with one line saying what does not.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

PRIVATE, PINNED, POPULATED, RESIDENT = 1 << 3, 1 << 4, 1 << 5, 1 << 6
UNITS = {"B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40, "PiB": 50,
         "EiB": 60}
EXACT_MAX = 100000       # memmap_size(): exact below this many units
BAR_CELLS, X0, BAR_W = 64, 30.0, 940.0
SVG = "{http://www.w3.org/2000/svg}"


class Mismatch(Exception):
    pass


def want(cond, what):
    if not cond:
        raise Mismatch(what)


class Rounded:
    """A size memmap_size() printed with two decimals, rounded down: equal
    to the byte counts that print so."""

    def __init__(self, text):
        self.text = text
        n, unit = text.split()
        self.whole, self.cents = (int(x) for x in n.split("."))
        self.shift = UNITS[unit]

    def __eq__(self, v):
        if not isinstance(v, int):
            return NotImplemented
        div = 0
        while div < self.shift and not v & ((1 << (div + 10)) - 1):
            div += 10
        return (v >> self.shift == self.whole and
                (v & ((1 << self.shift) - 1)) * 100 >> self.shift ==
                self.cents and div < self.shift and v >> div >= EXACT_MAX)

    def __repr__(self):
        return self.text


def size_of(text):
    n, unit = text.split()
    if "." in n:
        return Rounded(text)
    return int(n) << UNITS[unit]


def state(run):
    words = ["private" if run["flags"] & PRIVATE else "shared"]
    if not run["flags"] & PRIVATE and run["listeners"]:
        words.append("listener")
    if run["flags"] & PINNED:
        words.append("pinned")
    if run["flags"] & POPULATED:
        words.append("populated")
    if not run["flags"] & RESIDENT:
        words.append("unallocated")
    return " ".join(words)


def glyph(run):
    """The text bar's letter for a run (memmap-text.c's legend)."""
    f = run["flags"]
    if f & PRIVATE:
        g = "P"
    elif f & PINNED:
        return "#" if f & RESIDENT else "+"
    elif run["listeners"]:
        g = "L"
    else:
        g = "S"
    return g if f & RESIDENT else g.lower()


def totals(files, slots):
    t = dict.fromkeys(["guest", "shared", "private", "listener_mapped",
                       "pinned", "unallocated", "populated", "unmapped",
                       "plain", "closed", "runs"], 0)
    for f in files:
        t["guest"] += f["size"]
        t["runs"] += len(f["runs"])
        for r in f["runs"]:
            n, fl = r["len"], r["flags"]
            t["private" if fl & PRIVATE else "shared"] += n
            if not fl & PRIVATE and r["listeners"]:
                t["listener_mapped"] += n
            t["pinned"] += n if fl & PINNED else 0
            t["populated"] += n if fl & POPULATED else 0
            t["unallocated"] += 0 if fl & RESIDENT else n
            t["unmapped"] += n if r["gpa"] is None else 0
    for s in slots:
        if s["kind"] in ("plain", "closed"):
            t[s["kind"]] += s["size"]
    return t


R2, R1G = 2 << 20, 1 << 30
LGLYPH = {"1G": "G", "2M": "H", "mixed": "m", "small": "."}


def levels_of(size, runs):
    """A file's level runs, worked out from its runs' attributes alone."""
    def uniform(lo, hi):
        kinds = {bool(r["flags"] & PRIVATE) for r in runs
                 if r["offset"] < hi and r["offset"] + r["len"] > lo}
        return len(kinds) <= 1
    out = []
    for g in range(0, size, R1G):
        g_end = min(g + R1G, size)
        u1 = uniform(g, g_end)
        if u1 and g + R1G <= size:
            parts = [(g, g_end, "1G", False)]
        else:
            parts = [(r, min(r + R2, size),
                      "2M" if uniform(r, r + R2) and r + R2 <= size
                      else "4K", not uniform(r, r + R2))
                     for r in range(g, g_end, R2)]
        for lo, hi, lvl, m2 in parts:
            lv = dict(offset=lo, len=hi - lo, level=lvl, mixed_2m=m2,
                      mixed_1g=not u1)
            last = out[-1] if out else None
            if last and all(last[k] == lv[k] for k in
                            ("level", "mixed_2m", "mixed_1g")):
                last["len"] += lv["len"]
            else:
                out.append(lv)
    return out


def lclass(lv):
    if lv["level"] in ("1G", "2M"):
        return lv["level"]
    return "mixed" if lv["mixed_2m"] else "small"


def huge_totals(files):
    t = {"1g": 0, "2m": 0, "mixed_2m": 0}
    for f in files:
        for lv in f["levels"]:
            c = lclass(lv)
            key = {"1G": "1g", "2M": "2m", "mixed": "mixed_2m"}.get(c)
            if key:
                t[key] += lv["len"]
    return t


def from_truth(truth):
    """The expected model: truth's runs split where the memslot changes."""
    slots = []
    for s in sorted(truth["slots"], key=lambda s: s["gpa"]):
        kind = ("guest_memory" if s["file"] in (0, 1) else
                "plain" if s["file"] < 0 else "closed")
        slots.append(dict(slot=s["slot"], gpa=s["gpa"], size=s["size"],
                          kind=kind,
                          file=s["file"] if kind == "guest_memory" else None,
                          offset=s["offset"] if kind == "guest_memory"
                          else None))
    files = []
    for fi, f in enumerate(truth["files"]):
        cuts = {0, f["size"]}
        for s in slots:
            if s["file"] == fi:
                cuts |= {s["offset"], s["offset"] + s["size"]}
        runs = []
        for r in f["runs"]:
            a, e = r["offset"], r["offset"] + r["len"]
            for c in sorted(cuts | {a, e}):
                if a < c <= e:
                    runs.append(dict(r, offset=a, len=c - a))
                    a = c
        for r in runs:
            r["gpa"] = r["memslot"] = None
            for s in slots:
                if (s["file"] == fi and s["offset"] <= r["offset"] <
                        s["offset"] + s["size"]):
                    r["gpa"] = s["gpa"] + r["offset"] - s["offset"]
                    r["memslot"] = s["slot"]
        files.append(dict(size=f["size"], runs=runs,
                          levels=levels_of(f["size"], runs)))
    return dict(slots=slots, files=files, totals=totals(files, slots),
                huge=huge_totals(files))


def from_json(j):
    """The model gmem map printed, after checking it holds together."""
    files = []
    for fi, f in enumerate(j["files"]):
        want(f["file"] == fi, "files are not numbered in order")
        runs, at = [], 0
        for r in f["runs"]:
            want(r["offset"] == at and r["len"] > 0,
                 "file %d: runs do not tile it at %#x" % (fi, at))
            fl = ((PRIVATE if r["private"] else 0) |
                  (PINNED if r["pinned"] else 0) |
                  (POPULATED if r["populated"] else 0) |
                  (RESIDENT if r["resident"] else 0))
            runs.append(dict(offset=r["offset"], len=r["len"], flags=fl,
                             listeners=r["listeners"], gpa=r["gpa"],
                             memslot=r["memslot"]))
            at += r["len"]
        want(at == f["size"], "file %d: runs end at %#x" % (fi, at))
        files.append(dict(size=f["size"], runs=runs,
                          levels=levels_of(f["size"], runs)))
    slots = [dict((k, s[k]) for k in ("slot", "gpa", "size", "kind", "file",
                                      "offset")) for s in j["memslots"]]
    return dict(slots=slots, files=files, totals=totals(files, slots),
                huge=huge_totals(files))


def slot_runs(m, s):
    if s["file"] is None:
        return []
    return [r for r in m["files"][s["file"]]["runs"]
            if r["memslot"] == s["slot"]]


def check_json(j, m):
    want(j["vm"]["kind"] in ("detached", "kvm"), "vm kind")
    got = [dict((k, s[k]) for k in ("slot", "gpa", "size", "kind", "file",
                                    "offset")) for s in j["memslots"]]
    want(got == m["slots"], "memslots: %s != %s" % (got, m["slots"]))
    want(len(j["files"]) == len(m["files"]), "number of files")
    for fi, (jf, f) in enumerate(zip(j["files"], m["files"])):
        want(jf["size"] == f["size"], "file %d size" % fi)
        want(len(jf["runs"]) == len(f["runs"]),
             "file %d: %d runs, want %d" % (fi, len(jf["runs"]),
                                             len(f["runs"])))
        for jr, r in zip(jf["runs"], f["runs"]):
            exp = dict(gpa=r["gpa"], memslot=r["memslot"], offset=r["offset"],
                       len=r["len"], state=state(r),
                       private=bool(r["flags"] & PRIVATE),
                       pinned=bool(r["flags"] & PINNED),
                       populated=bool(r["flags"] & POPULATED),
                       resident=bool(r["flags"] & RESIDENT),
                       listeners=r["listeners"])
            want(jr == exp, "file %d run: %s != %s" % (fi, jr, exp))
        want(jf["levels"] == f["levels"], "file %d levels: %s != %s" %
             (fi, jf["levels"], f["levels"]))
    for js in j["memslots"]:
        if js["file"] is None:
            continue
        s = next(s for s in m["slots"] if s["slot"] == js["slot"])
        runs = j["files"][js["file"]]["runs"]
        part = runs[js["first_run"]:js["first_run"] + js["runs"]]
        want([r["offset"] for r in part] ==
             [r["offset"] for r in slot_runs(m, s)],
             "memslot %d: first_run/runs slice the wrong runs" % js["slot"])
    want(j["totals"] == m["totals"], "totals %s != %s" % (j["totals"],
                                                         m["totals"]))
    want(j["huge"] == m["huge"], "huge %s != %s" % (j["huge"], m["huge"]))


SIZE = r"([\d.]+ \w+)"   # memmap_size(): "12 MiB", "7.99 EiB"
RUN_RE = re.compile(r"^  (?:\[0x([0-9a-f]+), 0x([0-9a-f]+)\)|\(no memslot\) +)"
                    r" file (\d+) \+0x([0-9a-f]+) +" + SIZE + r"  (.*?)"
                    r"(?: \((\d+) listeners?\))?$")
SLOT_RE = re.compile(r"^  slot (\d+) +\[0x([0-9a-f]+), 0x([0-9a-f]+)\) +" +
                     SIZE + r"  \|(.{64})\| (.*)$")
FILE_RE = re.compile(r"^  file (\d+) +\[0x0+, 0x([0-9a-f]+)\) +" + SIZE +
                     r"  \|(.{64})\| in (.*)$")
TOTALS_RE = re.compile(r"^totals: " + SIZE + r" guest memory: " + SIZE +
                       r" shared, " + SIZE + r" private; " + SIZE +
                       r" listener-mapped, " + SIZE + r" pinned; " + SIZE +
                       r" unallocated$")
MORE_RE = re.compile(r"^        " + SIZE + r" populated, " + SIZE +
                     r" in no memslot, " + SIZE + r" plain memory, " + SIZE +
                     r" of closed files$")


LEVEL_RE = re.compile(r"^  file (\d+) +\[0x0+, 0x([0-9a-f]+)\) +" + SIZE +
                      r"  \|(.{64})\|$")
HUGE_RE = re.compile(r"^huge: " + SIZE + r" in 1 GiB pages, " + SIZE +
                     r" in 2 MiB pages, " + SIZE + r" in mixed 2 MiB regions$")


def check_bar(bar, runs, base, size, what, glyph=glyph):
    """Each cell shows a kind present in it; every kind shows somewhere."""
    want(set(bar) == {glyph(r) for r in runs},
         "%s: bar kinds %s, runs %s" % (what, sorted(set(bar)),
                                        sorted({glyph(r) for r in runs})))
    for c, g in enumerate(bar):
        lo, hi = size * c // BAR_CELLS, size * (c + 1) // BAR_CELLS
        inside = [r for r in runs if r["at"] - base < hi and
                  r["at"] - base + r["len"] > lo]
        want(g in {glyph(r) for r in inside},
             "%s: cell %d shows %r, no such run there" % (what, c, g))
        if len(inside) == 1:
            want(g == glyph(inside[0]), "%s: cell %d" % (what, c))


def check_text(txt, color, m, complete=True):
    want("\x1b" not in txt, "escape codes in the text without colour")
    want("\x1b[" in color, "no escape codes with colour")
    want(re.sub(r"\x1b\[[0-9;]*m", "", color) == txt,
         "the coloured text differs from the plain one beyond colour")
    lines = txt.splitlines()
    slots = [SLOT_RE.match(l) for l in lines if SLOT_RE.match(l)]
    want(len(slots) == len(m["slots"]), "%d bars for %d memslots" %
         (len(slots), len(m["slots"])))
    for g, s in zip(slots, m["slots"]):
        want((int(g[1]), int(g[2], 16), int(g[3], 16), size_of(g[4])) ==
             (s["slot"], s["gpa"], s["gpa"] + s["size"], s["size"]),
             "bar of memslot %d: %s" % (s["slot"], g[0]))
        if s["kind"] != "guest_memory":
            want(g[5] == ("-" if s["kind"] == "plain" else "x") * 64,
                 "bar of %s memslot %d" % (s["kind"], s["slot"]))
            continue
        runs = [dict(r, at=r["gpa"]) for r in slot_runs(m, s)]
        check_bar(g[5], runs, s["gpa"], s["size"], "memslot %d" % s["slot"])
    files = [FILE_RE.match(l) for l in lines if FILE_RE.match(l)]
    partial = [fi for fi, f in enumerate(m["files"])
               if sum(1 for s in m["slots"] if s["file"] == fi) != 1 or
               any(r["gpa"] is None for r in f["runs"]) or
               next(s for s in m["slots"] if s["file"] == fi)["offset"]]
    want([int(g[1]) for g in files] == partial,
         "by-file bars for %s, want %s" % ([g[1] for g in files], partial))
    for g in files:
        f = m["files"][int(g[1])]
        check_bar(g[4], [dict(r, at=r["offset"]) for r in f["runs"]], 0,
                  f["size"], "file %s" % g[1])
    t = next(TOTALS_RE.match(l) for l in lines if TOTALS_RE.match(l))
    tt = m["totals"]
    want([size_of(x) for x in t.groups()] ==
         [tt["guest"], tt["shared"], tt["private"], tt["listener_mapped"],
          tt["pinned"], tt["unallocated"]], "totals line: %s" % t[0])
    more = [MORE_RE.match(l) for l in lines if MORE_RE.match(l)]
    if tt["populated"] or tt["unmapped"] or tt["plain"] or tt["closed"]:
        want(more and [size_of(x) for x in more[0].groups()] ==
             [tt["populated"], tt["unmapped"], tt["plain"], tt["closed"]],
             "second totals line")
    # The runs: by memslot in gpa order, then those in no memslot.
    order = [(s["file"], r) for s in m["slots"] for r in slot_runs(m, s)]
    order += [(fi, r) for fi, f in enumerate(m["files"]) for r in f["runs"]
              if r["gpa"] is None]
    got = [RUN_RE.match(l) for l in lines if RUN_RE.match(l)]
    want(len(got) == min(len(order), 48), "%d run lines for %d runs" %
         (len(got), len(order)))
    for g, (fi, r) in zip(got, order):
        exp = (None if r["gpa"] is None else r["gpa"],
               None if r["gpa"] is None else r["gpa"] + r["len"],
               fi, r["offset"], r["len"], state(r), r["listeners"])
        gotv = (None if g[1] is None else int(g[1], 16),
                None if g[2] is None else int(g[2], 16), int(g[3]),
                int(g[4], 16), size_of(g[5]), g[6], int(g[7] or 0))
        want(gotv == exp, "run line %r, want %s" % (g[0], exp))
    if len(order) > 48:
        want("  ... %d more (--json lists every run)" % (len(order) - 48)
             in lines, "no line saying how many runs are not listed")
    # Huge pages: a bar per file by offset, then the bytes of each kind.
    lbars = [LEVEL_RE.match(l) for l in lines if LEVEL_RE.match(l)]
    want([int(g[1]) for g in lbars] == list(range(len(m["files"]))),
         "huge-page bars for files %s" % [g[1] for g in lbars])
    for g in lbars:
        f = m["files"][int(g[1])]
        check_bar(g[4], [dict(lv, at=lv["offset"]) for lv in f["levels"]],
                  0, f["size"], "huge pages of file %s" % g[1],
                  lambda lv: LGLYPH[lclass(lv)])
    h = [HUGE_RE.match(l) for l in lines if HUGE_RE.match(l)]
    if m["files"]:
        want(h and [size_of(x) for x in h[0].groups()] ==
             [m["huge"]["1g"], m["huge"]["2m"], m["huge"]["mixed_2m"]],
             "huge line, want %s" % m["huge"])
    for w in ("legend:", "shared, held by a listener", "shared, pinned",
              "private", "no memory allocated"):
        want(w in txt, "the legend lacks %r" % w)


def check_band(g, runs, base, size, by_gpa, what):
    rects = [r for r in g.iter(SVG + "rect")
             if r.get("class") in ("run", "run agg")]
    key = "data-gpa" if by_gpa else "data-offset"
    at, i = base, 0
    for rc in sorted(rects, key=lambda r: float(r.get("x"))):
        start, n = int(rc.get(key), 16), int(rc.get("data-len"))
        k = int(rc.get("data-runs"))
        want(start == at, "%s: a rectangle starts at %#x, want %#x" %
             (what, start, at))
        x = X0 + BAR_W * (start - base) / size
        w = BAR_W * n / size
        want(abs(float(rc.get("x")) - x) < 0.01 and
             abs(float(rc.get("width")) - w) < 0.02,
             "%s: rectangle at %#x is not where its gpa is" % (what, start))
        part = runs[i:i + k]
        want(len(part) == k and sum(r["len"] for r in part) == n,
             "%s: rectangle at %#x covers %d bytes and %d runs" %
             (what, start, n, k))
        r = part[0]
        want(int(rc.get("data-offset"), 16) == r["offset"],
             "%s: data-offset at %#x" % (what, start))
        gpa = rc.get("data-gpa")
        want(gpa == ("none" if r["gpa"] is None else "0x%x" % r["gpa"]),
             "%s: data-gpa %s" % (what, gpa))
        if k == 1:
            want(rc.get("class") == "run" and
                 rc.get("data-state") == state(r) and
                 int(rc.get("data-listeners")) == r["listeners"],
                 "%s: rectangle at %#x says %s, want %s" %
                 (what, start, rc.get("data-state"), state(r)))
        else:
            want(rc.get("class") == "run agg" and
                 all(BAR_W * p["len"] / size < 1 for p in part),
                 "%s: runs of a pixel or more drawn together at %#x" %
                 (what, start))
        at += n
        i += k
    want(at == base + size and i == len(runs),
         "%s: rectangles end at %#x after %d of %d runs" %
         (what, at, i, len(runs)))
    # Boundary labels: each names a run start; the rest are counted.
    starts = {r["gpa" if by_gpa else "offset"] for r in runs[1:]}
    labels = [t for t in g.iter(SVG + "text") if t.get("class") == "boundary"]
    for t in labels:
        v = int(t.get(key), 16)
        want(v in starts and int(t.text.lstrip("+"), 16) == v,
             "%s: label %r at %#x" % (what, t.text, v))
    xs = sorted(float(re.match(r"translate\(([0-9.]+),", t.get("transform"))[1])
                for t in labels)
    want(all(b - a >= 10.9 for a, b in zip(xs, xs[1:])),
         "%s: boundary labels overprint" % what)
    notes = [t for t in g.iter(SVG + "text") if t.get("class") == "note"]
    unl = int(notes[0].get("data-unlabelled")) if notes else 0
    want(len(labels) + unl == len(runs) - 1 and
         len({t.get(key) for t in labels}) == len(labels),
         "%s: %d labels + %d unlabelled for %d boundaries" %
         (what, len(labels), unl, len(runs) - 1))


def check_levels_svg(g, f, off0, size, what):
    """The strip under a bar: the file's levels over [off0, off0+size)."""
    want_l = []
    for lv in f["levels"]:
        lo = max(lv["offset"], off0)
        hi = min(lv["offset"] + lv["len"], off0 + size)
        if lo < hi:
            mixed = ("2m" if lv["mixed_2m"] else
                     "1g" if lv["mixed_1g"] else "no")
            want_l.append((lo, hi - lo, lv["level"], mixed))
    got = [(int(r.get("data-offset"), 16), int(r.get("data-len")),
            r.get("data-level"), r.get("data-mixed"))
           for r in g.iter(SVG + "rect") if r.get("class") == "level"]
    want(got == want_l, "%s: level strip %s, want %s" % (what, got, want_l))
    for r in g.iter(SVG + "rect"):
        if r.get("class") != "level":
            continue
        x = X0 + BAR_W * (int(r.get("data-offset"), 16) - off0) / size
        want(abs(float(r.get("x")) - x) < 0.01,
             "%s: level rectangle not at its offset" % what)


def check_svg(path, m, title=None):
    root = ET.parse(path).getroot()
    texts = [t.text for t in root.iter(SVG + "text")]
    if title:
        want(texts[0] == title, "SVG title %r, want %r" % (texts[0], title))
    want(any(t and "legend" not in t and "no memory allocated" in t
             for t in texts), "SVG legend")
    bands = [g for g in root.iter(SVG + "g") if g.get("class") == "band"]
    slot_bands = [g for g in bands if g.get("data-kind") == "memslot"]
    want([int(g.get("data-slot")) for g in slot_bands] ==
         [s["slot"] for s in m["slots"]], "SVG memslot bands")
    for g, s in zip(slot_bands, m["slots"]):
        want(int(g.get("data-base"), 16) == s["gpa"] and
             int(g.get("data-size")) == s["size"], "band of memslot %d" %
             s["slot"])
        if s["kind"] != "guest_memory":
            rc = [r for r in g.iter(SVG + "rect") if r.get("class") == "run"]
            want(len(rc) == 1 and rc[0].get("data-state") == s["kind"],
                 "band of %s memslot %d" % (s["kind"], s["slot"]))
            continue
        check_band(g, slot_runs(m, s), s["gpa"], s["size"], True,
                   "SVG memslot %d" % s["slot"])
        check_levels_svg(g, m["files"][s["file"]], s["offset"], s["size"],
                         "SVG memslot %d" % s["slot"])
    for g in bands:
        if g.get("data-kind") != "file":
            continue
        f = m["files"][int(g.get("data-file"))]
        check_band(g, f["runs"], 0, f["size"], False,
                   "SVG file %s" % g.get("data-file"))
        check_levels_svg(g, f, 0, f["size"], "SVG file %s" % g.get("data-file"))
    return bands


def main():
    try:
        if sys.argv[1] == "fixture":
            d = sys.argv[2]
            m = from_truth(json.load(open(d + "/truth.json")))
            check_json(json.load(open(d + "/map.json")), m)
            check_text(open(d + "/map.txt").read(),
                       open(d + "/map-color.txt").read(), m)
            bands = check_svg(d + "/map.svg", m, "tests/map fixture <&>")
            want(sum(g.get("data-kind") == "file" for g in bands) == 1,
                 "SVG: one band by file (B), got another count")
            print("ok: text, JSON and SVG agree with gmem_get_run: "
                  "%d runs, %d memslots" % (m["totals"]["runs"],
                                            len(m["slots"])))
        else:
            j = json.load(open(sys.argv[2]))
            j = j.get("map", j)
            m = from_json(j)
            check_json(j, m)
            check_text(open(sys.argv[3]).read(), open(sys.argv[4]).read(), m)
            check_svg(sys.argv[5], m)
            print("ok: text and SVG agree with the JSON: %d runs" %
                  m["totals"]["runs"])
    except Mismatch as e:
        print("FAIL: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
