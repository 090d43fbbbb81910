#pragma once
// Byte streams for libarchive: archives are read from a pull function and written to a
// push function, so that a load, import or save works the same on a file, a pipe or an
// HTTP body, with no need to seek.

#include <archive.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "image/content_store.h"

namespace berth::image {

using ByteReader = ContentStore::Reader;  // bytes read into buf; 0 at the end
using ByteWriter = std::function<Status(std::string_view data)>;

// Reads the whole of `fd` (not closed).
ByteReader fdReader(int fd);
// Writes all of each chunk to `fd` (not closed).
ByteWriter fdWriter(int fd);

// The state of an archive opened on a stream; must outlive the archive's use. When the
// stream itself failed, `error` holds its error (prefer it to libarchive's message).
struct StreamIn {
  explicit StreamIn(ByteReader r) : read(std::move(r)) {}
  ByteReader read;
  std::string buf = std::string(1 << 20, '\0');
  std::optional<Error> error;
};
struct StreamOut {
  explicit StreamOut(ByteWriter w) : write(std::move(w)) {}
  ByteWriter write;
  std::optional<Error> error;
};

// archive_read_open / archive_write_open with the stream as client; ARCHIVE_OK or an
// error code as libarchive returns.
int openRead(archive* a, StreamIn& in);
int openWrite(archive* a, StreamOut& out);

}  // namespace berth::image
