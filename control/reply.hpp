#pragma once
// The reply to a control command, as read back from `.wkfs-ctl` (schema in protocol.hpp). Built
// here only, so the mount, the table and `wkfs ctl` agree on its members.
#include <string>

#include "core/json.hpp"

namespace wkfs::control {

/// {"ok": true, "command": COMMAND, "result": RESULT}.
Json ok_reply(const std::string& command, Json result);
/// {"ok": false, "command": COMMAND, "error": MESSAGE, "errno": ERR, "errno_name": strerror(ERR)}.
Json error_reply(const std::string& command, const std::string& message, int err);
/// What `.wkfs-ctl` reads as before any command was written: ok, with command and result null.
Json no_command_reply();

/// True for a reply with "ok": true; false for an error reply or anything that is not a reply.
bool reply_ok(const Json& reply);
/// The "error" message of an error reply, or `fallback`.
std::string reply_error(const Json& reply, const std::string& fallback);
/// The "result" member, or null.
Json reply_result(const Json& reply);

}  // namespace wkfs::control
