#include "program.hpp"

#include "bridge.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

namespace ami::bridge {

const char* const usage =
    "usage: ami-bridge --config FILE [--check]\n"
    "       ami-bridge --nats nats://HOST:4222 --pbx NAME=ami://USER:SECRET@HOST:5038\n"
    "                  [--pbx ...] [--prefix ami] [--check]\n"
    "  --config FILE  the configuration (JSON; see docs/bridge.md)\n"
    "  --nats URL     a NATS server (repeatable)\n"
    "  --pbx N=URL    a PBX (repeatable); without a secret in the URL it comes from\n"
    "                 AMI_SECRET_<NAME> or AMI_SECRET\n"
    "  --prefix P     the subject prefix (default ami)\n"
    "  --check        validate the configuration and exit\n";

namespace {

bool take_value(const std::vector<std::string>& args, std::size_t& i, const std::string& name,
                std::string& value, std::optional<std::string>& problem) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) {
      problem = name + " needs a value";
      return true;
    }
    value = args[++i];
    return true;
  }
  if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
    value = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> parse_options(const std::vector<std::string>& args,
                                         const env_lookup& env, options& out) {
  std::optional<std::string> file;
  std::optional<std::string> prefix;
  std::vector<std::string> pbxs;
  std::vector<std::string> servers;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::optional<std::string> problem;
    std::string value;
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
    } else if (a == "--check") {
      out.check = true;
    } else if (take_value(args, i, "--config", value, problem)) {
      file = value;
    } else if (take_value(args, i, "--nats", value, problem)) {
      servers.push_back(value);
    } else if (take_value(args, i, "--pbx", value, problem)) {
      pbxs.push_back(value);
    } else if (take_value(args, i, "--prefix", value, problem)) {
      prefix = value;
    } else {
      return "unknown option " + a;
    }
    if (problem) return problem;
  }
  if (out.help) return std::nullopt;
  if (file) {
    if (!pbxs.empty() || !servers.empty())
      return "--config cannot be combined with --pbx or --nats";
    std::ifstream in(*file, std::ios::binary);
    if (!in) return "cannot read " + *file;
    std::ostringstream text;
    text << in.rdbuf();
    if (auto bad = parse_config(text.str(), env, out.cfg)) return *file + ": " + *bad;
    if (prefix) {
      out.cfg.prefix = *prefix;
      return validate(out.cfg);
    }
    return std::nullopt;
  }
  out.cfg.nats.servers = servers;
  if (prefix) out.cfg.prefix = *prefix;
  for (const auto& p : pbxs) {
    if (auto bad = add_pbx_option(p, env, out.cfg)) return bad;
  }
  return validate(out.cfg);
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const env_lookup& env) {
  options opts;
  if (auto bad = parse_options(args, env, opts)) {
    err << "ami-bridge: " << *bad << '\n' << usage;
    return 1;
  }
  if (opts.help) {
    out << usage;
    return 0;
  }
  if (opts.check) {
    out << "configuration OK: " << opts.cfg.pbxs.size() << " PBXs, " << opts.cfg.nats.servers.size()
        << " NATS servers, prefix " << opts.cfg.prefix << ", stream " << opts.cfg.stream.name
        << '\n';
    return 0;
  }
  boost::asio::io_context io;
  const auto drain = opts.cfg.drain_timeout;
  bridge b(io, std::move(opts.cfg),
           [&err](std::string_view line) { err << "ami-bridge: " << line << std::endl; });
  if (auto bad = b.start()) {
    err << "ami-bridge: " << *bad << '\n';
    return 2;
  }
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    b.async_stop(drain, [&](bool) { io.stop(); });
  });
  io.run();
  return 0;
}

}  // namespace ami::bridge
