#pragma once
// A non-owning reference to a callable, for callbacks on the scheduler's hot path where
// std::function's possible allocation and copy would cost more than the call.

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace berth::scheduler {

template <typename Sig>
class FunctionRef;

template <typename R, typename... A>
class FunctionRef<R(A...)> {
 public:
  // The callable must outlive this reference (pass temporaries only as call arguments).
  template <typename F>
  requires(!std::same_as<std::remove_cvref_t<F>, FunctionRef>)
      FunctionRef(F&& f)  // NOLINT: implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, A... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...);
        }) {}

  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

}  // namespace berth::scheduler
