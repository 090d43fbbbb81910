#pragma once
// ldns, included the one safe way. Without a prior <stdbool.h>, ldns/common.h defines
// `true` and `false` as macros for 1 and 0 in C++, which breaks the standard library
// headers included after it (std::optional's operator<=>, for one).

#include <stdbool.h>  // NOLINT: sets __bool_true_false_are_defined, see above

#include <ldns/ldns.h>
