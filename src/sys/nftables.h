#pragma once
// nftables through libnftables: a script in the nft language applied as one transaction
// (all of it or nothing), and a listing. No `nft` process is started.
//
// Thread-safety: calls serialise on one process-wide context.

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::sys {

// Applies `script` atomically in the calling thread's network namespace. On a rejected
// script the error carries nft's own message (it names the line and the token).
Status nftApply(std::string_view script);
// `nft list …` output, e.g. nftList("table ip berth"); kNotFound when it does not exist.
Result<std::string> nftList(std::string_view what);

}  // namespace berth::sys
