#include "sys/caps.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/strings.h"
#include "sys/fs.h"

namespace berth::sys {
namespace {

bool contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

int lastCapability() {
  static int last = [] {
    auto text = readFile("/proc/sys/kernel/cap_last_cap");
    if (!text) return CAP_LAST_CAP;
    return static_cast<int>(parseInt(trim(*text)).value_or(CAP_LAST_CAP));
  }();
  return last;
}

Status dropBoundingSet(const std::vector<int>& keep) {
  for (int cap = 0; cap <= lastCapability(); ++cap) {
    if (contains(keep, cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return errnoError("drop capability " + std::to_string(cap) + " from the bounding set", errno);
    }
  }
  return okStatus();
}

Status setCapabilities(const CapabilitySets& sets, std::vector<std::string>* warnings) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  auto fill = [&](const std::vector<int>& caps, auto member) {
    for (int c : caps) {
      if (c > lastCapability()) continue;  // unknown to this kernel: nothing to grant
      data[c / 32].*member |= 1u << (c % 32);
    }
  };
  fill(sets.effective, &__user_cap_data_struct::effective);
  fill(sets.permitted, &__user_cap_data_struct::permitted);
  fill(sets.inheritable, &__user_cap_data_struct::inheritable);
  if (::syscall(SYS_capset, &header, data) != 0) return errnoError("set capabilities", errno);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return errnoError("clear ambient capabilities", errno);
  }
  for (int c : sets.ambient) {
    if (c > lastCapability()) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0) {
      warnings->push_back("skip ambient capability " + std::to_string(c) +
                          ": it must be in the permitted and inheritable sets");
    }
  }
  return okStatus();
}

}  // namespace berth::sys
