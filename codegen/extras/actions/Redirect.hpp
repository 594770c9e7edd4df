// extra: hand-written members of ami::actions::redirect, pasted in by codegen/generate.py.

  // Moves a second channel at the same time (typically the other leg of a bridged call,
  // so that neither is hung up when the bridge breaks), to its own destination.
  redirect& with_extra_leg(std::string chan, std::string ext, std::string ctx,
                           std::string prio) {
    extra_channel = std::move(chan);
    extra_exten = std::move(ext);
    extra_context = std::move(ctx);
    extra_priority = std::move(prio);
    return *this;
  }
