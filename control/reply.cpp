#include "control/reply.hpp"

#include <cstring>

#include "control/protocol.hpp"

namespace wkfs::control {

Json ok_reply(const std::string& command, Json result) {
  Json j = Json::object();
  j[kReplyOk] = true;
  j[kReplyCommand] = command;
  j[kReplyResult] = std::move(result);
  return j;
}

Json error_reply(const std::string& command, const std::string& message, int err) {
  Json j = Json::object();
  j[kReplyOk] = false;
  j[kReplyCommand] = command;
  j[kReplyError] = message;
  j[kReplyErrno] = err;
  j[kReplyErrnoName] = std::strerror(err);
  return j;
}

Json no_command_reply() {
  Json j = Json::object();
  j[kReplyOk] = true;
  j[kReplyCommand] = nullptr;
  j[kReplyResult] = nullptr;
  return j;
}

bool reply_ok(const Json& reply) {
  return reply.is_object() && reply.contains(kReplyOk) && reply[kReplyOk] == true;
}

std::string reply_error(const Json& reply, const std::string& fallback) {
  if (reply.is_object() && reply.contains(kReplyError) && reply[kReplyError].is_string())
    return reply[kReplyError].get<std::string>();
  return fallback;
}

Json reply_result(const Json& reply) {
  if (reply.is_object() && reply.contains(kReplyResult)) return reply[kReplyResult];
  return Json();
}

}  // namespace wkfs::control
