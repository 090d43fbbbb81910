#include "common/result.h"

#include <cctype>
#include <cerrno>
#include <cstring>

namespace berth {

Error errnoError(const std::string& what, int err) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT:
      code = ErrorCode::kNotFound;
      break;
    case EEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case EPERM:
    case EACCES:
    case EROFS:
      code = ErrorCode::kPermissionDenied;
      break;
    case EINVAL:
      code = ErrorCode::kInvalidArgument;
      break;
    case ENOSYS:
    case EOPNOTSUPP:
      code = ErrorCode::kUnsupported;
      break;
    case EAGAIN:
    case EBUSY:
      code = ErrorCode::kUnavailable;
      break;
    default:
      break;
  }
  // Causes read like the rest of our messages: "no such file or directory".
  std::string cause = std::strerror(err);
  if (!cause.empty())
    cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  return Error(code, what + ": " + cause);
}

}  // namespace berth
