// extra: hand-written members of ami::actions::originate, pasted in by codegen/generate.py.
#include <map>

  // Sets one channel variable (a "Variable: name=value" field), replacing an earlier
  // value of the same name.
  originate& set_variable(std::string_view name, std::string_view value) {
    std::string entry;
    entry.reserve(name.size() + 1 + value.size());
    entry.append(name).append("=").append(value);
    for (auto& v : variable) {
      if (v.size() > name.size() && v.compare(0, name.size(), name) == 0 &&
          v[name.size()] == '=') {
        v = std::move(entry);
        return *this;
      }
    }
    variable.push_back(std::move(entry));
    return *this;
  }

  // Sets every variable of the map, in the map's order.
  originate& with_variables(const std::map<std::string, std::string>& vars) {
    for (const auto& [name, value] : vars) set_variable(name, value);
    return *this;
  }

  // The variables as a map: the text before the first '=' is the name (an entry without
  // one maps to an empty value); the last of repeated names wins.
  std::map<std::string, std::string> variable_map() const {
    std::map<std::string, std::string> vars;
    for (const auto& v : variable) {
      const auto eq = v.find('=');
      if (eq == std::string::npos) {
        vars[v];
      } else {
        vars[v.substr(0, eq)] = v.substr(eq + 1);
      }
    }
    return vars;
  }

  // Calls `chan` and, once it answers, sends it to ctx/ext/prio. Async is
  // true: without it the server holds the whole session until the call is answered or
  // fails. The outcome comes as an OriginateResponse event with the same ActionID
  // (ami::client::async_originate waits for it).
  static originate to_extension(std::string chan, std::string ctx, std::string ext,
                                std::string prio = "1") {
    originate o;
    o.channel = std::move(chan);
    o.context = std::move(ctx);
    o.exten = std::move(ext);
    o.priority = std::move(prio);
    o.async = "true";
    return o;
  }

  // Calls `chan` and, once it answers, runs the application `app` on it, with
  // `app_data` as its argument when not empty. Async is true, as for to_extension.
  static originate to_application(std::string chan, std::string app, std::string app_data = {}) {
    originate o;
    o.channel = std::move(chan);
    o.application = std::move(app);
    if (!app_data.empty()) o.data = std::move(app_data);
    o.async = "true";
    return o;
  }
