#include "fs/control_file.hpp"

#include <cerrno>

#include "control/command_text.hpp"
#include "control/protocol.hpp"
#include "control/reply.hpp"
#include "core/error.hpp"

namespace wkfs::mount {

ControlChannel::ControlChannel(MountTree& tree, std::shared_ptr<control::CommandTable> commands, bool read_only,
                               ResolvePath resolve, Changed changed)
    : tree_(tree), commands_(std::move(commands)), read_only_(read_only), resolve_(std::move(resolve)),
      changed_(std::move(changed)) {}

ControlChannel::Outcome ControlChannel::run(const fs::path& ctl_rel, std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == 0)) text.pop_back();
  const auto dir = ctl_rel.parent_path();
  Json reply;
  int err = 0;
  std::string message;
  try {
    control::check_command_text(text);
    auto target = tree_.classify(dir);
    const bool mount_root = dir.empty() && target.kind == PathKind::Root;  // a URL SOURCE's root (mount_tree)
    if (!target.has_control_file() && !mount_root) fail(ErrorKind::NotFound, "no dataset or layer at " + dir.string());
    auto line = control::CommandLine::parse(text);
    if (mount_root && line.name != "help")
      if (const auto* c = commands_->find(line.name); c && c->scope != control::CommandScope::Mount)
        fail(ErrorKind::InvalidArgument, line.name + " needs a dataset: the mount root takes only mount-wide commands (cache-clear, help)");
    std::string cwd = line.option(control::kCwdOption).value_or("");
    control::CommandContext ctx;
    if (target.loc) ctx.dataset = target.loc->dataset;
    if (target.kind == PathKind::Layer || target.overlay_layer) ctx.layer = target.layer;
    ctx.lazy = &tree_.engines();
    if (auto* remote = tree_.remote()) {
      ctx.clear_remote_cache = [remote] { return remote->clear_cache(); };
      // lazy files would be computed into the private staging folder only, lost at unmount, while the
      // store listed their mags: the lazy engine has no write-back to S3 yet
      if (remote->writes_source())
        ctx.lazy_mags_refused_why = "lazy mags are not kept on a writable S3 mount (-o s3_write) yet: mount " +
                                    remote->source_url() + " with -o overlay=DIR to compute them into DIR";
    }
    if (read_only_) {
      ctx.refuse_changes_errno = EROFS;
      ctx.refuse_changes_why = "the mount is read-only (-o ro)";
    } else if (target.loc && !target.loc->busy.empty()) {
      ctx.refuse_changes_errno = EBUSY;
      ctx.refuse_changes_why = "the dataset is not written here: " + target.loc->busy;
    }
    ctx.resolve_path = [this, dir, cwd](const std::string& a) {
      control::check_path_argument(a);
      if (!cwd.empty()) control::check_path_argument(cwd);
      return resolve_(a, dir, cwd);
    };
    reply = commands_->run(ctx, std::move(line));
    if (target.loc) changed_(*target.loc, ctx.layer);
  } catch (const std::exception& e) {
    err = errno_of(e);
    message = e.what();
  }
  if (err) reply = control::error_reply(text.substr(0, text.find(' ')), message, err);
  // replace, not throw, on bytes that are not UTF-8: the reply of a refused command must exist
  auto line = reply.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  {
    std::lock_guard lock(mutex_);
    last_[ctl_rel.string()] = line;
  }
  return Outcome{line, err, err ? text + ": " + message : std::string()};
}

std::string ControlChannel::last_reply(const fs::path& ctl_rel) const {
  std::lock_guard lock(mutex_);
  auto it = last_.find(ctl_rel.string());
  if (it != last_.end()) return it->second;
  return control::no_command_reply().dump() + "\n";
}

size_t ControlFile::read(char* buf, size_t size, off_t off) {
  std::string text;
  {
    std::lock_guard lock(mutex_);
    text = reply_ ? *reply_ : channel_.last_reply(rel());
  }
  return read_text_at(text, buf, size, off);
}

size_t ControlFile::write(const char* buf, size_t size, off_t) {
  auto outcome = channel_.run(rel(), std::string(buf, size));
  {
    std::lock_guard lock(mutex_);
    reply_ = std::move(outcome.reply);
  }
  // logged once, by the adapter's error path, with the command line as the place
  if (outcome.err) throw Error(kind_of_errno(outcome.err), outcome.message, outcome.err);
  return size;
}

}  // namespace wkfs::mount
