#!/bin/bash
# SPDX-License-Identifier: MIT
# `gmem bench` end to end, every part once: each group of level-1 rows
# (run through --filter, so each is measured once) and the runner part,
# with --quick --json parsed back (every field there, every number
# positive; never a speed: no timing thresholds, the marks are not
# checked), the runner's groups each through its own --filter (nothing
# else measured, every new row beside its competitor, the scaling series
# and charts), the text table, the scaling charts, no progress line when
# stderr is not a terminal, the no-KVM path and every bad option.
# The level-1 part runs detached without /dev/kvm; only the runner part
# needs KVM, and only that part is skipped without it.
# Usage: test_bench.sh GMEM
set -u
gmem=$1
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"
# level 1's files on KVM: guest_memfd where KVM offers it (not on PVM)
if [ -e /dev/kvm ]; then
	kvm=1 vm=KVM
	backing=$("$gmem" host --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["backing"])') ||
		fail "gmem host --json"
else
	kvm=0 vm=detached backing=memfd
fi

# check_json FILE BACKING FILTER PART...: the parts that ran, the fields,
# positive numbers, the rows FILTER names and nothing else.
check_json() {
	python3 - "$@" <<'PY'
import fnmatch, json, math, sys
path, backing, filt, parts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
j = json.load(open(path))
assert j["backing"] == backing, j["backing"]
assert j["vm"] in ("kvm", "detached"), j["vm"]
assert j["quick"] is True, j
assert j["filter"] == filt, j["filter"]
def match(name):
    if any(c in filt for c in "*?["):
        return fnmatch.fnmatchcase(name, filt)
    return filt in name
for p in ("level1", "runner"):
    want = "ok" if p in parts else "not run"
    assert j["parts"][p]["state"] == want, j["parts"]
def positive(v, what):
    assert isinstance(v, (int, float)) and not isinstance(v, bool), what
    assert math.isfinite(v) and v > 0, (what, v)
names = set()
for r in j["results"]:
    for k in ("name", "part", "label", "value", "unit", "kernel", "ratio",
              "limit", "target", "met"):
        assert k in r, (k, r)
    assert r["part"] in parts, r
    assert match(r["name"]) or (r["kernel"] and match(r["kernel"]["name"])) \
        or any(match(k) for k in j["raw"][r["part"]]), r
    positive(r["value"], r["name"])
    if r["kernel"] is not None:
        positive(r["kernel"]["value"], r["kernel"]["name"])
        positive(r["ratio"], r["name"] + " ratio")
    if r["limit"] is not None:
        positive(r["limit"]["value"], r["limit"]["name"])
        assert r["limit"]["unit"] and r["limit"]["text"], r
    if r["target"] is not None:
        assert r["target"]["op"] in ("<", "<=", ">="), r
        positive(r["target"]["value"], r["name"] + " target")
        assert r["met"] in (True, False), r
    else:
        assert r["met"] is None, r
    names.add(r["name"])
# The rows each filter must bring, beside its competitor.
want = {
    "contig_": {"contig_1g_to_private_us", "contig_1g_to_shared_us"},
    "sparse_": {"sparse_1t_to_private_us", "sparse_1t_to_shared_us"},
    "alt_1g": {"alt_1g_conversions_per_s",
               "alt_1g_state_bytes"},
    "uniform_1t_state": {"uniform_1t_state_bytes"},
    "read_64b": {"read_64b_gmem_read_ns"},
    "alt_loaded": {"alt_loaded_conversions_per_s"},
    "conv_1g": {"conv_1g_preserve_us", "conv_1g_zero_us",
                "conv_1g_zero_vs_memset"},
    "conv_4k": {"conv_4k_preserve_us", "conv_4k_zero_us",
                "conv_4k_untouched_preserve_us",
                "conv_4k_untouched_zero_us"},
    "boot_": {"boot_64g_gmem_us", "boot_1t_gmem_us"},
    "slots_": {"slots_1_gmem_read_ns", "slots_64_gmem_read_ns",
               "slots_512_gmem_read_ns", "slots_1_loaded_gmem_read_ns",
               "slots_1_unfragmented_gmem_read_ns",
               "slots_64_loaded_gmem_read_ns",
               "slots_512_loaded_gmem_read_ns",
               "slots_loaded_gmem_conv_per_s"},
    "scale_": set(),
    "populate_": {"populate_mb_per_s"},
    "listen_": {"listen_1_1g_private_us", "listen_8_1g_private_us",
                "listen_1_1g_shared_us", "listen_8_1g_shared_us",
                "listen_1_alt_per_s", "listen_8_alt_per_s",
                "listen_1g_calls"},
    "snap_": {"snap_0_save_mb_per_s",
              "snap_50_save_mb_per_s", "snap_100_save_mb_per_s",
              "snap_0_restore_mb_per_s", "snap_0_restore_vs_fresh",
              "snap_50_restore_mb_per_s", "snap_50_restore_vs_fresh",
              "snap_100_restore_mb_per_s", "snap_100_restore_vs_fresh",
              "snap_0_size_over_pct", "snap_50_size_over_pct",
              "snap_100_size_over_pct"},
    "vm_start": {"vm_start_runner_us"},
    "conv_roundtrip": {"conv_roundtrip_us"},
    "vcpu": {"conv_1vcpu_per_s", "conv_2vcpu_per_s", "conv_4vcpu_per_s"},
    "guest_": {"guest_touch_gmem_ms", "guest_touch_gmem_vs_thp",
               "guest_write_gmem_mb_per_s", "guest_read_gmem_mb_per_s"},
    "vms_": {"vms_1_start_us", "vms_10_start_us", "vms_100_start_us",
             "vms_1_rss_kib", "vms_10_rss_kib", "vms_100_rss_kib"},
    "resume_": {"resume_64m_entry_us", "resume_64m_exit_us",
                "resume_256m_entry_us", "resume_256m_exit_us"},
    "migrate_": {"migrate_64m_downtime_ms", "migrate_256m_downtime_ms",
                 "migrate_1g_downtime_ms"},
}[filt]
assert want <= names, (filt, want - names)
# The runner's new rows each come beside their competitor (but the
# huge RAM rows' PMD counts, shown where shmem THP is on: a count of what
# the kernel mapped, no cost).
for r in j["results"]:
    if r["name"].endswith("_pmd_mib"):
        continue
    if r["part"] == "runner" and filt in ("vcpu", "guest_", "vms_",
                                          "resume_", "migrate_"):
        assert r["kernel"] is not None, r
        assert r["kernel"]["name"] in j["raw"]["runner"], r
# The runner measures only the groups the filter names.
if filt in ("vcpu", "guest_", "vms_", "resume_", "migrate_"):
    for k in j["raw"]["runner"]:
        assert match(k), ("runner ran an unnamed group", filt, k)
# Its scaling series, each with the competitor from the same run.
runner_series = {"vcpu": {"vcpus"}, "vms_": {"vm_start", "vm_memory"},
                 "migrate_": {"migration"}}
if filt in runner_series:
    sc = j["scaling"]
    assert set(sc) == runner_series[filt], sc.keys()
    for s in sc.values():
        pts, base = s["points"], s["competitor"]["points"]
        assert len(pts) == 3 and len(base) == 3, s
        assert [x for x, _ in pts] == [x for x, _ in base], s
        for x, y in pts + base:
            positive(x, s["title"]); positive(y, s["title"])
    if filt == "vms_":
        # --quick starts fewer than 100 VMs and the last point says so
        n = j["raw"]["runner"]["vms_100_count"]
        assert 10 < n < 100, n
        assert sc["vm_start"]["points"][-1][0] == n, sc["vm_start"]
        for r in j["results"]:
            if r["name"].startswith("vms_100_"):
                assert "--quick" in r["label"], r
    if filt == "migrate_":
        # --quick's guests are smaller, and the points say which ran
        raw = j["raw"]["runner"]
        xs = [raw["migrate_%s_mib" % k] for k in ("64m", "256m", "1g")]
        assert xs == [1, 2, 4], xs
        assert [x for x, _ in sc["migration"]["points"]] == xs, sc
        for k in ("64m", "256m", "1g"):
            # the snapshot carries at least the RAM the host wrote
            assert raw["migrate_%s_bytes" % k] >= raw["migrate_%s_mib" % k] << 20, raw
if filt == "resume_":
    raw = j["raw"]["runner"]
    for k, mib in (("64m", 1), ("256m", 2)):
        assert raw["resume_%s_mib" % k] == mib, raw
        assert raw["resume_%s_bytes" % k] >= mib << 20, raw
        # the first exit comes after the first entry
        assert raw["resume_%s_exit_us" % k] >= raw["resume_%s_entry_us" % k], raw
if filt == "scale_":
    sc = j["scaling"]
    assert set(sc) == {"uniform", "conversions", "map_bytes"}, sc.keys()
    for s in sc.values():
        assert len(s["points"]) >= 6, s
        for x, y in s["points"]:
            positive(x, s["title"]); positive(y, s["title"])
for p in parts:
    raw = j["raw"][p]
    assert raw, p
    for k, v in raw.items():
        if k != "conv_above_exit_us":	# a difference: may be negative
            positive(v, k)
print("ok:", path, len(j["results"]), "results,", len(j["raw"]["level1"]),
      "level-1 rows")
PY
}

# Level 1: every group once, through the filter that names it.
for f in contig_ sparse_ alt_1g uniform_1t_state read_64b alt_loaded conv_1g \
	boot_ slots_ scale_ populate_ listen_ snap_; do
	extra=()
	[ "$f" = scale_ ] && extra=(--plot "$tmp/plot")
	[ "$f" = snap_ ] && extra=(--snapshot-mib 8)
	"$gmem" bench --quick --json --filter "$f" "${extra[@]}" \
		>"$tmp/$f.json" 2>"$tmp/$f.err" ||
		fail "bench --filter $f exited $?: $(cat "$tmp/$f.err")"
	# not a terminal: no progress line, nothing at all on stderr
	[ -s "$tmp/$f.err" ] && fail "bench --filter $f: stderr: $(cat "$tmp/$f.err")"
	check_json "$tmp/$f.json" "$backing" "$f" level1 ||
		fail "--filter $f JSON"
done
# --snapshot-mib sizes the snapshot rows' guest; cp ran one way or the other
python3 - "$tmp/snap_.json" <<'PY' || fail "--snapshot-mib 8, or cp"
import json, sys
raw = json.load(open(sys.argv[1]))["raw"]["level1"]
assert raw["snap_mib"] == 8, raw["snap_mib"]
assert ("snap_cp_cfr_mb_per_s" in raw) != ("snap_cp_rw_mb_per_s" in raw), raw
PY
# the 4 KiB rows are measured by the same group as the 1 GiB ones
python3 - "$tmp/conv_1g.json" <<'PY' || fail "conv_4k rows missing"
import json, sys
raw = json.load(open(sys.argv[1]))["raw"]["level1"]
for k in ("conv_4k_preserve_us", "conv_4k_zero_us", "conv_4k_twob_us",
          "conv_1g_twob_us", "conv_1g_memset_us"):
    assert raw[k] > 0, k
PY

# the scaling charts: one well-formed SVG per table
for s in uniform conversions map_bytes; do
	python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"' \
		"$tmp/plot/scaling-$s.svg" || fail "--plot: scaling-$s.svg"
done
echo "ok: --plot wrote 3 SVG charts"

# the text table: a header, the column names, one line per measurement,
# and the scaling tables
"$gmem" bench --quick --filter read_64b >"$tmp/l1.txt" ||
	fail "bench text exited $?"
grep -q "^gmem bench: level 1 on $backing ($vm VMs): ok; runner: not run" \
	"$tmp/l1.txt" || fail "text header: $(head -1 "$tmp/l1.txt")"
grep -q '^measurement .* competitor .* ratio .* mark .*limit$' "$tmp/l1.txt" ||
	fail "text columns"
grep -Eq '^accessor read, 64 B .* (met|MISSED) ' "$tmp/l1.txt" ||
	fail "no accessor line"
[ "$(grep -c '^[a-z0-9].* -  *-$\|^[a-z0-9].* \(met\|MISSED\) ' "$tmp/l1.txt")" -ge 1 ] ||
	fail "no measurement lines"

# every column in line, whatever the names' lengths: each row's value
# ends where the header's "gmem" does, its competitor starts where
# "competitor" does ("listener calls for 1 GiB contiguous" is longer than
# the column was)
"$gmem" bench --quick --filter 'listen_*' >"$tmp/listen.txt" ||
	fail "bench --filter 'listen_*' exited $?"
grep -q '^listener calls for 1 GiB contiguous ' "$tmp/listen.txt" ||
	fail "no listener calls row"
awk '/^measurement / { v = index($0, " gmem ") + 4
		       c = index($0, " competitor ") + 1; next }
     /^ratio:/ { exit }
     v && (substr($0, v, 2) !~ /^[^ ] $/ || substr($0, c - 1, 2) !~ /^ [^ ]/) {
	print "out of line: " $0; bad = 1 }
     END { exit bad || !v }' "$tmp/listen.txt" || fail "bench text columns"

# The runner part: on KVM a short run; without it exit 3, one line,
# nothing measured (the KVM-only rows skip cleanly, they do not fail).
if [ "$kvm" = 1 ]; then
	# level 1 on memfd too, as a VM without KVM backs its files
	"$gmem" bench --json --quick --detached --filter read_64b \
		>"$tmp/det.json" || fail "bench --detached exited $?"
	check_json "$tmp/det.json" memfd read_64b level1 ||
		fail "--detached JSON"
	# the runner's groups, each once, through the filter that names it
	for f in vm_start conv_roundtrip vcpu guest_ vms_ resume_ migrate_; do
		extra=()
		[ "$f" = vms_ ] || [ "$f" = migrate_ ] && extra=(--plot "$tmp/rplot")
		"$gmem" bench --json --quick --filter "$f" "${extra[@]}" \
			>"$tmp/rn-$f.json" 2>"$tmp/rn-$f.err" ||
			fail "bench --filter $f exited $?: $(cat "$tmp/rn-$f.err")"
		check_json "$tmp/rn-$f.json" "$backing" "$f" runner ||
			fail "runner JSON, --filter $f"
	done
	for s in vm_start vm_memory migration; do
		python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"; assert len(d.getElementsByTagName("polyline")) == 2' \
			"$tmp/rplot/scaling-$s.svg" || fail "--plot: scaling-$s.svg"
	done
	echo "ok: --plot wrote the runner's charts, each with its competitor"
	# without KVM (/dev/null over /dev/kvm in a private mount namespace)
	if unshare -m true 2>/dev/null; then
		unshare -m sh -c 'mount --bind /dev/null /dev/kvm &&
			exec "$0" bench --json --quick --only runner' "$gmem" \
			>"$tmp/nokvm.json" 2>"$tmp/nokvm.err"
		rc=$?
		[ "$rc" -eq 3 ] || fail "no KVM: exit $rc, want 3"
		[ "$(wc -l <"$tmp/nokvm.err")" -eq 1 ] ||
			fail "no KVM: stderr: $(cat "$tmp/nokvm.err")"
		echo "ok: no KVM: $(cat "$tmp/nokvm.err")"
	else
		echo "note: no mount namespaces here; no-KVM path not tested"
	fi
else
	expect_bad 3 bench --json --quick --filter vm_start
	expect_bad 3 bench --quick --kvm --filter read_64b
	echo "note: no /dev/kvm: runner part skipped (exit 3, as it must)"
fi

"$gmem" bench --help | grep -q -- '--filter' || fail "bench --help"

expect_bad 2 bench --bogus
expect_bad 2 bench extra
expect_bad 2 bench --only
expect_bad 2 bench --only vm
expect_bad 2 bench --only=
expect_bad 2 bench --kvm --detached
expect_bad 2 bench --json=yes
expect_bad 2 bench -q
expect_bad 2 bench --filter
expect_bad 2 bench --filter=
expect_bad 2 bench --filter no_such_row
expect_bad 2 bench --plot
expect_bad 2 bench --plot=
for v in 0 -1 65537 8M 0x10 ''; do
	expect_bad 2 bench --snapshot-mib "$v"
done
echo "PASS"
