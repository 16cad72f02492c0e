#!/usr/bin/env python3
"""Reference vectors for src/backend/libm.ts, from this machine's glibc libm (expf, sinf, cosf) via ctypes.

  python3 scripts/libm-vectors.py            regenerate test/fixtures/libm/
  python3 scripts/libm-vectors.py --eval F [--variant V]
                                             filter: little-endian float32 inputs on stdin, F(x) on stdout
                                             (the live cross-check in test/backend/libm.test.ts uses this)
  python3 scripts/libm-vectors.py --info     JSON: glibc version, variants callable here

On x86-64, glibc resolves expf/sinf/cosf at load time (ifunc) to a build compiled with -mfma -mavx2
('fma', on CPUs with FMA and AVX2) or to a plain SSE2 build ('sse2'). The function ctypes gets is the
one this CPU runs. When that is the fma build, this script also finds the sse2 build by reading the
ifunc resolver's `lea target(%rip), %rax` (its default) so both variants get vectors; see find_variants.

Output files (all little-endian):
  pairs-<variant>-<fn>.bin  uint32 pairs (input bits, output bits): special values, random bit patterns,
                            random arguments in the ranges that matter, small RoPE angles, and every
                            input of the hashed sets where the two variants or the correctly rounded
                            value disagree (the cases that pin down the contractions)
  sets.json                 deterministic input sets too large to store (all RoPE angles for p < 4096
                            and sampled p up to 262144, dense exp arguments, strided bit patterns),
                            as FNV-1a hashes of the output bits per block of BLOCK values
"""

import array
import ctypes
import ctypes.util
import json
import math
import os
import platform
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'libm')
FUNCS = ('expf', 'sinf', 'cosf')
BLOCK = 16384

F32 = struct.Struct('<f')
U32 = struct.Struct('<I')

libm = ctypes.CDLL('libm.so.6')
libc = ctypes.CDLL(None)

FloatFn = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_float)


def bits_to_f(u):
    return F32.unpack(U32.pack(u))[0]


def f_to_bits(x):
    return U32.unpack(F32.pack(x))[0]


def f32(x):
    return F32.unpack(F32.pack(x))[0]


# ------------------------------------------------------------------------------------------------------
# Locating the glibc variants.

class DlInfo(ctypes.Structure):
    _fields_ = [('dli_fname', ctypes.c_char_p), ('dli_fbase', ctypes.c_void_p),
                ('dli_sname', ctypes.c_char_p), ('dli_saddr', ctypes.c_void_p)]


def cpu_has_fma_avx2():
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    return 'fma' in flags and 'avx2' in flags
    except OSError:
        pass
    return False


def native_variant():
    if platform.machine() != 'x86_64':
        return 'native'
    return 'fma' if cpu_has_fma_avx2() else 'sse2'


def ifunc_symbols(path):
    """st_value of the STT_GNU_IFUNC dynamic symbols named in FUNCS (ELF64 little-endian only)."""
    with open(path, 'rb') as fh:
        data = fh.read()
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        return {}
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum = struct.unpack_from('<HH', data, 0x3a)
    sections = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]
    out = {}
    for sh in sections:
        if sh[1] != 11:  # SHT_DYNSYM
            continue
        stroff = sections[sh[6]][4]
        for off in range(sh[4], sh[4] + sh[5], 24):
            name_off, info, _other, _shndx, value, _size = struct.unpack_from('<IBBHQQ', data, off)
            end = data.index(b'\0', stroff + name_off)
            name = data[stroff + name_off:end].decode()
            if name in FUNCS and (info & 0xf) == 10:  # STT_GNU_IFUNC
                out[name] = value
    return out


def find_variants():
    """{variant: {fn: ctypes function}} for the variants callable on this machine."""
    native = native_variant()
    variants = {native: {}}
    for fn in FUNCS:
        f = getattr(libm, fn)
        f.restype = ctypes.c_float
        f.argtypes = [ctypes.c_float]
        variants[native][fn] = f
    if native != 'fma':
        return variants
    try:
        info = DlInfo()
        addr = ctypes.cast(variants['fma']['expf'], ctypes.c_void_p).value
        if not libc.dladdr(ctypes.c_void_p(addr), ctypes.byref(info)):
            return variants
        base = info.dli_fbase
        resolvers = ifunc_symbols(info.dli_fname.decode())
        sse2 = {}
        for fn in FUNCS:
            resolved = ctypes.cast(variants['fma'][fn], ctypes.c_void_p).value
            res = base + resolvers[fn]
            code = ctypes.string_at(res, 64)
            targets = {}
            for i in range(len(code) - 7):
                if code[i] == 0x48 and code[i + 1] == 0x8d and code[i + 2] in (0x05, 0x15):  # lea d32(%rip), %rax/%rdx
                    disp, = struct.unpack_from('<i', code, i + 3)
                    targets.setdefault('rax' if code[i + 2] == 0x05 else 'rdx', res + i + 7 + disp)
            # Expected shape: default (sse2) in %rax, the fma build in %rdx and equal to what dlsym resolved.
            if targets.get('rdx') != resolved or 'rax' not in targets or targets['rax'] == resolved:
                return variants
            sse2[fn] = FloatFn(targets['rax'])
        # Sanity: the sse2 build must agree with the fma build to within an ulp on ordinary arguments.
        for fn in FUNCS:
            for x in (0.3, 1.7, -2.5, 10.1, 60.25, 1000.5):
                a, b = variants['fma'][fn](x), sse2[fn](x)
                if abs(a - b) > 1e-6 * max(1.0, abs(a)):
                    return variants
        variants['sse2'] = sse2
    except Exception:  # noqa: BLE001 - best effort; the native variant alone is still useful
        pass
    return variants


def glibc_version():
    try:
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        return libc.gnu_get_libc_version().decode()
    except Exception:  # noqa: BLE001
        return 'unknown'


# ------------------------------------------------------------------------------------------------------
# Evaluation helpers.

def eval_bits(fn, in_bits):
    """Output bits of fn over an array('I') of input bits."""
    xs = array.array('f')
    xs.frombytes(in_bits.tobytes())
    ys = array.array('f', map(fn, xs))
    out = array.array('I')
    out.frombytes(ys.tobytes())
    return out


def fnv_blocks(out_bits):
    hashes = []
    for start in range(0, len(out_bits), BLOCK):
        h = 0x811c9dc5
        for w in out_bits[start:start + BLOCK]:
            h = ((h ^ w) * 16777619) & 0xffffffff
        hashes.append(h)
    return hashes


def rope_inputs(scale, p0, p1, pstep, half):
    """theta = float(p); emit theta; theta *= theta_scale (in float), half times per p, as ggml does."""
    out = array.array('I')
    for p in range(p0, p1, pstep):
        theta = f32(float(p))
        for _ in range(half):
            out.append(f_to_bits(theta))
            theta = f32(theta * scale)
    return out


def strided_inputs(lo, hi, stride):
    return array.array('I', range(lo, hi, stride))


# ------------------------------------------------------------------------------------------------------

def cmd_eval(fn, variant):
    variants = find_variants()
    if variant not in variants:
        sys.stderr.write(f'variant {variant} not callable here (have {sorted(variants)})\n')
        sys.exit(2)
    data = sys.stdin.buffer.read()
    xs = array.array('f')
    xs.frombytes(data[:len(data) // 4 * 4])
    ys = array.array('f', map(variants[variant][fn], xs))
    sys.stdout.buffer.write(ys.tobytes())


# Every finite float on which glibc 2.36's fma and sse2 builds of these functions disagree (found by an
# exhaustive comparison of the two builds over all 2^32 inputs): the vectors that decide which operations
# must be fused. All lie in the |x| < 120 reduction path of sinf/cosf, and two in expf.
VARIANT_SPLITTERS = {
    'expf': [0x4202422f, 0xc27c65d9],
    'sinf': [0x4255b0a9, 0x42a35c07, 0x42a35d44, 0x42a97360, 0x42cf5854, 0x42e87a55],
    'cosf': [0x418a3adb, 0x418a3adc, 0x418a3add, 0x418a3ade, 0x41bc76d9, 0x4202eb4b, 0x42687a55, 0x4280ce28,
             0x42870e40, 0x42c55faa, 0x42d8d23e],
}


def special_inputs():
    vals = set()
    for us in VARIANT_SPLITTERS.values():
        for u in us:
            vals.add(u)
            vals.add(u | 0x80000000)
    for u in (0, 1, 2, 3, 0x7fffff, 0x400000, 0x800000, 0x800001, 0x7f7fffff, 0x7f800000, 0x7fc00000,
              0x7f800001, 0x7fffffff, 0x3f800000, 0x3f7fffff):
        vals.add(u)
        vals.add(u | 0x80000000)
    for e in range(256):  # every power of two, and its neighbours
        for m in (0, 1, 0x7fffff, 0x400000):
            vals.add((e << 23) | m)
            vals.add((e << 23) | m | 0x80000000)
    # thresholds: expf special cases; sinf/cosf paths
    hexf = float.fromhex
    for x in (88.0, hexf('0x1.62e42ep6'), hexf('-0x1.9fe368p6'), hexf('-0x1.9d1d9ep6'), -88.0, hexf('0x1p-12'), 0.75,
              120.0, math.pi / 4, hexf('0x1p-126'), 89.0, -104.0, -103.0, 100.0, 1e30):
        for s in (1, -1):
            u = f_to_bits(f32(s * x))
            for d in range(-3, 4):
                vals.add((u + d) & 0xffffffff)
    # nearest floats to multiples of pi/2 (hard reductions), in the fast and the large path
    for k in range(1, 200):
        x = f32(k * math.pi / 2)
        u = f_to_bits(x)
        for d in (-1, 0, 1):
            vals.add(u + d)
            vals.add((u + d) | 0x80000000)
    for k in range(1, 2000):
        u = f_to_bits(f32(k * 12345.678 * math.pi / 2))
        vals.add(u)
        vals.add(u | 0x80000000)
    return sorted(vals)


def cmd_generate():
    os.makedirs(OUT_DIR, exist_ok=True)
    variants = find_variants()
    names = sorted(variants)
    sys.stderr.write(f'glibc {glibc_version()}, variants: {names}\n')
    rng = random.Random(20240611)

    # --- hashed sets
    sets = []
    scales = {}
    for base in (10000.0, 500000.0, 5000000.0, 1000000.0):
        for n in (16, 32, 64, 128):
            powf = libm.powf
            powf.restype = ctypes.c_float
            powf.argtypes = [ctypes.c_float, ctypes.c_float]
            scale = powf(base, f32(-2.0 / n))
            scales[(base, n)] = scale
            sets.append({'kind': 'rope', 'base': base, 'n': n, 'thetaScaleBits': f_to_bits(scale),
                         'p0': 0, 'p1': 4096, 'pstep': 1, 'funcs': ['cosf', 'sinf']})
            sets.append({'kind': 'rope', 'base': base, 'n': n, 'thetaScaleBits': f_to_bits(scale),
                         'p0': 4096, 'p1': 262145, 'pstep': 509, 'funcs': ['cosf', 'sinf']})
    f_89, f_104 = f_to_bits(89.0), f_to_bits(-104.0)
    sets.append({'kind': 'strided', 'lo': 0, 'hi': f_89 + 1, 'stride': 257, 'funcs': ['expf']})
    sets.append({'kind': 'strided', 'lo': 0x80000000, 'hi': f_104 + 1, 'stride': 257, 'funcs': ['expf']})
    sets.append({'kind': 'strided', 'lo': 0, 'hi': 0x7f800000, 'stride': 1021, 'funcs': ['sinf', 'cosf']})
    sets.append({'kind': 'strided', 'lo': 0x80000000, 'hi': 0xff800000, 'stride': 1021, 'funcs': ['sinf', 'cosf']})

    interesting = {fn: set() for fn in FUNCS}  # inputs where variants or correct rounding disagree
    total = 0
    for s in sets:
        if s['kind'] == 'rope':
            ins = rope_inputs(bits_to_f(s['thetaScaleBits']), s['p0'], s['p1'], s['pstep'], s['n'] // 2)
        else:
            ins = strided_inputs(s['lo'], s['hi'], s['stride'])
        s['count'] = len(ins)
        s['blocks'] = {}
        for fn in s['funcs']:
            outs = {}
            for v in names:
                outs[v] = eval_bits(variants[v][fn], ins)
                s['blocks'][f'{v}/{fn}'] = [f'{h:08x}' for h in fnv_blocks(outs[v])]
            total += len(ins) * len(names)
            ref = outs[names[0]]
            pyfn = {'expf': math.exp, 'sinf': math.sin, 'cosf': math.cos}[fn]
            xs = array.array('f')
            xs.frombytes(ins.tobytes())
            for i, x in enumerate(xs):
                r = ref[i]
                if any(outs[v][i] != r for v in names[1:]):
                    interesting[fn].add(ins[i])
                    continue
                try:
                    cr = f_to_bits(f32(pyfn(x)))
                except OverflowError:
                    continue
                if cr != r:
                    interesting[fn].add(ins[i])
        sys.stderr.write(f"  set {s['kind']} {s.get('base', '')} {s.get('n', '')}: {s['count']} inputs\n")

    # --- explicit pairs
    special = special_inputs()
    special_set = set(special)
    manifest = {'glibc': glibc_version(), 'machine': platform.machine(), 'variants': names, 'files': {},
                'hashedCount': total, 'block': BLOCK, 'sets': sets}
    for fn in FUNCS:
        ins = list(special)
        ins += [rng.getrandbits(32) for _ in range(10000)]
        if fn == 'expf':
            ins += [f_to_bits(f32(rng.uniform(-104.0, 89.0))) for _ in range(10000)]
        else:
            ins += [f_to_bits(f32(rng.uniform(-300.0, 300.0))) for _ in range(5000)]
            ins += [f_to_bits(f32(rng.uniform(0.0, 262144.0))) for _ in range(5000)]
            for base, n in scales:
                ins += list(rope_inputs(scales[(base, n)], 0, 4, 1, n // 2))
        pick = sorted(interesting[fn])
        rng.shuffle(pick)
        ins += sorted(pick[:12000])
        seen = set()
        ins = [u for u in ins if not (u in seen or seen.add(u))]
        in_arr = array.array('I', ins)
        for v in names:
            # the second variant only needs what distinguishes it: specials, random bits, disagreements
            sub = in_arr if v == names[0] else array.array('I', [u for u in ins if u in interesting[fn] or u in special_set or rng.random() < 0.15])
            out = eval_bits(variants[v][fn], sub)
            pairs = array.array('I')
            for a, b in zip(sub, out):
                pairs.append(a)
                pairs.append(b)
            if sys.byteorder != 'little':
                pairs.byteswap()
            name = f'pairs-{v}-{fn}.bin'
            with open(os.path.join(OUT_DIR, name), 'wb') as fh:
                fh.write(pairs.tobytes())
            manifest['files'][name] = len(sub)
            sys.stderr.write(f'  {name}: {len(sub)} pairs ({len(interesting[fn])} disagreements found)\n')
    manifest['disagreements'] = {fn: len(interesting[fn]) for fn in FUNCS}
    with open(os.path.join(OUT_DIR, 'sets.json'), 'w') as fh:
        json.dump(manifest, fh, indent=1)
        fh.write('\n')


def main(argv):
    if len(argv) >= 2 and argv[0] == '--eval':
        variant = argv[argv.index('--variant') + 1] if '--variant' in argv else None
        if variant is None:
            variant = native_variant()
        cmd_eval(argv[1], variant)
    elif argv[:1] == ['--info']:
        print(json.dumps({'glibc': glibc_version(), 'machine': platform.machine(), 'native': native_variant(),
                          'variants': sorted(find_variants())}))
    elif not argv:
        cmd_generate()
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == '__main__':
    main(sys.argv[1:])
