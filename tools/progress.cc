#include "tools/progress.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace mnemo {
namespace {

constexpr int kBarWidth = 30;
// A terminal redraws at most this often: drawing every batch would cost more
// than a small batch's step.
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

ProgressBar::ProgressBar(std::FILE* out)
    : out_(out), interactive_(isatty(fileno(out)) != 0) {}

void ProgressBar::Start(std::string label, int total) {
  label_ = std::move(label);
  total_ = std::max(total, 1);
  next_quarter_ = 1;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_ - kRedrawInterval;
}

void ProgressBar::Update(int done, const std::string& detail) {
  const double fraction = std::min(1.0, static_cast<double>(done) / total_);
  if (!interactive_) {
    if (fraction * 4 + 1e-9 < next_quarter_) return;
    next_quarter_ = static_cast<int>(fraction * 4) + 1;
    absl::FPrintF(out_, "%s: %d/%d %s\n", label_, done, total_, detail);
    std::fflush(out_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  const int filled = static_cast<int>(fraction * kBarWidth);
  const double elapsed = SecondsSince(start_);
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  absl::FPrintF(out_, "\r\033[K%s [%s%s] %d/%d %s eta %.1fs", label_,
                std::string(filled, '#'), std::string(kBarWidth - filled, '.'), done,
                total_, detail, eta);
  std::fflush(out_);
}

void ProgressBar::Finish() {
  if (interactive_) {
    absl::FPrintF(out_, "\r\033[K");
    std::fflush(out_);
  }
}

}  // namespace mnemo
