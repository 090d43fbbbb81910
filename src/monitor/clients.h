#pragma once
// Attach connections on monitor.sock (the frame format is in protocol.h). Output goes out
// without ever blocking the monitor: what a client cannot take now is queued, and a client
// whose queue would pass kClientBufferMax is disconnected. Single-threaded; the descriptors
// are registered in the monitor's epoll set with tag kind + slot index.

#include <cstddef>
#include <cstdint>

#include "monitor/protocol.h"

namespace berth::monitor {

inline constexpr int kMaxClients = 16;

// What clients' frames ask of the container; implemented by the monitor.
class AttachSink {
 public:
  // How many stdin bytes the sink can take now; clients are read only while it is > 0.
  virtual size_t stdinRoom() const = 0;
  // TYPE 0 payload bytes. REQUIRES: len <= stdinRoom() before the read they came from.
  virtual void stdinData(const char* data, size_t len) = 0;
  // TYPE 5.
  virtual void closeStdin() = 0;
  // TYPE 6 with a 4-byte payload.
  virtual void resize(uint16_t rows, uint16_t cols) = 0;

 protected:
  ~AttachSink() = default;
};

class ClientSet {
 public:
  // epoll_fd: where clients are registered; tag_base: epoll data of slot i is tag_base + i.
  ClientSet(int epoll_fd, uint64_t tag_base) : epoll_fd_(epoll_fd), tag_base_(tag_base) {}
  ClientSet(const ClientSet&) = delete;
  ClientSet& operator=(const ClientSet&) = delete;
  ~ClientSet() { closeAll(); }

  // Accepts every pending connection of a non-blocking listening socket. Past kMaxClients
  // a connection is closed at once.
  void acceptAll(int listen_fd);
  // Handles an epoll event of slot i: reads frames (while input is not paused), sends
  // queued output, drops the client on error or hang-up.
  void onEvent(int slot, uint32_t events, AttachSink& sink);
  // Sends one frame to every client.
  void broadcast(uint8_t type, const char* data, size_t len);
  // Stops reading frames (while the container's stdin is full), or resumes.
  void pauseInput(bool paused);
  bool anyQueued() const;
  int count() const;
  void closeAll();

 private:
  struct Client {
    int fd = -1;
    uint32_t registered = 0;  // epoll events currently asked for
    bool read_eof = false;    // the client shut down its side: only output now
    // Frame being read.
    uint8_t header[kFrameHeader];
    size_t header_len = 0;
    uint32_t frame_size = 0;
    uint32_t frame_left = 0;
    uint8_t payload[4];  // a resize frame's payload
    // Output not yet sent, in an anonymous mapping that exists only while it is not empty.
    char* queue = nullptr;
    size_t head = 0;
    size_t tail = 0;
  };

  void readFrom(Client& c, AttachSink& sink);
  void parse(Client& c, const uint8_t* p, size_t n, AttachSink& sink);
  void send(Client& c, const char* header, const char* data, size_t len);
  bool enqueue(Client& c, const char* data, size_t len);
  void flush(Client& c);
  void updateEvents(int slot);
  void drop(int slot);

  int epoll_fd_;
  uint64_t tag_base_;
  bool paused_ = false;
  Client clients_[kMaxClients];
};

}  // namespace berth::monitor
