#!/usr/bin/env python3
"""Generate golden vectors for the ggml block formats: test/fixtures/quant/goldens.json.

The TypeScript implementation in src/gguf/quant/ is checked against these by test/gguf/quant*.test.ts.

Oracles
-------
1. gguf-py, llama.cpp's Python package (required; needs only numpy). It quantizes F32, F16, BF16, Q4_0,
   Q4_1, Q5_0, Q5_1 and Q8_0 and dequantizes everything here except Q8_K. Point the script at a
   llama.cpp source tree with --llama-cpp DIR or $LLAMA_CPP_DIR (gguf-py is DIR/gguf-py). Nothing is
   cloned or downloaded for you. The tree bundled with the node-llama-cpp dev dependency is the one the
   committed goldens were made from:

       git clone node_modules/node-llama-cpp/llama/gitRelease.bundle /tmp/llama.cpp
       python3 scripts/gen-quant-goldens.py --llama-cpp /tmp/llama.cpp

2. libggml-base, the compiled ggml library (optional but used for the committed goldens). gguf-py has no
   quantizers for the K-quants and nothing at all for Q8_K, so the script calls ggml's own
   quantize_row_*_ref / dequantize_row_* / fp16 / bf16 routines through ctypes. It is looked for at
   --ggml-lib PATH, $GGML_LIB, then node_modules/@node-llama-cpp/<platform>/bins/<platform>/ (the
   prebuilt shipped by node-llama-cpp). Without it the K-quant cases carry no reference bytes and the
   tests fall back to round-trip error bounds for them. Where both oracles exist they are cross-checked
   and any disagreement is recorded under "disagreements".

Everything is seeded; re-running with the same oracles reproduces the file byte for byte.

Output layout (all binary data base64, little-endian):
  inputs[]:            {name, n, f32}                      shared f32 input rows (multiples of 256)
  conversions:         {f32, f16, bf16, oracle_*}           f32 bit patterns and their f16 / bf16
  tables:              sha256 of the f16->f32 and bf16->f32 tables over all 65536 patterns
  types[name]:         {id, block_size, type_size,
                        quantized[]: {input, bytes?, bytes_oracle?, dequant?, dequant_oracle?}
                        random_blocks[]: {name, n, bytes, dequant, dequant_oracle}}
  disagreements[]:     where gguf-py and ggml differ (expected: only NaN handling, if anything)
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import glob
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "test", "fixtures", "quant", "goldens.json")
QK_K = 256

# name, ggml type id, block size, type size, C name, offsets of f16 scale fields, gguf-py quantizes it
TYPES = [
    ("f32", 0, 1, 4, None, [], True),
    ("f16", 1, 1, 2, None, [], True),
    ("bf16", 30, 1, 2, None, [], True),
    ("q4_0", 2, 32, 18, "q4_0", [0], True),
    ("q4_1", 3, 32, 20, "q4_1", [0, 2], True),
    ("q5_0", 6, 32, 22, "q5_0", [0], True),
    ("q5_1", 7, 32, 24, "q5_1", [0, 2], True),
    ("q8_0", 8, 32, 34, "q8_0", [0], True),
    ("q2_K", 10, QK_K, 84, "q2_K", [80, 82], False),
    ("q3_K", 11, QK_K, 110, "q3_K", [108], False),
    ("q4_K", 12, QK_K, 144, "q4_K", [0, 2], False),
    ("q5_K", 13, QK_K, 176, "q5_K", [0, 2], False),
    ("q6_K", 14, QK_K, 210, "q6_K", [208], False),
    ("q8_K", 15, QK_K, 292, "q8_K", [], False),
]


def b64(a: np.ndarray | bytes) -> str:
    if isinstance(a, np.ndarray):
        a = np.ascontiguousarray(a).tobytes()
    return base64.b64encode(a).decode("ascii")


def f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Float32 arrays equal bit for bit, except that any NaN matches any NaN."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.shape != b.shape:
        return False
    eq = a.view(np.uint32) == b.view(np.uint32)
    eq |= np.isnan(a) & np.isnan(b)
    return bool(eq.all())


# ----------------------------------------------------------------------------------------------------
# Oracles


def load_gguf(llama_dir: str):
    path = os.path.join(llama_dir, "gguf-py")
    if not os.path.isdir(os.path.join(path, "gguf")):
        sys.exit(f"no gguf-py package under {path}")
    sys.path.insert(0, path)
    import gguf  # noqa: E402
    from gguf import quants  # noqa: E402

    return gguf, quants


def find_ggml_lib(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get("GGML_LIB"):
        return os.environ["GGML_LIB"]
    hits = sorted(glob.glob(os.path.join(REPO_ROOT, "node_modules", "@node-llama-cpp", "*", "bins", "*", "libggml-base.*")))
    return hits[0] if hits else None


class Ggml:
    """ctypes access to ggml's reference routines in libggml-base."""

    def __init__(self, path: str):
        self.path = path
        self.lib = ctypes.CDLL(path)

    def _fn(self, name: str):
        fn = getattr(self.lib, name)
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        fn.restype = None
        return fn

    def quantize(self, cname: str, x: np.ndarray, type_size: int, block_size: int) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.size // block_size * type_size, dtype=np.uint8)  # zeroed: q8_K leaves bsums alone for zero blocks
        self._fn(f"quantize_row_{cname}_ref")(x.ctypes.data, out.ctypes.data, x.size)
        return out

    def dequantize(self, cname: str, b: np.ndarray, n: int) -> np.ndarray:
        b = np.ascontiguousarray(b, dtype=np.uint8)
        out = np.zeros(n, dtype=np.float32)
        self._fn(f"dequantize_row_{cname}")(b.ctypes.data, out.ctypes.data, n)
        return out

    def fp32_to_fp16(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.size, dtype=np.uint16)
        self._fn("ggml_fp32_to_fp16_row")(x.ctypes.data, out.ctypes.data, x.size)
        return out

    def fp16_to_fp32(self, h: np.ndarray) -> np.ndarray:
        h = np.ascontiguousarray(h, dtype=np.uint16)
        out = np.zeros(h.size, dtype=np.float32)
        self._fn("ggml_fp16_to_fp32_row")(h.ctypes.data, out.ctypes.data, h.size)
        return out

    def fp32_to_bf16(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.size, dtype=np.uint16)
        self._fn("ggml_fp32_to_bf16_row_ref")(x.ctypes.data, out.ctypes.data, x.size)
        return out

    def bf16_to_fp32(self, h: np.ndarray) -> np.ndarray:
        h = np.ascontiguousarray(h, dtype=np.uint16)
        out = np.zeros(h.size, dtype=np.float32)
        self._fn("ggml_bf16_to_fp32_row")(h.ctypes.data, out.ctypes.data, h.size)
        return out


# ----------------------------------------------------------------------------------------------------
# Inputs


def make_inputs(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    rows: list[tuple[str, np.ndarray]] = []
    rows.append(("zeros", np.zeros(256, np.float32)))
    rows.append(("normal", f32(rng.standard_normal(512))))
    r = f32(rng.standard_normal(256) * 0.02)
    r[37] = 1000.0  # one huge outlier dominates its block / super-block
    rows.append(("outlier", r))
    r = f32(rng.uniform(-1, 1, 256))
    r[5::32] = -5.0  # the largest magnitude of every 32-block is negative
    r[200] = -7.25
    rows.append(("negative_max", r))
    rows.append(("tiny_1e-6", f32(rng.standard_normal(256) * 1e-6)))  # f16 scales land in subnormals
    rows.append(("tiny_1e-10", f32(rng.standard_normal(256) * 1e-10)))  # f16 scales flush to zero
    # Rounding ties, two 32-blocks per family with exact scales: blocks 0-1 have max |x| = 127 so
    # Q8_0's d = 1 and Q8_K's iscale = -1 (roundf vs nearest_int on x.5); blocks 2-3 have max -8 so
    # Q4_0's d = 1 (trunc(x + 8.5) on halves); blocks 4-5 the same for Q5_0 with -16; blocks 6-7 span
    # 0..15 so Q4_1's d = 1, m = 0.
    r = np.empty(256, np.float32)
    for blk in range(8):
        kind = blk // 2
        if kind == 0:
            v = np.round(rng.uniform(-127, 126, 32)) + 0.5
            v[0] = 127.0
        elif kind == 1:
            v = rng.integers(-15, 16, 32) * 0.5
            v[0] = -8.0
        elif kind == 2:
            v = rng.integers(-31, 32, 32) * 0.5
            v[0] = -16.0
        else:
            v = rng.integers(0, 31, 32) * 0.5
            v[0], v[1] = 0.0, 15.0
        r[32 * blk: 32 * blk + 32] = f32(v)
    rows.append(("ties_grid", r))
    r = f32(np.round(rng.uniform(-15, 15, 256)) + 0.5)  # x.5 values: roundf vs round-half-even
    rows.append(("half_integers", r))
    r = f32(np.round(rng.uniform(0, 15, 256)))
    r[0::32] = 0.0
    r[1::32] = 15.0
    rows.append(("integers_0_15", r))  # Q4_1 with d = 1, m = 0 exactly
    rows.append(("constant", np.full(256, 0.3, np.float32)))
    rows.append(("huge", f32(rng.standard_normal(256) * 1e5)))  # F16 overflows to inf
    r = f32(rng.standard_normal(256))
    r *= f32(np.repeat(10.0 ** np.arange(-4, 4), 32))  # 8 orders of magnitude across sub-blocks
    rows.append(("mixed_scales", r))
    rows.append(("negative_only", f32(rng.uniform(-2, -1, 256))))
    rows.append(("positive_only", f32(rng.uniform(0, 1, 256))))
    r = f32(rng.standard_normal(256) * 1e-40)  # f32 subnormal inputs
    r[::3] = -0.0
    r[1::7] = 0.0
    rows.append(("denormals_signed_zeros", r))
    r = f32(rng.standard_normal(256))
    r[rng.integers(0, 256, 16)] = 0.0
    r[100:116] = r[100]  # a sub-block with all-equal values
    rows.append(("sparse", r))
    return rows


def random_f16_scales(rng: np.random.Generator, k: int) -> np.ndarray:
    """Finite f16 bit patterns: mostly moderate normals, some subnormals and extremes."""
    exp = rng.integers(3, 20, k)  # ~2^-12 .. 2^4
    mant = rng.integers(0, 1024, k)
    h = (exp << 10) | mant
    special = np.array([0x0001, 0x03FF, 0x0400, 0x7BFF, 0x0000, 0x3C00, 0x8001, 0x8000], dtype=np.int64)
    pick = rng.random(k) < 0.15
    h = np.where(pick, special[rng.integers(0, len(special), k)], h)
    sign = (rng.random(k) < 0.3).astype(np.int64) << 15
    return (h | sign).astype(np.uint16)


def make_random_blocks(rng: np.random.Generator, name: str, block_size: int, type_size: int, f16_fields: list[int]):
    cases = []
    if name == "f32":
        bits = rng.integers(0, 2**32, 256, dtype=np.uint64).astype(np.uint32)
        bits[:6] = [0x7F800001, 0xFFC00000, 0x7F800000, 0x80000000, 0x00000001, 0x7F7FFFFF]
        cases.append(("random_bits", 256, bits.view(np.uint8)))
        return cases
    if name == "f16":
        h = rng.integers(0, 65536, 512).astype(np.uint16)
        h = np.where(((h >> 10) & 0x1F) == 0x1F, h & 0x83FF, h).astype(np.uint16)  # no inf/NaN (numpy keeps sNaN)
        cases.append(("random_bits_finite", 512, h.view(np.uint8)))
        return cases
    if name == "bf16":
        h = rng.integers(0, 65536, 512).astype(np.uint16)
        h[:4] = [0x7F81, 0xFFC1, 0x7F80, 0x0001]  # NaNs are plain bit shifts for bf16
        cases.append(("random_bits", 512, h.view(np.uint8)))
        return cases
    nb = 16 if block_size == 32 else 4
    raw = rng.integers(0, 256, nb * type_size).astype(np.uint8).reshape(nb, type_size)
    for off in f16_fields:
        raw[:, off: off + 2] = random_f16_scales(rng, nb).reshape(nb, 1).view(np.uint8)
    if name == "q8_K":
        d = f32(rng.standard_normal(nb) * 10.0 ** rng.uniform(-6, 2, nb))
        d[0] = np.float32(3.4028235e38)
        d[1] = np.float32(1e-40)
        raw[:, 0:4] = d.reshape(nb, 1).view(np.uint8)
    cases.append(("random_bytes", nb * block_size, raw.reshape(-1)))
    # A second, smaller set where every scale field is an extreme or special value.
    raw2 = rng.integers(0, 256, 2 * type_size).astype(np.uint8).reshape(2, type_size)
    for off in f16_fields:
        raw2[:, off: off + 2] = np.array([0x7BFF, 0x0001], np.uint16).reshape(2, 1).view(np.uint8)
    if name == "q8_K":
        raw2[:, 0:4] = f32([-2.5e-3, 65504.0]).reshape(2, 1).view(np.uint8)
    cases.append(("extreme_scales", 2 * block_size, raw2.reshape(-1)))
    return cases


# ----------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llama-cpp", default=os.environ.get("LLAMA_CPP_DIR"), help="llama.cpp source tree (gguf-py inside)")
    ap.add_argument("--ggml-lib", default=None, help="path to libggml-base (optional)")
    ap.add_argument("--no-ggml", action="store_true", help="do not use libggml-base even if found")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    if not args.llama_cpp:
        sys.exit("give the llama.cpp tree with --llama-cpp DIR or $LLAMA_CPP_DIR (see the header of this script)")

    gguf, quants = load_gguf(args.llama_cpp)
    QT = gguf.GGMLQuantizationType
    lib_path = None if args.no_ggml else find_ggml_lib(args.ggml_lib)
    ggml = Ggml(lib_path) if lib_path else None

    def git_head(d: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", d, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        except Exception:
            return None

    lib_info = None
    if ggml:
        lib_info = {"file": os.path.basename(lib_path)}
        pkg = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(lib_path))), "package.json")
        if os.path.exists(pkg):
            with open(pkg) as fh:
                p = json.load(fh)
            lib_info["package"] = f"{p.get('name')}@{p.get('version')}"
        meta = os.path.join(os.path.dirname(lib_path), "_nlcBuildMetadata.json")
        if os.path.exists(meta):
            with open(meta) as fh:
                m = json.load(fh)
            lib_info["llama_cpp_release"] = m.get("buildOptions", {}).get("llamaCpp", {}).get("release")

    disagreements: list[dict] = []
    rng = np.random.default_rng(0x9F1A5)

    # ---- inputs
    inputs = make_inputs(rng)
    out: dict = {
        "about": "Golden vectors for ggml block formats; generated by scripts/gen-quant-goldens.py. See README.md.",
        "oracles": {
            "gguf_py": {"version": getattr(gguf, "__version__", None) or "see pyproject", "llama_cpp_commit": git_head(args.llama_cpp)},
            "ggml": lib_info,
        },
        "inputs": [{"name": nm, "n": int(x.size), "f32": b64(x)} for nm, x in inputs],
    }

    # ---- scalar conversions
    specials = np.array(
        [
            0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF812345,
            0x7FFFFFFF, 0x00000001, 0x807FFFFF, 0x3F800000, 0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001,
            0x47800000, 0x33000000, 0x33000001, 0x32FFFFFF, 0x33800000, 0x33C00000, 0x387FC000, 0x387FE000,
            0x38800000, 0x38801000, 0x38803000, 0x3F801000, 0x3F803000, 0x3F800FFF, 0x7F7FFFFF, 0x7F7F8000,
            0x7F7F7FFF, 0x3F808000, 0x3F818000, 0x3F807FFF, 0x00008000, 0x00018000, 0xC0490FDB,
        ],
        dtype=np.uint32,
    )
    rand_bits = rng.integers(0, 2**32, 3000, dtype=np.uint64).astype(np.uint32)
    in_range = f32(rng.standard_normal(3000) * 10.0 ** rng.uniform(-9, 5, 3000)).view(np.uint32)
    conv_bits = np.concatenate([specials, rand_bits, in_range])
    conv_f = conv_bits.view(np.float32)
    bf16_py = quants.quantize(conv_f, QT.BF16).view(np.uint16)
    with np.errstate(over="ignore"):
        f16_np = conv_f.astype(np.float16).view(np.uint16)
    is_nan = np.isnan(conv_f)
    if ggml:
        f16_ref = ggml.fp32_to_fp16(conv_f)
        bf16_c = ggml.fp32_to_bf16(conv_f)
        if not np.array_equal(bf16_c, bf16_py):
            disagreements.append({"what": "fp32->bf16 scalar", "count": int((bf16_c != bf16_py).sum())})
        diff = (f16_ref != f16_np) & ~is_nan
        if diff.any():
            disagreements.append({"what": "fp32->fp16 (non-NaN)", "count": int(diff.sum())})
        nan_diff = (f16_ref != f16_np) & is_nan
        if nan_diff.any():
            disagreements.append({
                "what": "fp32->fp16 of NaN: ggml gives sign|0x7E00, numpy keeps payload bits",
                "count": int(nan_diff.sum()),
                "example": {"f32": f"0x{int(conv_bits[np.argmax(nan_diff)]):08X}", "ggml": f"0x{int(f16_ref[np.argmax(nan_diff)]):04X}",
                            "numpy": f"0x{int(f16_np[np.argmax(nan_diff)]):04X}"},
            })
        f16_oracle = "ggml ggml_fp32_to_fp16_row"
    else:
        f16_ref = np.where(is_nan, (conv_bits >> 16).astype(np.uint16) & 0x8000 | 0x7E00, f16_np).astype(np.uint16)
        f16_oracle = "numpy astype(float16); NaN -> sign|0x7E00 per ggml_compute_fp32_to_fp16"
    out["conversions"] = {
        "f32": b64(conv_bits),
        "f16": b64(f16_ref.astype(np.uint16)),
        "bf16": b64(bf16_py.astype(np.uint16)),
        "oracle_f16": f16_oracle,
        "oracle_bf16": "gguf-py BF16.quantize" + (" (= ggml_fp32_to_bf16_row_ref)" if ggml else ""),
    }

    # ---- full tables
    all16 = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    np_f16 = all16.view(np.float16).astype(np.float32).view(np.uint32)
    np_f16_quiet = np.where(((all16 & 0x7C00) == 0x7C00) & ((all16 & 0x03FF) != 0), np_f16 | 0x00400000, np_f16).astype(np.uint32)
    bf16_py_tab = quants.dequantize(all16.view(np.uint8), QT.BF16).view(np.uint32)
    if ggml:
        c_f16 = ggml.fp16_to_fp32(all16).view(np.uint32)
        d = np.nonzero(c_f16 != np_f16)[0]
        if d.size:
            disagreements.append({
                "what": "fp16->fp32: ggml quiets signalling NaNs (sets bit 22), numpy keeps them signalling",
                "count": int(d.size),
                "example": {"f16": f"0x{int(d[0]):04X}", "ggml": f"0x{int(c_f16[d[0]]):08X}", "numpy": f"0x{int(np_f16[d[0]]):08X}"},
            })
        if not np.array_equal(c_f16, np_f16_quiet):
            disagreements.append({"what": "fp16->fp32 beyond NaN quieting", "count": int((c_f16 != np_f16_quiet).sum())})
        c_bf16 = ggml.bf16_to_fp32(all16).view(np.uint32)
        if not np.array_equal(c_bf16, bf16_py_tab):
            disagreements.append({"what": "bf16->fp32 table", "count": int((c_bf16 != bf16_py_tab).sum())})
        f16_tab, f16_tab_oracle = c_f16, "ggml ggml_fp16_to_fp32_row"
    else:
        f16_tab, f16_tab_oracle = np_f16_quiet, "numpy astype(float32) with signalling NaNs quieted"
    out["tables"] = {
        "f16_to_f32_sha256": hashlib.sha256(f16_tab.astype("<u4").tobytes()).hexdigest(),
        "f16_to_f32_oracle": f16_tab_oracle,
        "bf16_to_f32_sha256": hashlib.sha256(bf16_py_tab.astype("<u4").tobytes()).hexdigest(),
        "bf16_to_f32_oracle": "gguf-py BF16.dequantize",
    }

    # ---- per type
    types_out: dict = {}
    for name, tid, bs, ts, cname, f16_fields, py_quant in TYPES:
        qt = QT(tid)
        py_dequant = name != "q8_K"

        def py_deq(b: np.ndarray, n: int) -> np.ndarray:
            return np.asarray(quants.dequantize(b.reshape(1, -1), qt), dtype=np.float32).reshape(-1)

        def c_quant(x: np.ndarray) -> np.ndarray | None:
            if not ggml:
                return None
            if name == "f32":
                return x.view(np.uint8).copy()
            if name == "f16":
                return ggml.fp32_to_fp16(x).view(np.uint8)
            if name == "bf16":
                return ggml.fp32_to_bf16(x).view(np.uint8)
            return ggml.quantize(cname, x, ts, bs)

        def c_deq(b: np.ndarray, n: int) -> np.ndarray | None:
            if not ggml:
                return None
            if name == "f32":
                return b.view(np.float32).copy()
            if name == "f16":
                return ggml.fp16_to_fp32(b.view(np.uint16))
            if name == "bf16":
                return ggml.bf16_to_fp32(b.view(np.uint16))
            return ggml.dequantize(cname, b, n)

        def dequant_with_oracles(b: np.ndarray, n: int, where: str) -> tuple[np.ndarray | None, str | None]:
            ref_py = py_deq(b, n) if py_dequant else None
            ref_c = c_deq(b, n)
            if ref_py is not None and ref_c is not None and not same_bits(ref_py, ref_c):
                bad = np.nonzero(ref_py.view(np.uint32) != ref_c.view(np.uint32))[0]
                disagreements.append({"what": f"{name} dequantize {where}", "count": int(bad.size),
                                      "first": int(bad[0])})
            if ref_py is not None:
                return ref_py, "gguf-py"
            if ref_c is not None:
                return ref_c, "ggml"
            if name == "q8_K":  # trivial format: f32 d times int8 codes, in f32
                blk = b.reshape(-1, ts)
                d = blk[:, 0:4].copy().view(np.float32)
                qs = blk[:, 4: 4 + QK_K].view(np.int8).astype(np.float32)
                return (d * qs).reshape(-1).astype(np.float32), "numpy formula"
            return None, None

        quantized = []
        for in_name, x in inputs:
            case: dict = {"input": in_name}
            py_b = None
            if py_quant:
                with np.errstate(over="ignore"):
                    py_b = np.asarray(quants.quantize(x.reshape(1, -1), qt)).view(np.uint8).reshape(-1)
            c_b = c_quant(x)
            if py_b is not None and c_b is not None and not np.array_equal(py_b, c_b):
                bad = np.nonzero(py_b != c_b)[0]
                disagreements.append({"what": f"{name} quantize {in_name}", "count": int(bad.size), "first_byte": int(bad[0])})
                case["ggml_bytes"] = b64(c_b)
            bytes_ = py_b if py_b is not None else c_b
            if bytes_ is not None:
                case["bytes"] = b64(bytes_)
                case["bytes_oracle"] = "gguf-py" if py_b is not None else "ggml quantize_row_%s_ref" % cname
                deq, deq_oracle = dequant_with_oracles(bytes_, x.size, f"of quantized {in_name}")
                if deq is not None:
                    case["dequant"] = b64(deq)
                    case["dequant_oracle"] = deq_oracle
            quantized.append(case)

        random_cases = []
        for rname, n, raw in make_random_blocks(rng, name, bs, ts, f16_fields):
            deq, deq_oracle = dequant_with_oracles(raw, n, rname)
            c: dict = {"name": rname, "n": int(n), "bytes": b64(raw)}
            if deq is not None:
                c["dequant"] = b64(deq)
                c["dequant_oracle"] = deq_oracle
            random_cases.append(c)

        types_out[name] = {"id": tid, "block_size": bs, "type_size": ts, "quantized": quantized, "random_blocks": random_cases}

    out["types"] = types_out
    out["disagreements"] = disagreements

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    text = json.dumps(out, indent=1) + "\n"
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"wrote {args.out} ({len(text)} bytes); ggml lib: {lib_path or 'none'}")
    for d in disagreements:
        print("disagreement:", json.dumps(d))


if __name__ == "__main__":
    main()
