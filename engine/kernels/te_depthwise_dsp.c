/* int8 depthwise convolutions for Cortex-M4/M7 (DSP); see te_depthwise_dsp.h. */
#include "te_depthwise_dsp.h"

#include "te_dsp.h"
#include "te_window.h"

/* One call's constants. */
typedef struct {
  const int8_t *input;
  const int16_t *filter;
  const int32_t *params;
  int in_h, in_w, channels, k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
  int mode; /* te_dsp_mode */
  /* Derived once per call rather than per group. */
  int row_step, col_step, group_taps; /* input bytes between taps; int16 per group's filter */
  uint32_t offset2;                  /* input offset in both int16 lanes */
} te_dw_dsp;

static te_dw_dsp te_dw_make(te_dw_dsp d) {
  d.row_step = d.dilation_h * d.in_w * d.channels;
  d.col_step = d.dilation_w * d.channels;
  d.group_taps = d.k_h * d.k_w * 4;
  d.offset2 = ((uint32_t)d.input_offset & 0xFFFFu) * 0x10001u;
  return d;
}

/* Output pixel (oy, ox)'s receptive field: tap (0, 0)'s input pixel and the
 * taps [ky0, ky1) x [kx0, kx1) inside the input. */
typedef struct {
  const int8_t *x;
  int ky0, ky1, kx0, kx1;
} te_dw_field;

static te_dw_field te_dw_field_at(const te_dw_dsp *d, int oy, int ox) {
  te_dw_field f;
  const int iy0 = oy * d->stride_h - d->pad_top, ix0 = ox * d->stride_w - d->pad_left;
  te_tap_range(iy0, d->in_h, d->k_h, d->dilation_h, &f.ky0, &f.ky1);
  te_tap_range(ix0, d->in_w, d->k_w, d->dilation_w, &f.kx0, &f.kx1);
  f.x = d->input + (iy0 * d->in_w + ix0) * d->channels;
  return f;
}

/* acc[0..3] += (x + offset) * w over the taps [ky0, ky1) x [kx0, kx1) of the
 * 4 channels at x (x at tap (0, 0)). Inlined with constant bounds for whole
 * 3x3/5x5/7x7 windows, so those unroll into straight-line code. */
static inline __attribute__((always_inline)) void te_dw_taps4(const int8_t *x, const int16_t *w, int ky0, int ky1,
                                                              int kx0, int kx1, int k_w, int row_step, int col_step,
                                                              uint32_t offset2, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (int ky = ky0; ky < ky1; ++ky) {
    const int8_t *xr = x + ky * row_step;
    const int16_t *wr = w + ky * k_w * 4;
    for (int kx = kx0; kx < kx1; ++kx) {
      const uint32_t v = te_dsp_load32(xr + kx * col_step);
      const uint64_t ww = te_dsp_load64(wr + kx * 4);
      const int32_t x02 = (int32_t)__sxtab16(offset2, v), x13 = te_dsp_odd_add(offset2, v);
      const int32_t w02 = (int32_t)ww, w13 = (int32_t)(ww >> 32);
      a0 = __smlabb(x02, w02, a0);
      a2 = __smlatt(x02, w02, a2);
      a1 = __smlabb(x13, w13, a1);
      a3 = __smlatt(x13, w13, a3);
    }
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* The 4 output bytes of channels [c, c+4) at one pixel into out[0..3];
 * `mode` is a constant in each inlined copy (te_dw_groups). */
static inline __attribute__((always_inline)) void te_dw_group(const te_dw_dsp *d, const te_dw_field *f, int c,
                                                              int8_t *out, int mode) {
  const int32_t *p = d->params + c * TE_DSP_PARAMS;
  int32_t acc[4] = {p[0], p[TE_DSP_PARAMS], p[2 * TE_DSP_PARAMS], p[3 * TE_DSP_PARAMS]};
  const int16_t *w = d->filter + (c >> 2) * d->group_taps;
  const int row_step = d->row_step, col_step = d->col_step;
  const uint32_t offset2 = d->offset2;
  const int8_t *x = f->x + c;
  const int k = d->k_h;
  const int whole = f->ky0 == 0 && f->ky1 == k && f->kx0 == 0 && f->kx1 == d->k_w && k == d->k_w;
  if (whole && k == 3) {
    te_dw_taps4(x, w, 0, 3, 0, 3, 3, row_step, col_step, offset2, acc);
  } else if (whole && k == 5) {
    te_dw_taps4(x, w, 0, 5, 0, 5, 5, row_step, col_step, offset2, acc);
  } else {
    te_dw_taps4(x, w, f->ky0, f->ky1, f->kx0, f->kx1, d->k_w, row_step, col_step, offset2, acc);
  }
  for (int j = 0; j < 4; ++j) {
    out[j] = te_dsp_output(acc[j], p + j * TE_DSP_PARAMS, d->output_offset, d->act_min, d->act_max, mode);
  }
}

/* Groups [c0, c1) (multiples of 4) at one pixel; group c's bytes go to
 * out + c * step / 4 (step 4: contiguous channels; 4 * pixels: planes). */
static void te_dw_groups(const te_dw_dsp *d, const te_dw_field *f, int c0, int c1, int8_t *out, int step) {
  switch (d->mode) {
    case 0:
      for (int c = c0; c < c1; c += 4) te_dw_group(d, f, c, out + (c - c0) / 4 * step, 0);
      break;
    case TE_DSP_CLAMP:
      for (int c = c0; c < c1; c += 4) te_dw_group(d, f, c, out + (c - c0) / 4 * step, TE_DSP_CLAMP);
      break;
    case TE_DSP_WIDE:
      for (int c = c0; c < c1; c += 4) te_dw_group(d, f, c, out + (c - c0) / 4 * step, TE_DSP_WIDE);
      break;
    default:
      for (int c = c0; c < c1; c += 4) te_dw_group(d, f, c, out + (c - c0) / 4 * step, TE_DSP_WIDE | TE_DSP_CLAMP);
  }
}

/* Channel c (one of the last channels % 4) at one pixel, scalar. */
static int8_t te_dw_channel(const te_dw_dsp *d, const te_dw_field *f, int c) {
  static const int lane[4] = {0, 2, 1, 3}; /* position of channel c % 4 in a group's tap */
  const int32_t *p = d->params + c * TE_DSP_PARAMS;
  const int16_t *w = d->filter + (c / 4) * d->k_h * d->k_w * 4 + lane[c % 4];
  int32_t acc = p[0];
  for (int ky = f->ky0; ky < f->ky1; ++ky) {
    for (int kx = f->kx0; kx < f->kx1; ++kx) {
      const int8_t x = f->x[(ky * d->dilation_h * d->in_w + kx * d->dilation_w) * d->channels + c];
      acc += (x + d->input_offset) * w[(ky * d->k_w + kx) * 4];
    }
  }
  return te_dsp_output(acc, p, d->output_offset, d->act_min, d->act_max, d->mode);
}

void te_depthwise_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int16_t *filter, int k_h,
                         int k_w, const int32_t *params, int8_t *output, int out_h, int out_w, int stride_h,
                         int stride_w, int dilation_h, int dilation_w, int pad_top, int pad_left,
                         int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max, int wide) {
  const te_dw_dsp d = te_dw_make((te_dw_dsp){input,      filter,     params,  in_h,     in_w,         channels,      k_h,
                       k_w,        stride_h,   stride_w, dilation_h, dilation_w, pad_top,       pad_left,
                       input_offset, output_offset, act_min, act_max, te_dsp_mode(act_min, act_max, wide),
                       0, 0, 0, 0});
  const int groups_end = channels & ~3;
  for (int oy = 0; oy < out_h; ++oy) {
    for (int ox = 0; ox < out_w; ++ox) {
      const te_dw_field f = te_dw_field_at(&d, oy, ox);
      int8_t *out = output + (oy * out_w + ox) * channels;
      te_dw_groups(&d, &f, 0, groups_end, out, 4);
      for (int c = groups_end; c < channels; ++c) out[c] = te_dw_channel(&d, &f, c);
    }
  }
}

void te_depthwise_inplace_s8_dsp(const int8_t *input, int in_h, int in_w, int channels, const int16_t *filter,
                                 int k_h, int k_w, const int32_t *params, int8_t *output, int out_h, int out_w,
                                 int stride_h, int stride_w, int dilation_h, int dilation_w, int pad_top,
                                 int pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
                                 int32_t act_max, int wide, void *scratch) {
  const te_dw_dsp d = te_dw_make((te_dw_dsp){input,      filter,     params,  in_h,     in_w,         channels,      k_h,
                       k_w,        stride_h,   stride_w, dilation_h, dilation_w, pad_top,       pad_left,
                       input_offset, output_offset, act_min, act_max, te_dsp_mode(act_min, act_max, wide),
                       0, 0, 0, 0});
  const int pixels = out_h * out_w;
  int8_t *plane = (int8_t *)scratch;
  for (int c = 0; c < channels; c += 4) {
    const int n = TE_MIN(4, channels - c);
    for (int oy = 0, p = 0; oy < out_h; ++oy) {
      for (int ox = 0; ox < out_w; ++ox, ++p) {
        const te_dw_field f = te_dw_field_at(&d, oy, ox);
        if (n == 4) {
          te_dw_groups(&d, &f, c, c + 4, plane + 4 * p, 4);
        } else {
          for (int j = 0; j < n; ++j) plane[4 * p + j] = te_dw_channel(&d, &f, c + j);
        }
      }
    }
    /* Input channels [c, c + n) are consumed: their bytes take the output. */
    if (n == 4) {
      for (int p = 0; p < pixels; ++p) te_dsp_store32(output + p * channels + c, te_dsp_load32(plane + 4 * p));
    } else {
      for (int p = 0; p < pixels; ++p) {
        for (int j = 0; j < n; ++j) output[p * channels + c + j] = plane[4 * p + j];
      }
    }
  }
}
