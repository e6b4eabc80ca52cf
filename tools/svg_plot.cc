#include "tools/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mnemo {
namespace {

constexpr double kPanelWidth = 460, kPanelHeight = 320;
constexpr double kLeft = 64, kRight = 16, kTop = 36, kBottom = 48;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b"};

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A tick step of 1, 2 or 5 times a power of ten giving about `target` ticks.
double NiceStep(double span, int target) {
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  const double nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * power;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // Widened to whole ticks, and to a nonzero span.
  void Round(double* step) {
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
    *step = NiceStep(hi - lo, 5);
    lo = std::floor(lo / *step) * *step;
    hi = std::ceil(hi / *step) * *step;
  }
};

std::string TickLabel(double v, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step))));
  return absl::StrFormat("%.*f", decimals, v);
}

std::string RenderPanel(const Chart& chart, double x0) {
  Range xr, yr;
  for (double x : chart.x) xr.Add(x);
  for (const PlotSeries& s : chart.series)
    for (double y : s.y) yr.Add(y);
  double xstep, ystep;
  xr.Round(&xstep);
  yr.Round(&ystep);
  if (chart.x.size() <= 12) xstep = std::max(1.0, xstep);  // whole epochs

  const double w = kPanelWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom;
  auto px = [&](double x) { return x0 + kLeft + (x - xr.lo) / (xr.hi - xr.lo) * w; };
  auto py = [&](double y) { return kTop + h - (y - yr.lo) / (yr.hi - yr.lo) * h; };

  std::string svg;
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" "
                        "font-size=\"15\" font-weight=\"bold\">%s</text>\n",
                        x0 + kLeft + w / 2, Escape(chart.title));
  for (double y = yr.lo; y <= yr.hi + ystep / 2; y += ystep) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#e0e0e0\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                          "text-anchor=\"end\" font-size=\"11\">%s</text>\n",
                          px(xr.lo), py(y), px(xr.hi), py(y), px(xr.lo) - 6, py(y) + 4,
                          TickLabel(y, ystep));
  }
  for (double x = xr.lo; x <= xr.hi + xstep / 2; x += xstep) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#000\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                          "text-anchor=\"middle\" font-size=\"11\">%s</text>\n",
                          px(x), py(yr.lo), px(x), py(yr.lo) + 4, px(x), py(yr.lo) + 17,
                          TickLabel(x, xstep));
  }
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"none\" stroke=\"#000\"/>\n",
                        px(xr.lo), py(yr.hi), w, h);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                        "font-size=\"12\">%s</text>\n",
                        x0 + kLeft + w / 2, kPanelHeight - 10, Escape(chart.x_label));
  absl::StrAppendFormat(&svg,
                        "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
                        "text-anchor=\"middle\" font-size=\"12\">%s</text>\n",
                        x0 + 16, kTop + h / 2, Escape(chart.y_label));

  // The legend goes in the right-hand corner the lines stay away from: top
  // for falling curves (loss), bottom for rising ones (accuracy).
  double right_sum = 0;
  int right_count = 0;
  for (const PlotSeries& series : chart.series) {
    for (size_t i = 0; i < series.y.size() && i < chart.x.size(); ++i) {
      if (std::isfinite(series.y[i]) && px(chart.x[i]) > px(xr.lo) + w * 0.6) {
        right_sum += (series.y[i] - yr.lo) / (yr.hi - yr.lo);
        ++right_count;
      }
    }
  }
  const bool legend_at_bottom = right_count > 0 && right_sum / right_count > 0.5;
  const double legend_top =
      legend_at_bottom ? kTop + h - 10 - 16 * chart.series.size() : kTop + 4;

  for (size_t s = 0; s < chart.series.size(); ++s) {
    const PlotSeries& series = chart.series[s];
    const char* color = kColors[s % (sizeof(kColors) / sizeof(kColors[0]))];
    std::string points;
    for (size_t i = 0; i < series.y.size() && i < chart.x.size(); ++i) {
      if (!std::isfinite(series.y[i])) continue;
      absl::StrAppendFormat(&points, "%.1f,%.1f ", px(chart.x[i]), py(series.y[i]));
      if (!chart.markers) continue;
      absl::StrAppendFormat(&svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                            px(chart.x[i]), py(series.y[i]), color);
    }
    absl::StrAppendFormat(&svg,
                          "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" "
                          "stroke-width=\"2\"/>\n",
                          points, color);
    const double ly = legend_top + 10 + 16 * s;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"%s\" stroke-width=\"2\"/>\n<text x=\"%.1f\" "
                          "y=\"%.1f\" font-size=\"11\">%s</text>\n",
                          px(xr.hi) - 120, ly, px(xr.hi) - 100, ly, color, px(xr.hi) - 95,
                          ly + 4, Escape(series.name));
  }
  return svg;
}

}  // namespace

std::string RenderSvg(const std::vector<Chart>& charts) {
  const double width = kPanelWidth * std::max<size_t>(charts.size(), 1);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      width, kPanelHeight, width, kPanelHeight);
  for (size_t i = 0; i < charts.size(); ++i) {
    absl::StrAppend(&svg, RenderPanel(charts[i], kPanelWidth * i));
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace mnemo
