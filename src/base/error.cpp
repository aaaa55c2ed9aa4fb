#include "amr/base/error.h"

#include <c10/util/Exception.h>

namespace amr {

std::string one_line(const std::exception& e) {
  std::string msg;
  if (auto* c10e = dynamic_cast<const c10::Error*>(&e)) {
    msg = c10e->msg();
  } else {
    msg = e.what();
  }
  auto nl = msg.find('\n');
  if (nl != std::string::npos) msg = msg.substr(0, nl);
  return msg;
}

}  // namespace amr
