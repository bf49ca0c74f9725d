"""mlsd.retrieval against hostile input: degenerate or unsupported FAISS specs, data FAISS cannot
cluster, crafted index files with valid checksums, and memory over repeated failed loads.

Each scenario that used to kill the interpreter (a FAISS assert, a division by zero, a read past
an array) runs in a child process, so a regression shows up as a failed test, not a dead run."""

import json
import os
import random
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

import mlsd.retrieval as R


def run_child(code, *args, timeout=240):
    """Runs code in a fresh interpreter; returns (returncode, stdout lines, stderr)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


def start_child(code, *args):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# --------------------------------------------------------------------------------------------
# Specs: (spec, fragment of the message naming the parameter), for dim 16.

LONG = "IVF16," + "PQ4x4" * 60
BAD_SPECS = [
    ("PQ0", "PQ's number of sub-quantizers M must be in [1, 16], got 0"),
    ("PQ4x0", "PQ's bits per code nbits must be in [1, 16], got 0"),
    ("PQ4x17", "nbits must be in [1, 16], got 17"),
    ("PQ4x99999999999999999999", "nbits must be in [1, 16], got a larger number"),
    ("PQ3", "PQ's M = 3 must divide the dimension 16"),
    ("PQ32", "M must be in [1, 16], got 32"),
    ("PQ", "PQ's number of sub-quantizers M is missing"),
    ("PQ4x", "nbits is missing"),
    ("IVF4,PQ4x9", "nbits must be in [1, 8], got 9"),
    ("IVF4,PQ0", "M must be in [1, 16], got 0"),
    ("IVF4,PQ5", "PQ's M = 5 must divide"),
    ("HNSW0", "HNSW's number of neighbours M must be in [2, 512], got 0"),
    ("HNSW1", "HNSW's number of neighbours M must be in [2, 512], got 1"),
    ("HNSW1,Flat", "got 1"),
    ("HNSW513", "got 513"),
    ("HNSW-1", "'HNSW-1' is not an index kind mlsd supports"),
    ("HNSW32,PQ8", "'PQ8' is not an index kind"),
    ("HNSW32,SQ8", "'SQ8' is not an index kind"),
    ("IVF0,Flat", "IVF's number of lists nlist must be in [1, 1048576], got 0"),
    ("IVF2000000,Flat", "got 2000000"),
    ("IVF99999999999999999999,Flat", "got a larger number"),
    ("IVF16", "IVF<nlist> must be followed by ,Flat or ,PQ<M>"),
    ("IVF,Flat", "nlist is missing"),
    ("IVF16,SQ8", "'SQ8' is not an index kind"),
    ("IVF16_HNSW32,Flat", "'IVF16_HNSW32' is not an index kind"),
    ("IVF16,Flat,Refine(Flat)", "'Refine(Flat)' is not an index kind"),
    ("NSG32", "'NSG32' is not an index kind"),
    ("NSG0,Flat", "'NSG0' is not an index kind"),
    ("IVF16,NSG1", "'NSG1' is not an index kind"),
    ("PCA8,HNSW32", "'PCA8' is not an index kind"),
    ("LSH", "'LSH' is not an index kind"),
    ("SQ8", "'SQ8' is not an index kind"),
    ("RFlat", "'RFlat' is not an index kind"),
    ("Flat,Flat", "'Flat' is not an index kind"),
    ("Flat,", "'' is not an index kind"),
    ("flat", "'flat' is not an index kind"),
    (" Flat", "' Flat' is not an index kind"),
    ("OPQ0,PQ4", "OPQ's number of sub-quantizers m must be in [1, 16], got 0"),
    ("OPQ3,PQ4", "OPQ's m = 3 must divide its output dimension 16"),
    ("OPQ4_0,PQ4", "OPQ's output dimension D must be in [1, 16], got 0"),
    ("OPQ4_32,PQ4", "OPQ's output dimension D must be in [1, 16], got 32"),
    ("OPQ4_8,PQ3", "PQ's M = 3 must divide the dimension 8"),
    ("OPQ4,Flat", "OPQ applies before PQ codes only"),
    ("OPQ4,HNSW32", "OPQ applies before PQ codes only"),
    ("OPQ4", "OPQ applies before PQ codes only"),
    ("IDMap,Flat", "must not contain IDMap"),
    ("IDMap2,HNSW32", "must not contain IDMap"),
    (LONG, "is too long: at most 128 characters"),
]

_SPEC_CHILD = """
    import json, sys
    import numpy as np
    import mlsd.retrieval as R
    for case in json.loads(sys.argv[1]):
        print(json.dumps(case), flush=True)  # the case a crash would belong to
        try:
            if case[0] == "spec":
                cls = R.Index if case[2] == "Index" else R.ShardedIndex
                cls(16, case[1], case[3])
                print("no error", flush=True)
            else:  # ("train"/"add"/"search", metric, spec, scale)
                metric, spec, scale = case[1:]
                x = np.random.default_rng(0).standard_normal((600, 16)).astype(np.float32)
                index = R.Index(16, metric, spec)
                big = x * np.float32(scale)
                if case[0] == "train":
                    index.train(big)
                else:
                    if not index.is_trained:
                        index.train(x)
                    if case[0] == "add":
                        index.add(big)
                    else:
                        index.add(x).search(big[:3], 2)
                print("no error", flush=True)
        except Exception as e:
            print(json.dumps([type(e).__name__, str(e)]), flush=True)
"""


def _run_cases(cases, n_children=3):
    """Runs the cases in a few children; returns {case: (type, message)}; fails on any crash."""
    chunks = [cases[i::n_children] for i in range(n_children)]
    children = [start_child(_SPEC_CHILD, json.dumps(chunk)) for chunk in chunks]
    results = {}
    for child in children:
        out, err = child.communicate(timeout=300)
        lines = out.splitlines()
        assert child.returncode == 0, f"child died ({child.returncode}) on {lines[-1] if lines else '?'}: {err[-500:]}"
        for case, outcome in zip(lines[::2], lines[1::2]):
            results[tuple(json.loads(case))] = None if outcome == "no error" else tuple(json.loads(outcome))
    return results


def test_degenerate_and_unsupported_specs_raise_a_clean_value_error():
    cases = [("spec", metric, cls, spec) for spec, _ in BAD_SPECS for metric, cls in [("l2", "Index")]]
    cases += [("spec", "cosine", "ShardedIndex", spec) for spec, _ in BAD_SPECS[::4]]
    results = _run_cases(cases)
    expected = dict(BAD_SPECS)
    for case, outcome in results.items():
        spec, cls = case[3], case[2]
        assert outcome is not None, f"{cls}({spec!r}) was accepted"
        kind, message = outcome
        assert kind == "ValueError", (spec, outcome)
        quoted = repr(spec) if len(spec) <= 40 else repr(spec[:40])[:-1] + f"...' ({len(spec)} characters)"
        assert message.startswith(f"{cls}: spec {quoted}"), (spec, message)
        assert expected[spec] in message, (spec, message)
        assert len(message) < 400, message  # a long spec is quoted truncated


def test_supported_specs_still_build():
    # The grammar's edges that are valid, built and used here (in this process: they are safe).
    x = np.random.default_rng(1).standard_normal((300, 16)).astype(np.float32)
    for spec in ["Flat", "HNSW", "HNSW2", "HNSW2,Flat", "IVF1,Flat", "IVF4,PQ16x1", "PQ16x1np", "PQ1x2",
                 "OPQ1_1,PQ1x1", "OPQ4_8,IVF2,PQ2x4", "IVF2,PQ4x8np"]:
        index = R.Index(16, "l2", spec)
        if not index.is_trained:
            index.train(x)
        _, ids = index.add(x[:50]).search(x[:3], 2)
        assert (ids >= 0).all(), spec


def test_training_needs_one_vector_per_centroid():
    x = np.random.default_rng(2).standard_normal((15, 16)).astype(np.float32)
    for spec, needed in [("IVF16,Flat", 16), ("PQ4x5", 32), ("OPQ4,PQ4x2", 256)]:
        with pytest.raises(ValueError, match=rf"Index.train: spec '{spec}' needs at least {needed} training vectors.*got 15"):
            R.Index(16, "l2", spec).train(x)


def test_values_faiss_cannot_cluster_raise_instead_of_aborting():
    cases = [("train", "l2", "IVF4,Flat", 1e20), ("train", "ip", "PQ4x4", 1e20), ("train", "l2", "OPQ4,PQ4x4", 3e19),
             ("add", "l2", "IVF4,Flat", 1e30), ("add", "ip", "HNSW8", 1e20), ("search", "l2", "IVF4,PQ4x4", 1e25),
             ("train", "l2", "IVF4,Flat", 1e17), ("train", "cosine", "IVF4,Flat", 1e30)]
    results = _run_cases(cases, n_children=2)
    for case, outcome in results.items():
        if case[3] == 1e17 or case[1] == "cosine":
            assert outcome is None, (case, outcome)  # within the bound / normalised first
            continue
        assert outcome is not None and outcome[0] == "ValueError", (case, outcome)
        assert "FAISS-backed indexes take values up to" in outcome[1] and "has a value of magnitude" in outcome[1]


def test_magnitude_bound_keeps_squared_distances_finite():
    d = 16
    bound = float(np.sqrt(np.finfo(np.float32).max / (8 * d)))
    x = np.zeros((8, d), np.float32)
    x[:4] = np.float32(bound) * np.float32(0.999)
    x[4:] = -x[:4]
    # The worst squared distance between two allowed vectors stays finite in float32.
    assert np.isfinite(((x[0] - x[4]).astype(np.float32) ** 2).sum(dtype=np.float32))
    R.Index(d, "l2", "IVF2,Flat").train(x)
    with pytest.raises(ValueError, match="row 0, column 0"):
        R.Index(d, "l2", "IVF2,Flat").train(x * 2)


def test_long_spec_is_quoted_truncated():
    with pytest.raises(ValueError) as info:
        R.Index(16, spec=LONG)
    assert LONG not in str(info.value) and f"({len(LONG)} characters)" in str(info.value)


# --------------------------------------------------------------------------------------------
# Files: the layout of FAISS 1.7.3 payloads, written out independently of the C++ checker, so that
# the fuzzer can edit fields (sizes, ids, list numbers, M, nbits) and not only random bytes.

class _Layout:
    def __init__(self, b):
        self.b, self.p, self.fields = b, 0, []  # fields: (name, offset, size, struct format or "raw")

    def scalar(self, name, fmt):
        v = struct.unpack_from("<" + fmt, self.b, self.p)[0]
        self.fields.append((name, self.p, struct.calcsize(fmt), fmt))
        self.p += struct.calcsize(fmt)
        return v

    def raw(self, name, n):
        self.fields.append((name, self.p, n, "raw"))
        self.p += n

    def fourcc(self):
        self.p += 4
        return self.b[self.p - 4:self.p].decode("latin1")

    def vec(self, name, item):
        n = self.scalar(name + ".size", "Q")
        self.raw(name, n * item)

    def header(self):
        self.scalar("d", "i"), self.scalar("ntotal", "q"), self.raw("unused", 16), self.scalar("is_trained", "B")
        self.scalar("metric", "i")

    def pq(self):
        self.scalar("pq.d", "Q"), self.scalar("pq.M", "Q"), self.scalar("pq.nbits", "Q"), self.vec("pq.centroids", 4)

    def invlists(self):
        assert self.fourcc() == "ilar"
        nlist, code_size = self.scalar("il.nlist", "Q"), self.scalar("il.code_size", "Q")
        sizes = [0] * nlist
        if self.fourcc() == "full":
            for i in range(self.scalar("il.sizes.size", "Q")):
                sizes[i] = self.scalar("il.size", "Q")
        else:
            for _ in range(self.scalar("il.pairs.size", "Q") // 2):
                list_no = self.scalar("il.list_no", "Q")
                sizes[list_no] = self.scalar("il.size", "Q")
        for n in sizes:
            if n:
                self.raw("il.codes", n * code_size)
                for _ in range(n):
                    self.scalar("il.id", "q")

    def index(self):
        kind = self.fourcc()
        self.header()
        if kind in ("IxF2", "IxFI"):
            self.vec("flat.codes", 4)
        elif kind == "IxPq":
            self.pq(), self.vec("pq.codes", 1), self.scalar("pq.search_type", "i"), self.scalar("pq.encode_signs", "B")
            self.scalar("pq.polysemous_ht", "i")
        elif kind in ("IwFl", "IwPQ"):
            self.scalar("ivf.nlist", "Q"), self.scalar("ivf.nprobe", "Q"), self.index()
            self.scalar("dm.type", "b"), self.vec("dm.array", 8)
            for _ in range(self.scalar("dm.hash.size", "Q")):
                self.scalar("dm.id", "q"), self.scalar("dm.lo", "q")
            if kind == "IwPQ":
                self.scalar("ivfpq.by_residual", "B"), self.scalar("ivfpq.code_size", "Q"), self.pq()
            self.invlists()
        elif kind == "IHNf":
            self.vec("hnsw.assign_probas", 8)
            for name, fmt in [("hnsw.cum", "i"), ("hnsw.level", "i"), ("hnsw.offset", "Q"), ("hnsw.neighbor", "i")]:
                for _ in range(self.scalar(name + ".size", "Q")):
                    self.scalar(name, fmt)
            for name in ["hnsw.entry_point", "hnsw.max_level", "hnsw.efConstruction", "hnsw.efSearch",
                         "hnsw.upper_beam"]:
                self.scalar(name, "i")
            self.index()
        elif kind == "IxPT":
            for _ in range(self.scalar("pt.chain.size", "i")):
                assert self.fourcc() == "LTra"
                self.scalar("lt.have_bias", "B"), self.vec("lt.A", 4), self.vec("lt.b", 4)
                self.scalar("lt.d_in", "i"), self.scalar("lt.d_out", "i"), self.scalar("lt.is_trained", "B")
            self.index()
        else:
            raise AssertionError(kind)


def _split_file(data):
    """(offset of n_pos, offset of the storage byte, offset of the FAISS blob or None)."""
    off = 8 + 4 + 4 + 8
    off += 4 + struct.unpack_from("<I", data, off)[0] + 8
    n_pos_at = off
    off += 8 + 8 * struct.unpack_from("<q", data, off)[0]
    return n_pos_at, off, (off + 1 + 8 if data[off] == 1 else None)


def _file_fields(data):
    """Every editable field of a saved index: the header's ids, then the FAISS payload's fields."""
    n_pos_at, storage_at, blob_at = _split_file(data)
    fields = [("next_id", n_pos_at - 8, 8, "q"), ("n_pos", n_pos_at, 8, "q")]
    fields += [("pos2id", n_pos_at + 8 + 8 * i, 8, "q") for i in range((storage_at - n_pos_at - 8) // 8)]
    if blob_at is None:
        fields.append(("flat.vectors", storage_at + 1, len(data) - 4 - storage_at - 1, "raw"))
        return fields
    layout = _Layout(data[blob_at:len(data) - 4])
    layout.index()
    assert layout.p == len(data) - 4 - blob_at  # the walk covers the payload exactly
    return fields + [(name, blob_at + off, size, fmt) for name, off, size, fmt in layout.fields]


def _with_crc(body):
    return body + struct.pack("<I", zlib.crc32(body))


def _mutants(data, n, seed):
    """n edited copies of a saved index (bytes without the CRC edited, then the CRC recomputed)."""
    rng = random.Random(seed)
    body = bytearray(data[:-4])
    fields = _file_fields(data)
    scalars = [f for f in fields if f[3] != "raw"]
    raws = [f for f in fields if f[3] == "raw" and f[2] > 0]
    _, _, blob_at = _split_file(data)
    out = []
    for i in range(n):
        m = bytearray(body)
        what = rng.random()
        if what < 0.55 and scalars:  # a field set to an edge value
            name, off, size, fmt = rng.choice(scalars)
            v = struct.unpack_from("<" + fmt, m, off)[0]
            bits = 8 * size
            new = rng.choice([0, 1, -1, v + 1, v - 1, 2 * v, v // 2, 2**31 - 1, 2**32 + v, 2**63 - 1, 256,
                              rng.getrandbits(bits)])
            m[off:off + size] = (new % (1 << bits)).to_bytes(size, "little")  # two's complement
            label = f"{name}={new}"
        elif what < 0.75 and raws:  # a byte inside an array, or a float made NaN
            name, off, size, _ = rng.choice(raws)
            j = off + rng.randrange(size)
            if rng.random() < 0.5 and size >= 4:
                j = off + 4 * rng.randrange(size // 4)
                m[j:j + 4] = struct.pack("<f", float("nan"))
            else:
                m[j] ^= 1 << rng.randrange(8)
            label = f"{name}[{j - off}]"
        elif what < 0.92:  # random bytes anywhere after the magic and version
            for _ in range(rng.randint(1, 4)):
                j = rng.randrange(12, len(m))
                m[j] = rng.randrange(256)
            label = "random bytes"
        else:  # the FAISS payload cut short or extended, its length field kept consistent
            if blob_at is None:
                m = m[:rng.randrange(12, len(m))]
                label = "cut"
            else:
                blob = m[blob_at:]
                blob = blob[:rng.randrange(len(blob))] if rng.random() < 0.7 else blob + bytes(rng.randrange(1, 64))
                m = m[:blob_at - 8] + struct.pack("<Q", len(blob)) + blob
                label = "payload length"
        out.append((label, _with_crc(bytes(m))))
    return out


FILE_KINDS = [("Flat", "l2", 200), ("Flat", "cosine", 200), ("IVF4,Flat", "l2", 200), ("IVF16,Flat", "ip", 3),
              ("IVF4,Flat", "cosine", 200), ("IVF4,PQ4x4", "ip", 200), ("PQ4x4", "l2", 200),
              ("OPQ4,IVF4,PQ4x4", "l2", 200), ("OPQ2_4,PQ2x4", "ip", 200), ("HNSW4", "l2", 200),
              ("HNSW4", "cosine", 200)]


def _saved(spec, metric, n_items):
    x = np.random.default_rng(70).standard_normal((600, 8)).astype(np.float32)
    index = R.Index(8, metric, spec)
    if not index.is_trained:
        index.train(x)
    index.add(x[:n_items], np.arange(n_items) * 3 + 1)
    if index.supports_remove and n_items > 10:
        index.remove([4, 10, 31])
    return bytes(index._index.serialize())


def test_file_layout_walk_covers_every_kind():
    # The fuzzer's layout is right: fields found where the values are known.
    for spec, metric, n_items in FILE_KINDS:
        data = _saved(spec, metric, n_items)
        fields = {}
        for name, off, size, fmt in _file_fields(data):
            fields.setdefault(name, (off, size, fmt))  # the outermost index's
        if spec != "Flat":
            off, _, fmt = fields["d"]
            assert struct.unpack_from("<" + fmt, data, off)[0] == 8
        if "PQ" in spec:
            off, _, fmt = fields["pq.M"]
            assert struct.unpack_from("<Q", data, off)[0] == int(spec.split("PQ")[-1].split("x")[0])
        if "IVF" in spec:
            assert struct.unpack_from("<Q", data, fields["ivf.nlist"][0])[0] == int(spec.split("IVF")[1].split(",")[0])


_FUZZ_CHILD = """
    import glob, os, sys
    import numpy as np
    import mlsd.retrieval as R
    q = np.random.default_rng(71).standard_normal((3, 8)).astype(np.float32)
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.mlsd"))):
        print(os.path.basename(path), flush=True)
        try:
            index = R.Index.load(path)
            index.search(q, 5)
            index._index.vectors()
            if index.supports_remove:
                index.remove(index.ids[:1])
                if len(index):
                    index.search(q, 5)
            outcome = "loaded"
        except ValueError as e:
            outcome = "ValueError: " + str(e)
        except Exception as e:
            outcome = "UNEXPECTED " + type(e).__name__ + ": " + str(e)
        print(outcome.replace("\\n", " "), flush=True)
"""


def test_crafted_files_with_valid_checksums_never_crash(tmp_path):
    # MLSD_FUZZ_MUTANTS raises the count per kind for a longer run (CI uses the default).
    n = int(os.environ.get("MLSD_FUZZ_MUTANTS", "25"))
    dirs = []
    for k, (spec, metric, n_items) in enumerate(FILE_KINDS):
        d = tmp_path / f"kind{k}"
        d.mkdir()
        for i, (label, content) in enumerate(_mutants(_saved(spec, metric, n_items), n, seed=1000 + k)):
            (d / f"{i:05d}.mlsd").write_bytes(content)
            (d / f"{i:05d}.label").write_text(label)
        dirs.append((spec, metric, d))
    children = [(spec, metric, d, start_child(_FUZZ_CHILD, d)) for spec, metric, d in dirs[:6]]
    results = []
    for batch in (children, [(s, m, d, start_child(_FUZZ_CHILD, d)) for s, m, d in dirs[6:]]):
        for spec, metric, d, child in batch:
            out, err = child.communicate(timeout=300)
            lines = out.splitlines()
            last = lines[-1] if len(lines) % 2 else None
            label = (d / last.replace(".mlsd", ".label")).read_text() if last else ""
            assert child.returncode == 0, f"{spec} {metric}: crashed ({child.returncode}) on {last} ({label}): {err[-800:]}"
            results += [(spec, name, outcome) for name, outcome in zip(lines[::2], lines[1::2])]
    assert len(results) == n * len(FILE_KINDS)
    bad = [r for r in results if r[2].startswith("UNEXPECTED") or "Index.load: Index.load" in r[2]]
    assert not bad, bad[:5]
    rejected = sum(r[2].startswith("ValueError") for r in results)
    assert rejected > len(results) // 2  # most edits are caught, not silently accepted


_LEAK_CHILD = """
    import sys
    import mlsd.retrieval as R
    paths = sys.argv[1:]
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096
    def load_all(times):
        for _ in range(times):
            for p in paths:
                try:
                    R.Index.load(p)
                except ValueError:
                    pass
                else:
                    raise SystemExit("loaded a corrupted file: " + p)
    load_all(20)
    before = rss()
    load_all(150)
    print(before, rss())
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_failed_loads_do_not_leak(tmp_path):
    x = np.random.default_rng(72).standard_normal((20000, 16)).astype(np.float32)
    index = R.Index(16, "l2", "IVF16,Flat").train(x[:2000]).add(x)
    data = bytes(index._index.serialize())
    _, _, blob_at = _split_file(data)
    body = data[:-4]
    blob = body[blob_at:]
    short = body[:blob_at - 8] + struct.pack("<Q", len(blob) - 50) + blob[:-50]  # payload ends early
    last_id = [f for f in _file_fields(data) if f[0] == "il.id"][-1]
    bad_id = bytearray(body)
    bad_id[last_id[1]:last_id[1] + 8] = struct.pack("<q", 10**9)  # fails at the end of the walk
    paths = []
    for name, content in [("short", short), ("bad_id", bytes(bad_id))]:
        (tmp_path / name).write_bytes(_with_crc(content))
        paths.append(tmp_path / name)
    code, lines, err = run_child(_LEAK_CHILD, *paths)
    assert code == 0, err[-800:]
    before, after = map(int, lines[-1].split())
    # 300 failed loads of a 1.3 MB payload: a leak of the partly read index would be ~400 MB.
    assert after - before < 40 * 2**20, (before, after)


_LOAD_CHILD = """
    import sys
    import numpy as np
    import mlsd.retrieval as R
    for path in sys.argv[1:]:
        print(path, flush=True)
        try:
            R.Index.load(path).search(np.ones((1, 8), np.float32), 3)
            print("loaded", flush=True)
        except ValueError as e:
            print("ValueError: " + str(e), flush=True)
"""

# The edits the issue reported as crashing the first search (or the load itself), each with the
# check that must catch it: (spec, metric, field, occurrence, new value, message fragment).
TARGETED_EDITS = [
    ("IVF4,Flat", "l2", "il.size", 0, 10**6, "inverted lists hold more than ntotal"),
    ("IVF4,Flat", "l2", "il.id", 5, 10**9, "not a live position"),
    ("IVF4,Flat", "l2", "il.id", 5, 1, "not a live position"),  # a removed position (id 4)
    ("IVF4,Flat", "l2", "il.id", 5, 0, "is in the lists twice"),
    ("IVF4,Flat", "l2", "il.id", 6, -7, "not a live position"),
    ("IVF4,Flat", "l2", "dm.lo", 3, (7 << 32) | 1, "direct map entry 3"),
    ("IVF4,Flat", "l2", "dm.id", 0, 2**40, "direct map entry 0"),
    ("IVF4,Flat", "l2", "ivf.nlist", 0, 0, "nlist is 0, the spec says 4"),
    ("IVF4,Flat", "l2", "ivf.nprobe", 0, 99, "nprobe is 99"),
    ("IVF4,Flat", "l2", "il.code_size", 0, 4, "inverted lists code size is 4"),
    ("IVF4,PQ4x4", "ip", "pq.M", 0, 0, "product quantizer (d, M, nbits) = (8, 0, 4)"),
    ("IVF4,PQ4x4", "ip", "pq.nbits", 0, 60, "product quantizer (d, M, nbits) = (8, 4, 60)"),
    ("IVF4,PQ4x4", "ip", "pq.d", 0, 7, "product quantizer (d, M, nbits) = (7, 4, 4)"),
    ("IVF4,PQ4x4", "ip", "pq.centroids.size", 0, 3, "PQ centroids has 3 items"),
    ("IVF4,PQ4x4", "ip", "ivfpq.code_size", 0, 200, "IVF-PQ code size is 200"),
    ("PQ4x4", "l2", "pq.M", 0, 0, "(8, 0, 4)"),
    ("PQ4x4", "l2", "pq.codes.size", 0, 7, "PQ codes has 7 items"),
    ("OPQ4,IVF4,PQ4x4", "l2", "lt.d_out", 0, 9, "OPQ maps 8 to 9 dimensions"),
    ("OPQ4,IVF4,PQ4x4", "l2", "lt.A.size", 0, 2**62, "OPQ matrix has"),
    ("HNSW4", "l2", "hnsw.neighbor", 17, 10**6, "HNSW neighbour 1000000 is not a node"),
    ("HNSW4", "l2", "hnsw.level", 2, 40, "HNSW node 2 has level 40"),
    ("HNSW4", "l2", "hnsw.entry_point", 0, 10**6, "HNSW entry point 1000000"),
    ("HNSW4", "l2", "hnsw.cum", 1, 0, "HNSW neighbours per level do not match M = 4"),
    ("HNSW4", "l2", "pos2id", 3, -1, "removed positions in a non-IVF index"),
    ("HNSW4", "l2", "ntotal", 0, 10, "HNSW index holds 10 vectors, expected 200"),
]


def test_targeted_edits_of_stored_indexes_raise_value_error(tmp_path):
    paths, expected = [], {}
    cache = {}
    for i, (spec, metric, field, occurrence, value, fragment) in enumerate(TARGETED_EDITS):
        data = cache.setdefault((spec, metric), _saved(spec, metric, 200))
        name, off, size, fmt = [f for f in _file_fields(data) if f[0] == field][occurrence]
        body = bytearray(data[:-4])
        body[off:off + size] = (value % (1 << 8 * size)).to_bytes(size, "little")
        path = tmp_path / f"edit{i}"
        path.write_bytes(_with_crc(bytes(body)))
        paths.append(str(path))
        expected[str(path)] = (spec, field, fragment)
    code, lines, err = run_child(_LOAD_CHILD, *paths)
    assert code == 0, f"crashed on {lines[-1] if lines else '?'}: {err[-800:]}"
    for path, outcome in zip(lines[::2], lines[1::2]):
        spec, field, fragment = expected[path]
        assert outcome.startswith("ValueError: Index.load: ") and "Index.load: Index.load" not in outcome, outcome
        assert fragment in outcome, (spec, field, outcome)


_REMOVE_CHILD = """
    import sys
    import mlsd.retrieval as R
    for path in sys.argv[1:]:
        print(path, flush=True)
        try:
            index = R.Index.load(path)
            index.remove(index.ids)
            print("loaded", flush=True)
        except ValueError as e:
            print("ValueError: " + str(e), flush=True)
"""


def test_direct_map_edits_that_repeat_or_replace_an_entry_raise_value_error(tmp_path):
    # Two edits at once: a direct-map entry made a copy of another (its value -2, the checker's
    # old "already seen" mark) or the entry of a removed position (its value -1, the mark of
    # "not in the lists"). FAISS keeps the last value for a key, so the live position then maps to
    # list 2**32 - 1 (or has no entry) and remove() aborted in ArrayInvertedLists::list_size.
    data = _saved("IVF4,Flat", "l2", 200)
    fields = _file_fields(data)
    dm_ids = [f for f in fields if f[0] == "dm.id"]
    dm_los = [f for f in fields if f[0] == "dm.lo"]
    removed_position = 1  # id 4 was removed
    first = struct.unpack_from("<q", data, dm_ids[0][1])[0]
    paths = []
    for i, (position, lo) in enumerate([(first, -2), (removed_position, -1)]):
        body = bytearray(data[:-4])
        struct.pack_into("<q", body, dm_ids[1][1], position)
        struct.pack_into("<q", body, dm_los[1][1], lo)
        path = tmp_path / f"dm{i}"
        path.write_bytes(_with_crc(bytes(body)))
        paths.append(str(path))
    code, lines, err = run_child(_REMOVE_CHILD, *paths)
    assert code == 0, f"crashed on {lines[-1] if lines else '?'}: {err[-800:]}"
    assert len(lines) == 2 * len(paths)
    for outcome in lines[1::2]:
        assert outcome.startswith("ValueError: Index.load: ") and "direct map entry 1" in outcome, outcome
