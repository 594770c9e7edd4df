// ami-bridge's configuration: the PBXs, the NATS servers, the stream, the buffer and the
// lease, read from a JSON file (Boost.JSON) or from the short command line. Secrets may come
// from the environment, so that the file itself holds none. docs/bridge.md lists every key.
#pragma once

#include "ami/config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::bridge {

// Reads the environment: the program passes the process's, tests their own.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;
std::optional<std::string> process_env(std::string_view name);

// What happens to an event that finds the PBX's buffer full.
enum class overflow_policy {
  resync,  // close the AMI session; reconnect once the buffer has drained (a gap marker)
  drop,    // drop the event and count it; a gap marker tells how many went
};

enum class retention_policy { limits, interest, workqueue };
enum class storage_kind { file, memory };

struct pbx_config {
  std::string name;                 // one NATS subject token
  ami::config ami;                  // from the URL, the secret possibly from the environment
  std::vector<std::string> events;  // event-name globs to publish; empty: every event
};

struct nats_config {
  std::vector<std::string> servers;  // nats://host:port URLs
  std::string user, password;        // or
  std::string token;                 // or
  std::string credentials_file;      // a .creds file (JWT and NKey seed), or
  std::string nkey_seed_file;        // a file holding an NKey seed
  std::string ca_file;               // TLS: verify the server with this CA (implies TLS)
  bool tls = false;                  // TLS with the system's trust store
  std::string name = "ami-bridge";   // the connection's name, seen in the server's monitoring
};

struct stream_config {
  std::string name = "AMI";
  retention_policy retention = retention_policy::limits;
  storage_kind storage = storage_kind::file;
  int replicas = 1;
  std::chrono::seconds max_age{0};                     // 0: no limit
  std::int64_t max_bytes = -1;                         // -1: no limit
  std::chrono::milliseconds duplicate_window{120000};  // Nats-Msg-Id deduplication window
};

struct bridge_config {
  std::vector<pbx_config> pbxs;
  nats_config nats;
  std::string prefix = "ami";
  stream_config stream;
  std::size_t window = 1024;  // unacknowledged publishes at most, all PBXs together
  std::chrono::milliseconds ack_timeout{5000};  // a publish not acknowledged by then is re-sent
  std::size_t buffer = 10000;                   // events waiting per PBX at most
  overflow_policy overflow = overflow_policy::resync;
  std::string lease_bucket = "ami_bridge_leases";
  std::chrono::milliseconds lease_ttl{5000};
  std::string bridge_id;                          // empty: host name and process id
  std::chrono::milliseconds drain_timeout{5000};  // SIGTERM: how long to flush the buffer
};

// Reads a configuration file's text. On failure returns the problem (never a secret).
std::optional<std::string> parse_config(std::string_view json, const env_lookup& env,
                                        bridge_config& out);

// Adds "NAME=ami://user:secret@host:5038" (from --pbx) to the configuration.
std::optional<std::string> add_pbx_option(std::string_view spec, const env_lookup& env,
                                          bridge_config& out);

// The checks that apply whatever the source: at least one PBX and one server, names valid
// as subject tokens and unique, positive sizes.
std::optional<std::string> validate(const bridge_config& cfg);

// Whether `s` can be one token of a NATS subject (no '.', '*', '>', spaces or controls).
bool is_subject_token(std::string_view s) noexcept;

const char* to_string(overflow_policy p) noexcept;

}  // namespace ami::bridge
