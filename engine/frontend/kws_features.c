/* Keyword-spotting front end; see kws_features.h for the pipeline.
 *
 * Everything is single-precision float, as the tf.signal pipeline used in training
 * (float32 throughout). The results differ from TF only by float rounding: TF's FFT
 * and matrix products sum in other orders. mcunet_tf/datasets/frontend_c.py and
 * tests/data/test_frontend_c.py measure the difference on real audio.
 */
#include "kws_features.h"

#include <math.h>

/* Scratch layout, in floats: FFT real and imaginary parts, magnitudes, mel energies, one frame of output. */
typedef struct {
  float *re;
  float *im;
  float *magnitude;
  float *mel;
  float *frame;
} kws_scratch;

static int is_power_of_two(int32_t n) { return n > 0 && (n & (n - 1)) == 0; }

static int config_ok(const kws_frontend *fe) {
  return is_power_of_two(fe->fft_length) && fe->window_samples > 0 && fe->window_samples <= fe->fft_length &&
         fe->stride_samples > 0 && fe->num_frames > 0 && fe->num_mel_bins > 0 &&
         fe->num_coefficients >= 0 && fe->num_coefficients <= fe->num_mel_bins &&
         (fe->num_frames - 1) * fe->stride_samples + fe->window_samples <= fe->clip_samples;
}

int32_t kws_features_per_frame(const kws_frontend *fe) {
  return fe->num_coefficients > 0 ? fe->num_coefficients : fe->num_mel_bins;
}

size_t kws_features_scratch_bytes(const kws_frontend *fe) {
  size_t floats = 2 * (size_t)fe->fft_length + (size_t)(fe->fft_length / 2 + 1) + (size_t)fe->num_mel_bins +
                  (size_t)kws_features_per_frame(fe);
  return floats * sizeof(float);
}

static kws_scratch split_scratch(const kws_frontend *fe, void *scratch) {
  kws_scratch s;
  s.re = (float *)scratch;
  s.im = s.re + fe->fft_length;
  s.magnitude = s.im + fe->fft_length;
  s.mel = s.magnitude + fe->fft_length / 2 + 1;
  s.frame = s.mel + fe->num_mel_bins;
  return s;
}

/* int16 -> float exactly as tf.audio.decode_wav (x / 32768 is exact in float). Past the end: zero padding. */
static float sample(const int16_t *audio, int32_t num_samples, int32_t t) {
  return t < num_samples ? (float)audio[t] * (1.0f / 32768.0f) : 0.0f;
}

/* The divisor of the normalisation; 1 when the mode is none or the peak is <= 0 (silence stays finite). */
static float peak_of(const kws_frontend *fe, const int16_t *audio, int32_t num_samples) {
  float peak = num_samples < fe->clip_samples ? 0.0f : -1.0f; /* zero padding takes part in the max */
  int32_t n = num_samples < fe->clip_samples ? num_samples : fe->clip_samples;
  int32_t t;
  if (fe->normalize == KWS_NORMALIZE_NONE) return 1.0f;
  for (t = 0; t < n; ++t) {
    float v = sample(audio, num_samples, t);
    if (fe->normalize == KWS_NORMALIZE_ABS_MAX) v = fabsf(v);
    if (v > peak) peak = v;
  }
  return peak > 0.0f ? peak : 1.0f;
}

static int32_t bit_reverse(int32_t i, int32_t bits) {
  int32_t r = 0;
  int32_t b;
  for (b = 0; b < bits; ++b) r = (r << 1) | ((i >> b) & 1);
  return r;
}

/* In-place iterative radix-2 decimation-in-time FFT, forward sign e^{-2 pi i k n / N}.
 * The input must already be in bit-reversed order. */
static void fft_radix2(const kws_frontend *fe, float *re, float *im) {
  int32_t n = fe->fft_length;
  int32_t len, i, j;
  for (len = 2; len <= n; len <<= 1) {
    int32_t half = len / 2;
    int32_t step = n / len; /* twiddle index stride for this stage */
    for (i = 0; i < n; i += len) {
      for (j = 0; j < half; ++j) {
        float wr = fe->twiddle_cos[j * step];
        float wi = -fe->twiddle_sin[j * step];
        int32_t a = i + j, b = i + j + half;
        float tr = wr * re[b] - wi * im[b];
        float ti = wr * im[b] + wi * re[b];
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

/* One frame: windowed samples -> |FFT| -> mel -> log -> (DCT) into s->frame. */
static void frame_features(const kws_frontend *fe, const int16_t *audio, int32_t num_samples, int32_t start,
                           float peak, const kws_scratch *s) {
  int32_t bits = 0, i, k, m;
  const float *weight = fe->mel_weights;
  while ((1 << bits) < fe->fft_length) ++bits;
  for (i = 0; i < fe->fft_length; ++i) {
    int32_t r = bit_reverse(i, bits);
    /* Same operation order as TF: normalise (exact IEEE division), then window. */
    s->re[r] = i < fe->window_samples ? (sample(audio, num_samples, start + i) / peak) * fe->window[i] : 0.0f;
    s->im[r] = 0.0f;
  }
  fft_radix2(fe, s->re, s->im);
  for (k = 0; k <= fe->fft_length / 2; ++k) s->magnitude[k] = hypotf(s->re[k], s->im[k]);
  for (m = 0; m < fe->num_mel_bins; ++m) {
    float acc = 0.0f;
    for (k = 0; k < fe->mel_count[m]; ++k) acc += weight[k] * s->magnitude[fe->mel_start[m] + k];
    weight += fe->mel_count[m];
    s->mel[m] = logf(acc + fe->log_offset);
  }
  if (fe->num_coefficients == 0) {
    for (m = 0; m < fe->num_mel_bins; ++m) s->frame[m] = s->mel[m];
    return;
  }
  for (k = 0; k < fe->num_coefficients; ++k) {
    float acc = 0.0f;
    for (m = 0; m < fe->num_mel_bins; ++m) acc += fe->dct[k * fe->num_mel_bins + m] * s->mel[m];
    s->frame[k] = acc;
  }
}

int kws_features_float(const kws_frontend *fe, const int16_t *audio, int32_t num_samples, float *out,
                       void *scratch) {
  kws_scratch s;
  float peak;
  int32_t f, k, per_frame;
  if (!config_ok(fe)) return KWS_BAD_CONFIG;
  s = split_scratch(fe, scratch);
  peak = peak_of(fe, audio, num_samples);
  per_frame = kws_features_per_frame(fe);
  for (f = 0; f < fe->num_frames; ++f) {
    frame_features(fe, audio, num_samples, f * fe->stride_samples, peak, &s);
    for (k = 0; k < per_frame; ++k) out[f * per_frame + k] = s.frame[k];
  }
  return KWS_OK;
}

/* TFLite QUANTIZE: round half away from zero (roundf) of v / scale, plus zero point, saturated to int8. */
static int8_t quantize_one(float v, float scale, int32_t zero_point) {
  float r = roundf(v / scale);
  int32_t q;
  /* Bound before the int conversion (out-of-range float -> int is undefined); any |r| > 512 saturates anyway. */
  r = r < -512.0f ? -512.0f : (r > 512.0f ? 512.0f : r);
  q = (int32_t)r + zero_point;
  return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

int kws_features_int8(const kws_frontend *fe, const int16_t *audio, int32_t num_samples, float scale,
                      int32_t zero_point, int8_t *out, void *scratch) {
  kws_scratch s;
  float peak;
  int32_t f, k, per_frame;
  if (!config_ok(fe) || !(scale > 0.0f)) return KWS_BAD_CONFIG;
  s = split_scratch(fe, scratch);
  peak = peak_of(fe, audio, num_samples);
  per_frame = kws_features_per_frame(fe);
  for (f = 0; f < fe->num_frames; ++f) {
    frame_features(fe, audio, num_samples, f * fe->stride_samples, peak, &s);
    for (k = 0; k < per_frame; ++k) out[f * per_frame + k] = quantize_one(s.frame[k], scale, zero_point);
  }
  return KWS_OK;
}
