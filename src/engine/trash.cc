#include "engine/trash.h"

#include "common/log.h"
#include "common/strings.h"
#include "sys/fs.h"

namespace berth::engine {

Trash::Trash(std::string dir) : dir_(std::move(dir)) {}

Result<std::unique_ptr<Trash>> Trash::open(const std::string& dir) {
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir, 0700));
  std::unique_ptr<Trash> t(new Trash(dir));
  for (auto& name : BERTH_TRY(sys::listDir(dir))) t->queue_.push_back(dir + "/" + name);
  t->thread_ = std::thread([p = t.get()] { p->loop(); });
  return t;
}

Trash::~Trash() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status Trash::put(const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  std::lock_guard lock(mu_);
  std::string to = dir_ + "/" + base + "." + std::to_string(next_++);
  if (auto moved = sys::rename(path, to); !moved) {
    if (!sys::exists(path)) return okStatus();
    return moved.error().context("remove " + quote(path));
  }
  queue_.push_back(std::move(to));
  cv_.notify_all();
  return okStatus();
}

void Trash::drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && !busy_) || stopping_; });
}

void Trash::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string path = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    if (auto s = sys::removeAll(path); !s) log::warn(s.error().message());
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace berth::engine
