#include "ami/client.hpp"

#include "client_core.hpp"

namespace ami {

client::client(const executor_type& ex) : core_(std::make_shared<detail::client_core>(ex)) {}

client::client(boost::asio::io_context& io) : client(executor_type(io.get_executor())) {}

client& client::operator=(client&& other) noexcept {
  if (this != &other) {
    if (core_) core_->shut_down();
    core_ = std::move(other.core_);
  }
  return *this;
}

client::~client() {
  if (core_) core_->shut_down();
}

client::executor_type client::get_executor() const noexcept { return core_->executor(); }

void client::close() { core_->close(); }

void client::cancel() { core_->cancel_all(); }

boost::signals2::connection client::on_event(const event_slot& slot) {
  return core_->hub().subscribe_all(slot);
}

boost::signals2::connection client::on_event(std::string_view name, const event_slot& slot) {
  return core_->hub().subscribe(name, slot);
}

boost::signals2::connection client::on_list_item(const event_slot& slot) {
  return core_->hub().subscribe_list_items(slot);
}

boost::signals2::connection client::on_state(const state_slot& slot) {
  return core_->hub().subscribe_state(slot);
}

boost::signals2::connection client::on_transition(const transition_slot& slot) {
  return core_->hub().subscribe_transition(slot);
}

void client::set_exception_handler(exception_handler h) {
  core_->hub().set_exception_handler(std::move(h));
}

connection_state client::state() const noexcept { return core_->state(); }

std::optional<proto::banner> client::banner() const { return core_->banner(); }

std::optional<proto::version> client::ami_version() const {
  auto b = core_->banner();
  if (!b) return std::nullopt;
  return b->protocol;
}

bool client::fully_booted() const noexcept { return core_->fully_booted(); }

std::string client::last_error_message() const { return core_->last_error_message(); }

client_stats client::stats() const { return core_->stats(); }

}  // namespace ami
