/* Keyword-spotting front end: 16 kHz int16 audio -> MFCC / log-mel -> int8 model input.
 *
 * The same pipeline as mcunet_tf/datasets/features.py (tf.signal in training):
 *   x = pcm / 32768; x /= max(x) (if normalize and max > 0);
 *   per frame: x[t0 .. t0 + window) * hann -> |FFT(fft_length)| -> mel (sparse triangles)
 *   -> log(mel + log_offset) -> DCT-II * sqrt(2/M) (first num_coefficients; 0 = log-mel)
 *   -> int8 = clamp(roundf(v / scale) + zero_point)   (TFLite QUANTIZE rounding)
 *
 * Portable C99, single-precision float, no malloc, no static state: the tables
 * (window, twiddles, mel filters, DCT) are const arrays generated from a
 * FeatureConfig by mcunet_tf/datasets/frontend_c.py, and the caller provides
 * kws_features_scratch_bytes() of float-aligned scratch.
 */
#ifndef KWS_FEATURES_H_
#define KWS_FEATURES_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Normalisation before framing (FeatureConfig.normalize). */
enum { KWS_NORMALIZE_NONE = 0, KWS_NORMALIZE_MAX = 1, KWS_NORMALIZE_ABS_MAX = 2 };

/* Status codes. */
enum { KWS_OK = 0, KWS_BAD_CONFIG = 1 };

typedef struct {
  int32_t clip_samples;     /* input length; shorter input is zero-padded */
  int32_t window_samples;   /* frame length */
  int32_t stride_samples;   /* frame step */
  int32_t fft_length;       /* power of two >= window_samples */
  int32_t num_frames;
  int32_t num_mel_bins;
  int32_t num_coefficients; /* MFCCs kept; 0 = output log-mel (num_mel_bins values per frame) */
  int32_t normalize;        /* KWS_NORMALIZE_* */
  float log_offset;
  const float *window;        /* [window_samples] periodic Hann */
  const float *twiddle_cos;   /* [fft_length / 2]: cos(2 pi k / fft_length) */
  const float *twiddle_sin;   /* [fft_length / 2]: sin(2 pi k / fft_length) */
  const int16_t *mel_start;   /* [num_mel_bins] first FFT bin of each triangle */
  const int16_t *mel_count;   /* [num_mel_bins] bins in each triangle */
  const float *mel_weights;   /* concatenated triangle weights, sum(mel_count) values */
  const float *dct;           /* [num_coefficients][num_mel_bins] */
} kws_frontend;

/* Features per frame (num_coefficients, or num_mel_bins for log-mel). */
int32_t kws_features_per_frame(const kws_frontend *fe);

/* Scratch bytes kws_features_float / kws_features_int8 need. */
size_t kws_features_scratch_bytes(const kws_frontend *fe);

/* Float features [num_frames][features_per_frame] of num_samples int16 samples.
 * scratch: kws_features_scratch_bytes(fe) bytes aligned for float. */
int kws_features_float(const kws_frontend *fe, const int16_t *audio, int32_t num_samples,
                       float *out, void *scratch);

/* The same features quantised to the model's int8 input (scale, zero_point of its input tensor). */
int kws_features_int8(const kws_frontend *fe, const int16_t *audio, int32_t num_samples,
                      float scale, int32_t zero_point, int8_t *out, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* KWS_FEATURES_H_ */
