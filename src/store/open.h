#pragma once
// Picks the Store implementation from one address, as berthd's flags give it:
//   etcd://HOST:PORT              EtcdStore (clusters; `berthd --cluster etcd://…`)
//   sqlite:///ABSOLUTE/PATH.db    EmbeddedStore in that file (one host, the default)
// Anything else is kInvalidArgument naming the two forms.

#include <memory>
#include <string>

#include "store/store.h"

namespace berth::store {

Result<std::unique_ptr<Store>> openStore(const std::string& address);

}  // namespace berth::store
