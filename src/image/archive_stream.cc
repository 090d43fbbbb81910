#include "image/archive_stream.h"

#include <unistd.h>

#include <cerrno>

namespace berth::image {

namespace {

la_ssize_t readCallback(archive* a, void* client, const void** out) {
  auto* in = static_cast<StreamIn*>(client);
  auto n = in->read(in->buf.data(), in->buf.size());
  if (!n) {
    in->error = n.error();
    archive_set_error(a, EIO, "%s", n.error().message().c_str());
    return -1;
  }
  *out = in->buf.data();
  return static_cast<la_ssize_t>(*n);
}

la_ssize_t writeCallback(archive* a, void* client, const void* buf, size_t size) {
  auto* out = static_cast<StreamOut*>(client);
  auto s = out->write(std::string_view(static_cast<const char*>(buf), size));
  if (!s) {
    out->error = s.error();
    archive_set_error(a, EIO, "%s", s.error().message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

}  // namespace

ByteReader fdReader(int fd) {
  return [fd](char* buf, size_t size) -> Result<size_t> {
    while (true) {
      ssize_t n = ::read(fd, buf, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return errnoError("read", errno);
    }
  };
}

ByteWriter fdWriter(int fd) {
  return [fd](std::string_view data) -> Status {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errnoError("write", errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return okStatus();
  };
}

int openRead(archive* a, StreamIn& in) {
  return archive_read_open(a, &in, nullptr, readCallback, nullptr);
}

int openWrite(archive* a, StreamOut& out) {
  // Blocks of 1 MiB (libarchive's default is 10 KiB: one small write, and one HTTP chunk,
  // each); the last one is not padded.
  archive_write_set_bytes_per_block(a, 1 << 20);
  archive_write_set_bytes_in_last_block(a, 1);
  return archive_write_open(a, &out, nullptr, writeCallback, nullptr);
}

}  // namespace berth::image
