// kv get, put, rm, ls, watch: the configuration store (native_api.md, "Configuration: kv").
// Values are encrypted and decrypted here, never in berthd (kv_crypto.h).

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>

#include "cli/berth/format.h"
#include "cli/berth/kv_crypto.h"
#include "cli/berth/verbs.h"
#include "common/base64.h"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string keyQuery(const std::string& key) { return "?key=" + urlEncode(key); }

std::string revisionQuery(const char* name, std::optional<int64_t> revision) {
  return revision ? "&" + std::string(name) + "=" + std::to_string(*revision) : "";
}

// The value of an API object ({"value": base64}).
Result<std::string> valueOf(const json& j) {
  auto v = base64Decode(j.value("value", ""));
  if (!v) return v.error().context("kv key " + quote(j.value("key", "")));
  return v;
}

// The plain value: a sealed one opened with `key_file`; without a key, a clear error.
Result<std::string> plainValue(const std::string& key, std::string value,
                               const std::string& key_file) {
  if (!isSealed(value) || key_file.empty()) return openValue(key, std::move(value), nullptr);
  SecretKey secret = BERTH_TRY(readSecretKey(key_file));
  return openValue(key, std::move(value), &secret);
}

// A value on one line of a table or a watch: whole when it is short printable text (less a
// final newline).
std::string preview(std::string value, size_t max) {
  if (isSealed(value)) return "(encrypted)";
  if (value.ends_with('\n')) value.pop_back();  // as `echo … | berth kv put K -` leaves it
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) return "(" + std::to_string(value.size()) + " bytes)";
  if (value.size() > max) return value.substr(0, max) + "…";
  return value;
}

Status get(Context& ctx, const std::string& key, std::optional<int64_t> revision,
           const std::string& key_file, const std::string& format) {
  json kv = BERTH_TRY(
      ctx.api().json("GET", "/v1/kv" + keyQuery(key) + revisionQuery("revision", revision)));
  if (format == "json") {
    std::printf("%s\n", kv.dump().c_str());
    return okStatus();
  }
  std::string stored = BERTH_TRY(valueOf(kv));
  std::string value = BERTH_TRY(plainValue(key, stored, key_file));
  std::fwrite(value.data(), 1, value.size(), stdout);
  std::fputc('\n', stdout);
  return okStatus();
}

Status put(Context& ctx, const std::string& key, const std::string& value_arg,
           std::optional<int64_t> if_revision, bool encrypt, const std::string& key_file) {
  std::string value = value_arg;
  if (value_arg == "-")
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (encrypt) {
    if (key_file.empty()) return invalidArgument("kv put --encrypt: give the key with --key-file");
    SecretKey secret = BERTH_TRY(readSecretKey(key_file));
    value = BERTH_TRY(seal(secret, key, value));
  } else if (isSealed(value)) {
    return invalidArgument("kv put " + quote(key) + ": the value starts with '" +
                           std::string(kSealedPrefix) +
                           "', which readers would take for an encrypted value");
  }
  json r = BERTH_TRY(
      ctx.api().json("PUT", "/v1/kv" + keyQuery(key) + revisionQuery("if_revision", if_revision),
                     json{{"value", base64Encode(value)}}));
  std::printf("%lld\n", static_cast<long long>(r.value("revision", int64_t{0})));
  return okStatus();
}

Status remove(Context& ctx, const std::string& key, std::optional<int64_t> if_revision) {
  BERTH_RETURN_IF_ERROR(ctx.api().call(
      "DELETE", "/v1/kv" + keyQuery(key) + revisionQuery("if_revision", if_revision)));
  std::printf("%s\n", key.c_str());
  return okStatus();
}

Status list(Context& ctx, const std::string& prefix, const std::string& format) {
  json r = BERTH_TRY(ctx.api().json("GET", "/v1/kv/list?prefix=" + urlEncode(prefix)));
  const json& kvs = r["kvs"];
  if (format == "json") {
    for (const auto& kv : kvs) std::printf("%s\n", kv.dump().c_str());
    return okStatus();
  }
  Table table({"KEY", "REVISION", "VALUE"});
  for (const auto& kv : kvs)
    table.add({kv.value("key", ""), std::to_string(kv.value("mod_revision", int64_t{0})),
               preview(BERTH_TRY(valueOf(kv)), 60)});
  std::fputs(table.render().c_str(), stdout);
  return okStatus();
}

// One event as a line: "REVISION put KEY VALUE" or "REVISION delete KEY".
Result<std::string> eventLine(const json& ev, const std::string& key_file) {
  std::string key = ev.value("key", "");
  std::string line =
      std::to_string(ev.value("mod_revision", int64_t{0})) + " " + ev.value("type", "") + " " + key;
  if (ev.value("type", "") != "put") return line;
  std::string value = BERTH_TRY(valueOf(ev));
  if (isSealed(value) && !key_file.empty()) value = BERTH_TRY(plainValue(key, value, key_file));
  return line + " " + preview(value, 4096);
}

Status watch(Context& ctx, const std::string& prefix, std::optional<int64_t> from,
             const std::string& key_file, const std::string& format) {
  auto stream = BERTH_TRY(ctx.api().stream(
      "GET", "/v1/kv/watch?prefix=" + urlEncode(prefix) + revisionQuery("from_revision", from)));
  BERTH_RETURN_IF_ERROR(forEachJsonLine(*stream, [&](const json& ev) -> Status {
    if (ev.contains("error"))
      return unavailable("kv watch " + quote(prefix) + ": " + ev.value("error", ""));
    if (format == "json")
      std::printf("%s\n", ev.dump().c_str());
    else
      std::printf("%s\n", BERTH_TRY(eventLine(ev, key_file)).c_str());
    std::fflush(stdout);
    return okStatus();
  }));
  return unavailable("kv watch " + quote(prefix) + ": berthd ended the stream");
}

// Runs a verb, reporting its error.
void run(Context& ctx, const Status& s) {
  if (!s) ctx.fail(s.error());
}

std::optional<int64_t> given(const CLI::Option* opt, int64_t value) {
  return opt->count() ? std::optional<int64_t>(value) : std::nullopt;
}

}  // namespace

void addKvVerbs(CLI::App& app, Context& ctx) {
  auto* kv = app.add_subcommand("kv", "the configuration store: keys and values with revisions");
  kv->require_subcommand(1);

  auto key = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto key_file = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>();
  auto revision = std::make_shared<int64_t>(0);

  auto* get_cmd = kv->add_subcommand("get", "print a key's value");
  get_cmd->add_option("key", *key, "the key")->required();
  auto* at = get_cmd->add_option("--revision", *revision, "as of this store revision");
  get_cmd->add_option("--key-file", *key_file, "decrypt an encrypted value with this key");
  get_cmd->add_option("--format", *format, "json: the record as stored (value in base64)");
  get_cmd->callback([&ctx, key, at, revision, key_file, format] {
    run(ctx, get(ctx, *key, given(at, *revision), *key_file, *format));
  });

  auto encrypt = std::make_shared<bool>(false);
  auto* put_cmd = kv->add_subcommand("put", "set a key's value; prints the new revision");
  put_cmd->add_option("key", *key, "the key")->required();
  put_cmd->add_option("value", *value, "the value, or - to read it from stdin")->required();
  auto* if_put = put_cmd->add_option("--if-revision", *revision,
                                     "only if the key is at this revision (0: absent)");
  put_cmd->add_flag("--encrypt", *encrypt, "encrypt with AES-256-GCM (needs --key-file)");
  put_cmd->add_option("--key-file", *key_file, "32 raw bytes or 64 hex digits");
  put_cmd->callback([&ctx, key, value, if_put, revision, encrypt, key_file] {
    run(ctx, put(ctx, *key, *value, given(if_put, *revision), *encrypt, *key_file));
  });

  auto* rm = kv->add_subcommand("rm", "delete a key");
  rm->add_option("key", *key, "the key")->required();
  auto* if_rm = rm->add_option("--if-revision", *revision, "only if the key is at this revision");
  rm->callback(
      [&ctx, key, if_rm, revision] { run(ctx, remove(ctx, *key, given(if_rm, *revision))); });

  auto* ls = kv->add_subcommand("ls", "list keys under a prefix");
  ls->add_option("prefix", *key, "the prefix (default: every key)");
  ls->add_option("--format", *format, "table or json");
  ls->callback([&ctx, key, format] { run(ctx, list(ctx, *key, *format)); });

  auto* w = kv->add_subcommand("watch", "print every change under a prefix until interrupted");
  w->add_option("prefix", *key, "the prefix (default: every key)");
  auto* from = w->add_option("--from-revision", *revision,
                             "start at this store revision (default: the next change)");
  w->add_option("--key-file", *key_file, "decrypt encrypted values with this key");
  w->add_option("--format", *format, "json: the API's event objects");
  w->callback([&ctx, key, from, revision, key_file, format] {
    run(ctx, watch(ctx, *key, given(from, *revision), *key_file, *format));
  });
}

}  // namespace berth::cli
