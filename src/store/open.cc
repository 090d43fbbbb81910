#include "store/open.h"

#include "common/strings.h"
#include "store/embedded_store.h"
#include "store/etcd_store.h"

namespace berth::store {

Result<std::unique_ptr<Store>> openStore(const std::string& address) {
  if (startsWith(address, "etcd://")) {
    EtcdOptions options;
    options.endpoint = address.substr(7);
    auto s = EtcdStore::open(options);
    if (!s) return s.error().context("open store " + quote(address));
    return std::unique_ptr<Store>(std::move(*s));
  }
  if (startsWith(address, "sqlite://")) {
    std::string path = address.substr(9);
    if (!startsWith(path, "/"))
      return invalidArgument("open store " + quote(address) +
                             ": the path must be absolute (sqlite:///var/lib/berth/store.db)");
    auto s = EmbeddedStore::open(path);
    if (!s) return s.error();
    return std::unique_ptr<Store>(std::move(*s));
  }
  return invalidArgument("open store " + quote(address) +
                         ": want etcd://HOST:PORT or sqlite:///PATH");
}

}  // namespace berth::store
