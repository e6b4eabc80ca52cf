#ifndef MNEMO_CORE_FORMAT_BYTES_H_
#define MNEMO_CORE_FORMAT_BYTES_H_

#include <string>

namespace mnemo {

// "512 B", "1.5 KiB", "291.4 MiB": a size as people read it, in binary units,
// for messages and tool output.
std::string FormatBytes(double bytes);

}  // namespace mnemo

#endif  // MNEMO_CORE_FORMAT_BYTES_H_
