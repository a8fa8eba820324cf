/*
 * intake_onc.acoustics._speedups: the power / dB step of custom spectrograms, in one pass.
 *
 * Why C (the brief: hand-write only where a library cannot reach the target). After the FFT of
 * a block of frames, each spectrum value z becomes 10*log10(|z|^2). numpy needs four passes for
 * that (square, add the re/im pairs, np.log, scale), and its float32 log costs 1.8-2.4 ns a
 * value on this project's AVX2 machines (numpy 2.4; numexpr 7 ns): ~55 ms of a 5-minute 64 kHz
 * file whose FFT alone takes ~100-130 ms, which put the spectrogram at 0.5-0.7x the speed of
 * the bare FFT single-threaded (target 0.8x). Here the same work is one loop the compiler
 * vectorises (8 lanes with AVX2+FMA, picked at run time; 4 with SSE2/NEON otherwise), in
 * strips of 1024 values that stay in L1: |z|^2 (AVX2: two loads, two squares, one horizontal
 * add and one lane permute per 8 values; the compiler's own de-interleaving took 0.38 ns a
 * value), then the log in place (~0.5 ns a value).
 *
 * The natural log is FreeBSD's e_logf.c / Cephes logf reduction and polynomial: x = 2^k * m
 * with m in [sqrt(2)/2, sqrt(2)), ln(m) = f - f^2/2 + f^3 P(f), f = m - 1; error within a few
 * float32 ulp (the tests compare it with numpy's float64 log over every binade), without
 * branches so that it vectorises. A strip holding zero, a subnormal, inf or NaN (rare: silence,
 * NaN frames over gaps) is redone with the careful variant: ln 0 = -inf, subnormals scaled by
 * 2^25 first, inf and NaN as themselves. A missing compiler only costs speed: the package falls
 * back to numpy (intake_onc/_stft.py) when this module is absent.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define HAVE_AVX2_DISPATCH 1
#include <immintrin.h>
#else
#define HAVE_AVX2_DISPATCH 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define NOINLINE static __attribute__((noinline))
#define RESTRICT __restrict__
#else
#define ALWAYS_INLINE static __inline
#define NOINLINE static
#define RESTRICT
#endif

#define STRIP 1024

ALWAYS_INLINE float as_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
ALWAYS_INLINE uint32_t as_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* ln of the float whose bits are ix, for positive, normal, finite floats */
ALWAYS_INLINE float ln_normal(uint32_t ix) {
    uint32_t iy = ix + (0x3f800000u - 0x3f3504f3u);
    int32_t k = (int32_t)(iy >> 23) - 0x7f;
    float f = as_float((iy & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float z = f * f;
    float p = 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    float dk = (float)k;
    float y = f * z * p + dk * -2.12194440e-4f - 0.5f * z;
    return (f + y) + dk * 0.693359375f;
}

/* ln x for any x >= +0 (a power): -inf for 0, subnormals rescaled, inf and NaN unchanged */
ALWAYS_INLINE float ln_nonneg(float x) {
    uint32_t ix = as_bits(x);
    uint32_t tiny = 0u - (uint32_t)(ix < 0x00800000u);   /* zero or subnormal: all ones */
    float xs = x * as_float((0x4c000000u & tiny) | (0x3f800000u & ~tiny));  /* x * 2^25 or x */
    float r = ln_normal(as_bits(xs)) - as_float(0x418aa123u & tiny);   /* - 25 ln 2 if tiny */
    uint32_t rb = as_bits(r);
    uint32_t zero = 0u - (uint32_t)(ix == 0u);
    uint32_t special = 0u - (uint32_t)(ix >= 0x7f800000u);
    rb = (rb & ~zero) | (0xff800000u & zero);
    rb = (rb & ~special) | (ix & special);
    return as_float(rb);
}

/* o[j] = re^2 + im^2 of the complex values z[2j], z[2j + 1] (two roundings, as numpy does) */
NOINLINE void power_baseline(const float *RESTRICT z, float *RESTRICT o, Py_ssize_t n) {
    for (Py_ssize_t j = 0; j < n; j++) {
        float a = z[2 * j] * z[2 * j], b = z[2 * j + 1] * z[2 * j + 1];
        o[j] = a + b;
    }
}

/* halve the powers of bins `dc` and `nyq` (not doubled in a one-sided spectrum: the scale doubles
 * every bin) where they fall in the strip o[0 .. n) of bins k0 .. k0 + n - 1; -1: no such bin */
#define HALVE_EDGES(o, k0, n, dc, nyq)                                                    \
    do {                                                                                  \
        if ((dc) >= (k0) && (dc) < (k0) + (n)) (o)[(dc) - (k0)] *= 0.5f;                  \
        if ((nyq) >= (k0) && (nyq) < (k0) + (n)) (o)[(nyq) - (k0)] *= 0.5f;               \
    } while (0)

/* o[j] = scale * ln o[j] + offset over a strip; redone carefully from z if the strip holds an odd
 * value */
#define LN_STRIP(power, z, o, n, scale, offset, k0, dc, nyq)                              \
    do {                                                                                  \
        uint32_t bad = 0;                                                                 \
        for (Py_ssize_t j = 0; j < (n); j++) {                                            \
            uint32_t ix = as_bits((o)[j]);                                                \
            bad |= (uint32_t)(ix - 0x00800000u >= 0x7f000000u);                           \
            (o)[j] = (scale) * ln_normal(ix) + (offset);                                  \
        }                                                                                 \
        if (bad) {                                                                        \
            power((z), (o), (n));                                                         \
            HALVE_EDGES((o), (k0), (n), (dc), (nyq));                                     \
            for (Py_ssize_t j = 0; j < (n); j++)                                          \
                (o)[j] = (scale) * ln_nonneg((o)[j]) + (offset);                          \
        }                                                                                 \
    } while (0)

/* out[i, j] = scale * |z[i, first + j]|^2, or scale * ln |z|^2 + offset (db), the DC and Nyquist
 * bins of a one-sided spectrum of nfft-sample frames halved first (nfft = 0: none); rows of z
 * hold zrow complex values */
#define POWER_ROWS(power)                                                                 \
    Py_ssize_t dc = nfft > 0 ? 0 : -1;                                                    \
    Py_ssize_t nyq = nfft > 0 && nfft % 2 == 0 ? nfft / 2 : -1;                           \
    for (Py_ssize_t i = 0; i < rows; i++) {                                               \
        const float *zr = z + 2 * (i * zrow + first);                                     \
        float *o = out + i * cols;                                                        \
        for (Py_ssize_t s = 0; s < cols; s += STRIP) {                                    \
            Py_ssize_t n = cols - s < STRIP ? cols - s : STRIP;                           \
            power(zr + 2 * s, o + s, n);                                                  \
            HALVE_EDGES(o + s, first + s, n, dc, nyq);                                    \
            if (db) {                                                                     \
                LN_STRIP(power, zr + 2 * s, o + s, n, scale, offset, first + s, dc, nyq); \
            } else {                                                                      \
                for (Py_ssize_t j = s; j < s + n; j++) o[j] *= scale;                     \
            }                                                                             \
        }                                                                                 \
    }

typedef void (*power_rows_fn)(const float *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t,
                              Py_ssize_t, int, float, float, Py_ssize_t);

static void power_rows_baseline(const float *z, Py_ssize_t zrow, Py_ssize_t first, float *out,
                                Py_ssize_t rows, Py_ssize_t cols, int db, float scale,
                                float offset, Py_ssize_t nfft) {
    POWER_ROWS(power_baseline)
}

#if HAVE_AVX2_DISPATCH
__attribute__((target("avx2,fma"))) static void power_avx2(const float *z, float *o,
                                                           Py_ssize_t n) {
    Py_ssize_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 a = _mm256_loadu_ps(z + 2 * j), b = _mm256_loadu_ps(z + 2 * j + 8);
        a = _mm256_mul_ps(a, a);
        b = _mm256_mul_ps(b, b);
        __m256 h = _mm256_hadd_ps(a, b); /* p0 p1 p4 p5 | p2 p3 p6 p7 */
        h = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h), 0xD8));
        _mm256_storeu_ps(o + j, h);
    }
    if (j < n) power_baseline(z + 2 * j, o + j, n - j); /* no FMA contraction there */
}

__attribute__((target("avx2,fma"))) static void power_rows_avx2(
    const float *z, Py_ssize_t zrow, Py_ssize_t first, float *out, Py_ssize_t rows,
    Py_ssize_t cols, int db, float scale, float offset, Py_ssize_t nfft) {
    POWER_ROWS(power_avx2)
}
#endif

static power_rows_fn power_rows = power_rows_baseline;
static const char *simd_name = "baseline";

PyDoc_STRVAR(power_doc,
"power(spectra, out, first, db, scale, offset=0.0, nfft=0)\n"
"\n"
"out[i, j] = scale * |spectra[i, first + j]|**2, or scale * ln |...|**2 + offset when db\n"
"is true (dB: scale = 10 / ln 10, offset = 10 log10 of the PSD scaling). With nfft > 0\n"
"(spectra = rfft of nfft-sample frames) the powers of the DC and Nyquist bins are halved\n"
"first: the scale doubles every bin of a one-sided spectrum but those.\n"
"\n"
"spectra: C-contiguous complex64 buffer of shape (rows, n); out: C-contiguous float32\n"
"buffer of shape (rows, cols), with first + cols <= n. Releases the GIL.");

static PyObject *py_power(PyObject *self, PyObject *args) {
    PyObject *zo, *oo;
    Py_buffer zb, ob;
    Py_ssize_t first;
    int db;
    float scale, offset = 0.0f;
    Py_ssize_t nfft = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOnpf|fn", &zo, &oo, &first, &db, &scale, &offset, &nfft))
        return NULL;
    if (PyObject_GetBuffer(zo, &zb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (PyObject_GetBuffer(oo, &ob, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&zb);
        return NULL;
    }
    PyObject *result = NULL;
    if (zb.ndim != 2 || ob.ndim != 2 || zb.format == NULL || ob.format == NULL ||
        strcmp(zb.format, "Zf") != 0 || strcmp(ob.format, "f") != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "power: expected 2-D C-contiguous complex64 spectra and float32 out");
        goto done;
    }
    Py_ssize_t rows = zb.shape[0], zrow = zb.shape[1], cols = ob.shape[1];
    if (ob.shape[0] != rows || first < 0 || first + cols > zrow) {
        PyErr_SetString(PyExc_ValueError, "power: out's shape does not fit the spectra");
        goto done;
    }
    if (nfft < 0 || (nfft > 0 && nfft / 2 + 1 != zrow)) {
        PyErr_SetString(PyExc_ValueError, "power: nfft does not match the spectra's length");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    power_rows((const float *)zb.buf, zrow, first, (float *)ob.buf, rows, cols, db, scale,
               offset, nfft);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&zb);
    PyBuffer_Release(&ob);
    return result;
}

static PyMethodDef methods[] = {
    {"power", py_power, METH_VARARGS, power_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "intake_onc.acoustics._speedups",
    "Compiled kernels for intake_onc (optional: numpy fallbacks exist).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void) {
#if HAVE_AVX2_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        power_rows = power_rows_avx2;
        simd_name = "avx2+fma";
    }
#endif
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddStringConstant(m, "simd", simd_name) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
