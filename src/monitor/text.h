#pragma once
// Text built in caller-owned fixed buffers: the monitor's and berth-init's only string type
// (no allocation, no libstdc++ state). Pure functions, no system calls.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace berth::monitor {

// Appends into buf[0..cap); always NUL-terminated. On overflow the text is cut and
// overflow() turns true, so a caller checks once at the end instead of at every append.
class Text {
 public:
  Text(char* buf, size_t cap) : buf_(buf), cap_(cap) { buf_[0] = '\0'; }
  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;

  Text& add(const char* s, size_t n) {
    size_t room = cap_ - 1 - len_;
    if (n > room) {
      n = room;
      overflow_ = true;
    }
    std::memcpy(buf_ + len_, s, n);
    len_ += n;
    buf_[len_] = '\0';
    return *this;
  }
  Text& add(const char* s) { return add(s, std::strlen(s)); }
  Text& add(char c) { return add(&c, 1); }
  Text& addUnsigned(uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (n) add(tmp[--n]);
    return *this;
  }
  Text& addSigned(int64_t v) {
    if (v < 0) {
      add('-');
      return addUnsigned(0 - static_cast<uint64_t>(v));
    }
    return addUnsigned(static_cast<uint64_t>(v));
  }

  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }
  bool overflow() const { return overflow_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool overflow_ = false;
};

// A Text with its own storage.
template <size_t N>
class TextBuf : public Text {
 public:
  TextBuf() : Text(storage_, N) {}

 private:
  char storage_[N];
};

// Parses a whole decimal string ("0".."18446744073709551615"); false on anything else.
inline bool parseUnsigned(const char* s, uint64_t* out) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return false;
    uint64_t d = static_cast<uint64_t>(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm), so that no time zone
// code is linked in.
inline void civilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

inline constexpr size_t kTimestampLen = 30;  // "2026-11-28T18:30:00.123456789Z"

// Formats UNIX nanoseconds as RFC 3339 in UTC with all nine fractional digits (docker's
// RFC3339NanoFixed). out must hold kTimestampLen + 1 bytes; returns kTimestampLen.
inline size_t formatTimestamp(int64_t unix_ns, char* out) {
  int64_t secs = unix_ns / 1000000000;
  int64_t nanos = unix_ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t year;
  unsigned month, day;
  civilFromDays(days, &year, &month, &day);
  auto put = [](char* p, uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(out, static_cast<uint64_t>(year < 0 ? 0 : year), 4);
  out[4] = '-';
  put(out + 5, month, 2);
  out[7] = '-';
  put(out + 8, day, 2);
  out[10] = 'T';
  put(out + 11, static_cast<uint64_t>(rem / 3600), 2);
  out[13] = ':';
  put(out + 14, static_cast<uint64_t>(rem / 60 % 60), 2);
  out[16] = ':';
  put(out + 17, static_cast<uint64_t>(rem % 60), 2);
  out[19] = '.';
  put(out + 20, static_cast<uint64_t>(nanos), 9);
  out[29] = 'Z';
  out[30] = '\0';
  return kTimestampLen;
}

}  // namespace berth::monitor
