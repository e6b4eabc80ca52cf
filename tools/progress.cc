#include "tools/progress.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace mnemo {
namespace {

constexpr int kBarWidth = 30;
// A terminal redraws at most this often: drawing every batch would cost more
// than a small batch's step.
constexpr absl::Duration kRedrawInterval = absl::Milliseconds(100);

}  // namespace

ProgressBar::ProgressBar(std::FILE* out)
    : out_(out), interactive_(isatty(fileno(out)) != 0) {}

void ProgressBar::Start(std::string label, int total) {
  label_ = std::move(label);
  total_ = std::max(total, 1);
  next_quarter_ = 1;
  since_start_.Restart();
  since_draw_.reset();
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
  if (done < total_ && since_draw_.has_value() && since_draw_->Elapsed() < kRedrawInterval) return;
  since_draw_.emplace();
  const int filled = static_cast<int>(fraction * kBarWidth);
  const double elapsed = since_start_.ElapsedSeconds();
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
