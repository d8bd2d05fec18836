#include "WorkspaceIndex.h"

#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace faceatlas {

namespace {

using nlohmann::json;

/** What the index reads of each kind: its manifest, and the files without which it cannot be used. */
struct KindLayout {
    OutputKind kind;
    const char* folder;
    const char* manifest;
    std::vector<const char*> needs;
};

const std::array<KindLayout, 5>& layouts()
{
    static const std::array<KindLayout, 5> table = {{
        {OutputKind::Run, "runs", "run.json", {}}, // a run being trained has no checkpoint yet
        {OutputKind::Codes, "codes", "codes.json", {"codes.f32", "records.bin"}},
        {OutputKind::Clustering, "clusters", "metrics.json", {"assignments.csv", "clusters.json"}},
        {OutputKind::Map, "maps", "map.json", {"map.csv"}},
        {OutputKind::Audit, "audits", "audit.json", {"suspects.csv"}},
    }};
    return table;
}

const KindLayout& layoutOf(OutputKind kind)
{
    for (const KindLayout& layout : layouts())
        if (layout.kind == kind)
            return layout;
    throw Error(std::string("the workspace index does not list ") + outputKindName(kind));
}

std::string text(const json& manifest, const char* key)
{
    const auto it = manifest.find(key);
    return it != manifest.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/** Nanoseconds since 1970 (the file clock of C++17 has another epoch); -1 when it cannot be read. */
std::int64_t modifiedNs(const fs::path& file, std::error_code& ec)
{
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        ec = std::error_code(errno, std::generic_category());
        return -1;
    }
    ec.clear();
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

/** Fills what the manifest says; throws Error naming the file when it cannot be trusted. */
void readManifest(Artifact& a, const fs::path& manifestPath)
{
    const std::string what = displayPath(manifestPath);
    const json manifest = parseJsonBounded(readFile(manifestPath, kMaxManifestBytes), what, 64, 1u << 22);
    if (!manifest.is_object())
        throw Error(what + ": not a JSON object");
    const std::string format = text(manifest, "format");
    if (!format.empty() && format != outputKindFormat(a.kind))
        throw Error(what + ": says it is '" + format + "', not " + outputKindName(a.kind));
    a.dataFingerprint = text(manifest, "data_fingerprint");
    a.data = fs::u8path(text(manifest, "data"));
    a.source = text(manifest, "source");
    a.model = text(manifest, "model");
    a.status = text(manifest, "status");
    if (a.kind == OutputKind::Run || a.kind == OutputKind::Codes)
        a.imageSize = static_cast<int>(jsonIntOr(manifest, "size", 0, 0, 1024, what));
    const char* from = a.kind == OutputKind::Codes ? "run" : "codes";
    a.madeFrom = fs::u8path(text(manifest, from));
    if (a.kind == OutputKind::Audit && a.model.empty() && manifest.contains("settings")
        && manifest.at("settings").is_object())
        a.model = text(manifest.at("settings"), "model");
    if (a.dataFingerprint.empty() && a.kind != OutputKind::Run) // a run still loads; it is of no known dataset
        throw Error(what + ": does not say which preparation it was made from (made by an older FaceAtlas?)");
}

} // namespace

Artifact readArtifact(OutputKind kind, const fs::path& dir)
{
    const KindLayout& layout = layoutOf(kind);
    Artifact a;
    a.kind = kind;
    a.dir = fs::absolute(dir).lexically_normal();
    std::error_code ec;
    a.modifiedNs = modifiedNs(a.dir / layout.manifest, ec);
    try {
        readManifest(a, a.dir / layout.manifest);
        for (const char* name : layout.needs)
            if (!fs::is_regular_file(a.dir / name, ec))
                throw Error(displayPath(a.dir / name) + ": missing (" + outputKindName(kind) + " cannot be used)");
    } catch (const Error& e) {
        a.damaged = e.what();
    } catch (const std::exception& e) {
        a.damaged = displayPath(a.dir / layout.manifest) + ": invalid: " + std::string(e.what()).substr(0, 200);
    }
    return a;
}

WorkspaceIndex::WorkspaceIndex(fs::path workspace)
    : m_workspace(std::move(workspace))
{
}

const char* WorkspaceIndex::folderName(OutputKind kind)
{
    return layoutOf(kind).folder;
}

void WorkspaceIndex::scanOne(OutputKind kind, const fs::path& dir, std::map<std::string, Cached>& next, bool& changed)
{
    const std::string key = fs::absolute(dir).lexically_normal().string();
    if (next.count(key))
        return; // listed twice (runs.index and runs/)
    std::error_code ec;
    const fs::path manifest = dir / layoutOf(kind).manifest;
    const auto status = fs::symlink_status(manifest, ec);
    if (ec || !fs::is_regular_file(status))
        return; // no manifest: not (yet) an artifact
    // The folder's own time changes when a file is added, removed or renamed in it (a swap, a lost file).
    const std::int64_t folderModified = modifiedNs(dir, ec);
    const std::int64_t modified = modifiedNs(manifest, ec);
    const std::uintmax_t bytes = fs::file_size(manifest, ec);
    const auto old = m_cache.find(key);
    if (old != m_cache.end() && old->second.modifiedNs == modified && old->second.folderModifiedNs == folderModified
        && old->second.bytes == bytes && old->second.artifact.kind == kind) {
        next.insert(m_cache.extract(old)); // moved, not copied: an unchanged scan copies no artifact
        return;
    }
    changed = true;
    next.emplace(key, Cached{modified, folderModified, bytes, readArtifact(kind, dir)});
}

void WorkspaceIndex::scanFolder(OutputKind kind, const fs::path& folder, std::map<std::string, Cached>& next,
                                bool& changed)
{
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') // hidden, or being written beside its place
            continue;
        std::error_code kindError;
        if (it->is_directory(kindError) && !it->is_symlink(kindError))
            scanOne(kind, it->path(), next, changed);
    }
}

bool WorkspaceIndex::refresh()
{
    std::map<std::string, Cached> next;
    bool changed = false;
    if (!m_workspace.empty()) {
        for (const KindLayout& layout : layouts())
            scanFolder(layout.kind, m_workspace / layout.folder, next, changed);
        // Runs the CLI made outside the workspace, listed one path a line.
        std::error_code ec;
        const fs::path index = m_workspace / "runs.index";
        if (fs::is_regular_file(index, ec)) {
            try {
                std::istringstream in(readFile(index, kMaxManifestBytes));
                for (std::string line; std::getline(in, line);)
                    if (!line.empty() && fs::u8path(line).is_absolute())
                        scanOne(OutputKind::Run, fs::u8path(line), next, changed);
            } catch (const std::exception&) {
                // An unreadable index hides only the runs made outside the workspace.
            }
        }
    }
    changed = changed || !m_cache.empty(); // what is left in the old cache was not found again
    m_cache = std::move(next);
    if (!changed)
        return false;
    m_sorted.clear();
    for (const auto& [key, cached] : m_cache)
        m_sorted.push_back(cached.artifact);
    std::stable_sort(m_sorted.begin(), m_sorted.end(), [](const Artifact& a, const Artifact& b) {
        return a.modifiedNs != b.modifiedNs ? a.modifiedNs > b.modifiedNs : a.dir > b.dir;
    });
    return changed;
}

namespace {
bool named(const std::string& fingerprint, const std::vector<std::string>& fingerprints)
{
    return !fingerprint.empty()
           && std::find(fingerprints.begin(), fingerprints.end(), fingerprint) != fingerprints.end();
}
} // namespace

std::vector<const Artifact*> WorkspaceIndex::of(OutputKind kind, const std::vector<std::string>& fingerprints) const
{
    std::vector<const Artifact*> found;
    for (const Artifact& a : m_sorted)
        if (a.kind == kind && a.usable() && named(a.dataFingerprint, fingerprints))
            found.push_back(&a);
    return found;
}

const Artifact* WorkspaceIndex::newest(OutputKind kind, const std::vector<std::string>& fingerprints) const
{
    const auto found = of(kind, fingerprints);
    return found.empty() ? nullptr : found.front();
}

int WorkspaceIndex::countOfOthers(OutputKind kind, const std::vector<std::string>& fingerprints) const
{
    return static_cast<int>(std::count_if(m_sorted.begin(), m_sorted.end(), [&](const Artifact& a) {
        return a.kind == kind && a.usable() && !named(a.dataFingerprint, fingerprints);
    }));
}

const Artifact* WorkspaceIndex::find(const fs::path& dir) const
{
    const fs::path key = fs::absolute(dir).lexically_normal();
    for (const Artifact& a : m_sorted)
        if (a.dir == key)
            return &a;
    return nullptr;
}

} // namespace faceatlas
