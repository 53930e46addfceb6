#include "zonegen/snapshot.hh"

#include "store/store.hh"

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <openssl/evp.h>
#include <unistd.h>

namespace dnsxl::zonegen {

namespace {

// The SHA-256 of a file as lower-case hex; empty if it cannot be read.
std::string sha256(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned i = 0; i < len; ++i)
    hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// Writes text to path through a temporary file and a rename.
void publish(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

} // namespace

int snapshotCommand(const config::Config& cfg, const std::filesystem::path& dir, bool quiet) {
  const auto tmp = dir / fmt::format(".snapshot-{}", ::getpid());
  try {
    std::filesystem::create_directories(dir);
    std::filesystem::remove_all(tmp);
    std::filesystem::create_directory(tmp);
    {
      store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
      env.copyCompact(tmp);
    }
    std::string serials;
    {
      store::Env copy(tmp, {.readOnly = true, .mapSize = cfg.server.mapSize});
      store::Snapshot snap(copy);
      for (const auto& z : snap.zones())
        if (!z.name.empty()) serials += fmt::format("{} {}\n", z.name, z.soa.serial);
    }
    const auto sum = sha256(tmp / "data.mdb");
    if (sum.empty())
      throw std::runtime_error("cannot read the copy " + (tmp / "data.mdb").string());
    const auto bytes = std::filesystem::file_size(tmp / "data.mdb");
    std::filesystem::rename(tmp / "data.mdb", dir / "data.mdb");
    publish(dir / "data.mdb.sha256", sum + "  data.mdb\n");
    publish(dir / "SERIALS", serials);
    std::filesystem::remove_all(tmp);
    if (!quiet)
      fmt::print("snapshot {}: {} bytes, sha256 {}\n{}", (dir / "data.mdb").string(), bytes, sum,
                 serials);
    return 0;
  } catch (const std::exception& e) {
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
    fmt::print(stderr, "dnsxl: snapshot failed: {}\n", e.what());
    return 1;
  }
}

} // namespace dnsxl::zonegen
