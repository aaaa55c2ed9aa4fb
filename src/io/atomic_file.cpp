#include "amr/io/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "amr/base/error.h"

namespace fs = std::filesystem;

namespace amr {

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& writer) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    writer(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write " + path + ": " + ec.message());
  }
}

void write_bytes_atomically(const std::string& path, const char* data, size_t size) {
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
    out.write(data, static_cast<std::streamsize>(size));
    out.close();
    if (!out) throw Error("cannot write " + path + ": write failed (disk full?)");
  });
}

std::vector<char> read_file_bytes(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(what + " " + path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(what + " " + path + ": cannot open: " + std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes;
}

void ensure_dir(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw Error(flag + " " + dir + ": cannot create directory: " + ec.message());
  if (::access(dir.c_str(), W_OK) != 0) throw Error(flag + " " + dir + ": directory is not writable");
}

int remove_stale_temp_files(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string digits = name.substr(at + 5);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // its writer may still run
    std::error_code rm;
    if (fs::remove(e.path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace amr
