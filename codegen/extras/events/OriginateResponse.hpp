// extra: hand-written members of ami::events::originate_response, pasted in by
// extra: codegen/generate.py.

  // True when the call was answered (Response: Success). On failure, reason says why:
  // 0 no such extension or hung up before answer, 3 no answer in time, 5 busy,
  // 8 congestion (4 is the answered case).
  bool succeeded() const noexcept { return ami::iequals(response, "Success"); }
