// Pillow's resize, transcribed from Pillow 9.4's libImaging/Resample.c (ImagingResample,
// precompute_coeffs, normalize_coeffs_8bpc, ImagingResample{Horizontal,Vertical}_8bpc) and
// Geometry.c (ImagingScaleAffine, used for NEAREST). Every double/int step is kept in the
// same order so the bytes agree; this file is compiled with -ffp-contract=off.
#include "image/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "util/error.h"

namespace attn {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_filter(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * M_PI;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));  // float constants, as in Pillow
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x = x * M_PI;
  return std::sin(x) / x;
}

double lanczos_filter(double x) {
  if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
  return 0.0;
}

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_of(PilFilter f) {
  switch (f) {
    case PilFilter::Box: return {box_filter, 0.5};
    case PilFilter::Bilinear: return {bilinear_filter, 1.0};
    case PilFilter::Hamming: return {hamming_filter, 1.0};
    case PilFilter::Bicubic: return {bicubic_filter, 2.0};
    case PilFilter::Lanczos: return {lanczos_filter, 3.0};
    case PilFilter::Nearest: break;
  }
  return {bilinear_filter, 1.0};
}

// One axis of a resize: for each output index, the first input index, the count, and
// `ksize` fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> first, count;  // (out)
  std::vector<int32_t> k;         // (out, ksize)
};

Coeffs precompute_coeffs(int in_size, float in0, float in1, int out_size, const Filter& filter) {
  double scale = double(in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = filter.support * filterscale;
  Coeffs c;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  std::vector<double> kk(size_t(out_size) * c.ksize, 0.0);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);  // truncation toward zero, as in C
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double* k = &kk[size_t(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x)
      if (ww != 0.0) k[x] /= ww;
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  // normalize_coeffs_8bpc
  c.k.resize(kk.size());
  for (size_t i = 0; i < kk.size(); ++i)
    c.k[i] = kk[i] < 0 ? int32_t(-0.5 + kk[i] * (1 << kPrecisionBits)) : int32_t(0.5 + kk[i] * (1 << kPrecisionBits));
  return c;
}

uint8_t clip8(int v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return uint8_t(v >> kPrecisionBits);
}

// ImagingScaleAffine with a[0] = in_w / out_w, a[4] = in_h / out_h, fill = 1.
Rgb8Image nearest(const Rgb8View& in, int width, int height) {
  auto coord = [](double v) { return v < 0.0 ? -1 : int(v); };
  const double ax = double(float(in.width)) / width, ay = double(float(in.height)) / height;
  std::vector<int> xin(width, -1);
  double xo = 0.0 + ax * 0.5;
  for (int x = 0; x < width; ++x) {
    const int xi = coord(xo);
    if (xi >= 0 && xi < in.width) xin[x] = xi;
    xo += ax;
  }
  Rgb8Image out(width, height);
  double yo = 0.0 + ay * 0.5;
  for (int y = 0; y < height; ++y) {
    const int yi = coord(yo);
    if (yi >= 0 && yi < in.height) {
      const uint8_t* src = in.row(yi);
      uint8_t* dst = out.row(y);
      for (int x = 0; x < width; ++x)
        if (xin[x] >= 0) std::memcpy(dst + 3 * x, src + 3 * xin[x], 3);
    }
    yo += ay;
  }
  return out;
}

}  // namespace

std::optional<PilFilter> pil_filter_from_code(int code) {
  if (code < 0 || code > 5) return std::nullopt;
  return PilFilter(code);
}

std::string pil_filter_name(PilFilter filter) {
  switch (filter) {
    case PilFilter::Nearest: return "nearest";
    case PilFilter::Lanczos: return "lanczos";
    case PilFilter::Bilinear: return "bilinear";
    case PilFilter::Bicubic: return "bicubic";
    case PilFilter::Box: return "box";
    case PilFilter::Hamming: return "hamming";
  }
  return "?";
}

Rgb8Image pil_resize(const Rgb8View& in, int width, int height, PilFilter filter) {
  if (!in.data || in.width <= 0 || in.height <= 0) throw Error("cannot resize an empty image");
  if (width <= 0 || height <= 0)
    throw Error("cannot resize an image to " + std::to_string(width) + "x" + std::to_string(height) + " pixels");
  Rgb8Image out(width, height);
  if (width == in.width && height == in.height) {  // Pillow returns a copy
    for (int y = 0; y < height; ++y) std::memcpy(out.row(y), in.row(y), size_t(width) * 3);
    return out;
  }
  if (filter == PilFilter::Nearest) return nearest(in, width, height);

  const Filter f = filter_of(filter);
  const bool need_h = width != in.width, need_v = height != in.height;
  const Coeffs ch = precompute_coeffs(in.width, 0.0f, float(in.width), width, f);
  const Coeffs cv = precompute_coeffs(in.height, 0.0f, float(in.height), height, f);

  // Horizontal pass over the rows the vertical pass will read: (rows, width, 3), 8-bit.
  const int y_first = cv.first[0];
  const int y_last = cv.first[height - 1] + cv.count[height - 1];
  Rgb8Image tmp;
  Rgb8View src = in;
  int row_offset = 0;  // index of src's row 0 in the input
  if (need_h) {
    tmp = Rgb8Image(width, y_last - y_first);
#pragma omp parallel for if (size_t(tmp.height) * width > 65536)
    for (int yy = 0; yy < tmp.height; ++yy) {
      const uint8_t* row = in.row(yy + y_first);
      uint8_t* dst = tmp.row(yy);
      for (int xx = 0; xx < width; ++xx) {
        const int xmin = ch.first[xx], xmax = ch.count[xx];
        const int32_t* k = &ch.k[size_t(xx) * ch.ksize];
        int ss0 = 1 << (kPrecisionBits - 1), ss1 = ss0, ss2 = ss0;
        for (int x = 0; x < xmax; ++x) {
          const uint8_t* p = row + 3 * (x + xmin);
          ss0 += p[0] * k[x];
          ss1 += p[1] * k[x];
          ss2 += p[2] * k[x];
        }
        dst[3 * xx + 0] = clip8(ss0);
        dst[3 * xx + 1] = clip8(ss1);
        dst[3 * xx + 2] = clip8(ss2);
      }
    }
    src = tmp.view();
    row_offset = y_first;
  }
  if (!need_v) {
    for (int y = 0; y < height; ++y) std::memcpy(out.row(y), src.row(y), size_t(width) * 3);
    return out;
  }
#pragma omp parallel for if (size_t(height) * width > 65536)
  for (int yy = 0; yy < height; ++yy) {
    const int ymin = cv.first[yy] - row_offset, ymax = cv.count[yy];
    const int32_t* k = &cv.k[size_t(yy) * cv.ksize];
    uint8_t* dst = out.row(yy);
    for (int xx = 0; xx < width; ++xx) {
      int ss0 = 1 << (kPrecisionBits - 1), ss1 = ss0, ss2 = ss0;
      for (int y = 0; y < ymax; ++y) {
        const uint8_t* p = src.row(y + ymin) + 3 * xx;
        ss0 += p[0] * k[y];
        ss1 += p[1] * k[y];
        ss2 += p[2] * k[y];
      }
      dst[3 * xx + 0] = clip8(ss0);
      dst[3 * xx + 1] = clip8(ss1);
      dst[3 * xx + 2] = clip8(ss2);
    }
  }
  return out;
}

}  // namespace attn
