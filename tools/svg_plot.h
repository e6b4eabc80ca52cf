#ifndef MNEMO_TOOLS_SVG_PLOT_H_
#define MNEMO_TOOLS_SVG_PLOT_H_

#include <string>
#include <vector>

namespace mnemo {

struct PlotSeries {
  std::string name;
  std::vector<double> y;  // one value per x
};

// One panel: several lines over a shared x axis.
struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<double> x;
  std::vector<PlotSeries> series;
  // A marker on every point; false for dense series (a rate per step).
  bool markers = true;
};

// A self-contained SVG with the charts side by side: axes with round tick
// values, a marker per point, and a legend. Non-finite values are skipped.
std::string RenderSvg(const std::vector<Chart>& charts);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_SVG_PLOT_H_
