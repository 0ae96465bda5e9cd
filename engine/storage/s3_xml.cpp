#include "storage/s3_xml.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <charconv>
#include <climits>
#include <memory>

#include "core/error.hpp"

namespace wkfs::storage {

namespace {

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocDeleter>;

Doc parse(std::string_view xml) {
  if (xml.size() > INT_MAX) return nullptr;  // libxml2 takes an int length
  return Doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "s3.xml", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

// Element names are compared without namespace (S3 puts everything in its own xmlns).
bool is(const xmlNode* n, const char* name) {
  return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

std::string text(const xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  std::string s = c ? reinterpret_cast<const char*>(c) : "";
  xmlFree(c);
  return s;
}

const xmlNode* child(const xmlNode* n, const char* name) {
  for (const xmlNode* c = n->children; c; c = c->next)
    if (is(c, name)) return c;
  return nullptr;
}

// <Size> as a decimal integer; std::stoull threw std::invalid_argument on garbage and crossed the
// Error boundary (fuzz_s3_xml found it).
uint64_t size_of(const xmlNode* n, const std::string& url) {
  const std::string s = text(n);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    fail(ErrorKind::Corrupt, "GET " + url + ": ListBucketResult has a <Size> that is not a size: '" +
                                 s.substr(0, 40) + "'");
  return v;
}

}  // namespace

ListPage parse_list_objects_v2(std::string_view xml, const std::string& url) {
  Doc doc = parse(xml);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || !is(root, "ListBucketResult"))
    fail(ErrorKind::Corrupt, "GET " + url + ": answer is not a ListBucketResult: " + std::string(xml.substr(0, 200)));
  ListPage page;
  for (const xmlNode* c = root->children; c; c = c->next) {
    if (is(c, "Contents")) {
      const xmlNode* key = child(c, "Key");
      const xmlNode* size = child(c, "Size");
      if (!key) continue;
      page.result.objects.push_back({text(key), size ? size_of(size, url) : 0});
    } else if (is(c, "CommonPrefixes")) {
      if (const xmlNode* p = child(c, "Prefix")) page.result.prefixes.push_back(text(p));
    } else if (is(c, "IsTruncated")) {
      page.truncated = text(c) == "true";
    } else if (is(c, "NextContinuationToken")) {
      page.next_continuation_token = text(c);
    }
  }
  if (page.truncated && page.next_continuation_token.empty())
    fail(ErrorKind::Corrupt, "GET " + url + ": truncated listing without NextContinuationToken");
  return page;
}

std::string s3_error_detail(std::string_view xml) {
  if (xml.empty()) return "";
  Doc doc = parse(xml);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || !is(root, "Error")) return "";
  const xmlNode* code = child(root, "Code");
  const xmlNode* msg = child(root, "Message");
  std::string out = code ? text(code) : "";
  if (msg) out += (out.empty() ? "" : ": ") + text(msg);
  return out;
}

}  // namespace wkfs::storage
