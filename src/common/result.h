#pragma once
// Errors are values: every fallible function returns Result<T> (or Status, which is
// Result<void>). An Error carries one code from a small closed set and a message that
// reads "operation 'name': cause"; callers add context as the error travels up.

#include <string>
#include <utility>
#include <variant>

namespace berth {

enum class ErrorCode {
  kInvalidArgument,  // the caller's input is wrong (malformed JSON, bad option)
  kNotFound,         // a named thing does not exist
  kAlreadyExists,    // a named thing exists already
  kConflict,         // the thing is in a state that forbids the operation
  kUnsupported,      // the host or this build cannot do it
  kPermissionDenied,
  kUnavailable,  // a transient failure; trying again may help
  kInternal,     // a kernel call or invariant failed
};

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns this error with "what: " put in front of the message.
  Error context(const std::string& what) const { return Error(code_, what + ": " + message_); }

 private:
  ErrorCode code_;
  std::string message_;
};

inline Error invalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error notFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error alreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
inline Error conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
inline Error unsupported(std::string m) { return {ErrorCode::kUnsupported, std::move(m)}; }
inline Error internalError(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
inline Error unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }

// Maps an errno to an Error whose message is "what: strerror(err)".
Error errnoError(const std::string& what, int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;
inline Status okStatus() { return {}; }

}  // namespace berth

// Returns early with the error of a failed Status/Result.
#define BERTH_RETURN_IF_ERROR(expr)              \
  do {                                           \
    auto&& berth_s_ = (expr);                    \
    if (!berth_s_.ok()) return berth_s_.error(); \
  } while (0)

// Evaluates a Result<T>; on error returns it, otherwise yields the value.
#define BERTH_TRY(expr)                          \
  ({                                             \
    auto&& berth_r_ = (expr);                    \
    if (!berth_r_.ok()) return berth_r_.error(); \
    std::move(berth_r_).value();                 \
  })
