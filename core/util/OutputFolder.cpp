#include "util/OutputFolder.h"

#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace faceatlas {

namespace {

struct KindInfo {
    OutputKind kind;
    const char* name;
    const char* manifest;
    const char* format;
    std::vector<std::string> names;
    // Folders an older FaceAtlas left unfinished, without their manifest: recognised only by a file
    // that starts with bytes FaceAtlas writes (a record file's magic, a CSV's exact header), never by
    // names alone (a folder of the user's may well hold a "galleries" or a "metrics.csv").
    struct Marker {
        const char* file;
        std::string bytes; // found within the file's first `within` bytes (at its start when within is 0)
        size_t within = 0;
    };
    std::vector<Marker> markers;
};

const std::vector<KindInfo>& kinds()
{
    static const std::vector<KindInfo> table = {
        {OutputKind::Prepared,
         "a prepared dataset",
         "prepared.json",
         "faceatlas-prepared",
         // quality.f32: the quality columns (data/FaceQuality.h), written with every preparation now.
         {"prepared.json", "records.bin", "images.u8", "split.bin", "landmarks.f32", "quality.f32"},
         {}},
        {OutputKind::Codes,
         "codes",
         "codes.json",
         "faceatlas-codes",
         {"codes.json", "codes.f32", "records.bin"},
         {{"records.bin", "FAREC"}}},
        {OutputKind::Clustering,
         "a clustering",
         "metrics.json",
         "faceatlas-clustering",
         // cluster_names.json: the clusters' summaries, labels and names (data/ClusterSummaries.h).
         {"metrics.json", "centroids.f32", "assignments.csv", "clusters.json", "cluster_names.json",
          "interpolation.png", "age_direction.png", "centroids", "medoids", "galleries"},
         {}},
        {OutputKind::Map, "a map", "map.json", "faceatlas-map", {"map.json", "map.csv"}, {{"map.csv", "path,x,y\n"}}},
        {OutputKind::Audit,
         "an audit",
         "audit.json",
         "faceatlas-audit",
         {"audit.json", "suspects.csv", "duplicates.csv", "folds"},
         {{"folds/folds.json", "{"}}},
        {OutputKind::Run,
         "a training run",
         "run.json",
         "faceatlas-run",
         {"run.json", "metrics.csv", "last.pt", "best.pt", "previews", "oof.bin"},
         {{"metrics.csv", "epoch,train_loss,"}, {"last.pt", "\"faceatlas-checkpoint\"", 4096}}},
        {OutputKind::Slices,
         "a slice report",
         "slices.json",
         "faceatlas-slices",
         {"slices.json", "slices.csv"},
         {{"slices.csv", "by,slice,n,mae,"}}},
        // What changed between two preparations of one source (faceatlas-cli diff, data/DatasetHistory.h).
        {OutputKind::Diff,
         "a diff of two preparations",
         "diff.json",
         "faceatlas-diff",
         {"diff.json", "diff.csv"},
         {{"diff.csv", "path,change,cause,"}}},
    };
    return table;
}

const KindInfo& info(OutputKind kind)
{
    for (const auto& k : kinds())
        if (k.kind == kind)
            return k;
    throw Error("unknown output kind");
}

/** `.NAME.tmp-PID-N` / `.NAME.old-PID-N` beside `dir`. */
fs::path siblingPath(const fs::path& dir, const char* what)
{
    static std::atomic<unsigned> counter{0};
    return dir.parent_path()
           / ("." + dir.filename().string() + "." + what + "-" + std::to_string(::getpid()) + "-"
              + std::to_string(counter++));
}

bool processAlive(long pid)
{
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

/** True when `name` is `.NAME.tmp-PID-N` or `.NAME.old-PID-N` (sets the PID). */
bool isSiblingName(const std::string& name, const std::string& dirName, long* pid)
{
    const std::string prefix = "." + dirName + ".";
    if (name.rfind(prefix, 0) != 0)
        return false;
    std::string rest = name.substr(prefix.size());
    if (rest.rfind("tmp-", 0) != 0 && rest.rfind("old-", 0) != 0)
        return false;
    rest = rest.substr(4);
    const size_t dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || dash > 9 || dash + 1 >= rest.size())
        return false;
    for (size_t i = 0; i < rest.size(); ++i)
        if (i != dash && (rest[i] < '0' || rest[i] > '9'))
            return false;
    *pid = std::stol(rest.substr(0, dash));
    return true;
}

bool hasManifest(const fs::path& dir, const KindInfo& k)
{
    const fs::path manifest = dir / k.manifest;
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(manifest, ec)))
        return false;
    try {
        // Bounded (prepared.json's room, the largest manifest's): a bomb in a folder given as --out costs
        // little to look at.
        const auto j = parseJsonBounded(readFile(manifest, 64ull << 20), displayPath(manifest), 64, 20'000'000);
        if (!j.is_object())
            return false;
        if (j.contains("format"))
            return j.at("format").is_string() && j.at("format").get<std::string>() == k.format;
        // Older folders of kinds whose manifest had no format key: recognised by the keys they always held.
        if (k.kind == OutputKind::Map)
            return j.contains("method") && j.contains("count");
        if (k.kind == OutputKind::Clustering)
            return j.contains("k") && j.contains("codes");
        return false;
    } catch (const std::exception&) {
        return false;
    }
}

/** `name` is `.X.tmp-PID-N` with X one of this kind's names: a temporary FaceAtlas wrote there. */
bool isOwnTemporary(const std::string& name, const KindInfo& k)
{
    long pid = 0;
    if (!isTemporaryName(name, &pid))
        return false;
    const std::string base = name.substr(1, name.rfind(".tmp-") - 1);
    return std::find(k.names.begin(), k.names.end(), base) != k.names.end();
}

/** True when the regular file `file` (not a link) holds `bytes` at its start, or within its first `within` bytes. */
bool holds(const fs::path& file, const std::string& bytes, size_t within)
{
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(file, ec)))
        return false;
    try {
        const int fd = openRegularFile(file);
        std::string head(std::max(within, bytes.size()), '\0');
        const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
        ::close(fd);
        if (n < static_cast<ssize_t>(bytes.size()))
            return false;
        head.resize(static_cast<size_t>(n));
        return within == 0 ? head.compare(0, bytes.size(), bytes) == 0 : head.find(bytes) != std::string::npos;
    } catch (const Error&) {
        return false;
    }
}

/**
 * A folder an older or an interrupted FaceAtlas left unfinished (its manifest not yet written): every
 * entry is a name of this kind or a temporary of one, and a marker file holds the bytes FaceAtlas
 * writes there (or the folder holds nothing but such temporaries).
 */
bool isUnfinished(const fs::path& dir, const std::vector<std::string>& entries, const KindInfo& k)
{
    if (entries.empty())
        return false;
    bool onlyTemporaries = true;
    for (const auto& name : entries) {
        const bool temporary = isOwnTemporary(name, k);
        onlyTemporaries = onlyTemporaries && temporary;
        if (!temporary && std::find(k.names.begin(), k.names.end(), name) == k.names.end())
            return false;
    }
    if (onlyTemporaries)
        return true;
    for (const auto& marker : k.markers)
        if (holds(dir / marker.file, marker.bytes, marker.within))
            return true;
    return false;
}

/** True for the names `k` writes and the temporaries of them. */
bool isOwnName(const std::string& name, const KindInfo& k)
{
    return std::find(k.names.begin(), k.names.end(), name) != k.names.end() || isOwnTemporary(name, k);
}

/**
 * Empties a folder that is no longer a result (a replaced one, or what an interrupted write left
 * beside DIR): the names of `owned` kinds and their temporaries are removed; anything else is the
 * user's and moves into `into` (when given and the name is free there). What cannot move stays: the
 * folder is then renamed to a visible `NAME.kept-TIME` beside DIR instead of being removed.
 */
void disposeOld(const fs::path& old, const std::vector<const KindInfo*>& owned, const fs::path& into,
                const fs::path& dir)
{
    std::error_code ec;
    bool keptAny = false;
    std::vector<fs::path> remove;
    for (fs::directory_iterator it(old, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (std::any_of(owned.begin(), owned.end(), [&](const KindInfo* k) { return isOwnName(name, *k); })) {
            remove.push_back(it->path());
            continue;
        }
        std::error_code free;
        if (into.empty() || fs::exists(fs::symlink_status(into / name, free))
            || ::rename(it->path().c_str(), (into / name).c_str()) != 0)
            keptAny = true;
    }
    if (ec)
        keptAny = true; // not listed whole: nothing of it is known to be ours
    for (const auto& path : remove)
        fs::remove_all(path, ec);
    if (keptAny) {
        const fs::path kept = dir.parent_path() / (dir.filename().string() + ".kept-" + utcTimestamp());
        if (::rename(old.c_str(), kept.c_str()) != 0)
            throw Error(displayPath(old) + ": holds files FaceAtlas did not write and cannot be renamed to "
                        + displayPath(kept) + ": " + errnoText(errno) + "; move them out by hand");
    } else {
        ::rmdir(old.c_str());
    }
}

/**
 * What interrupted writes of DIR left beside it (`.NAME.tmp-PID-N` and `.NAME.old-PID-N` folders of
 * processes that are gone): emptied by disposeOld() with every kind's names as FaceAtlas's, so a
 * file of the user's in them is kept (renamed into view), never removed. Called with DIR's lock held.
 */
void removeStaleSiblings(const fs::path& dir)
{
    std::vector<const KindInfo*> all;
    for (const auto& k : kinds())
        all.push_back(&k);
    std::error_code ec;
    const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
    std::vector<fs::path> stale;
    for (fs::directory_iterator it(parent, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        long pid = 0;
        std::error_code typeError;
        if (isSiblingName(it->path().filename().string(), dir.filename().string(), &pid) && it->is_directory(typeError)
            && !it->is_symlink(typeError) && !processAlive(pid))
            stale.push_back(it->path());
    }
    for (const auto& path : stale)
        disposeOld(path, all, {}, dir);
}

bool isWithin(const fs::path& inner, const fs::path& outer)
{
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty())
            continue; // a trailing separator
        if (i == inner.end() || *i != *o)
            return false;
    }
    return true;
}

fs::path canonicalOrNormal(const fs::path& path)
{
    std::error_code ec;
    fs::path c = fs::weakly_canonical(fs::absolute(path), ec);
    if (ec)
        c = fs::absolute(path).lexically_normal();
    // "a/b/" normalises to "a/b/" with an empty last element: drop it so paths compare by their names.
    if (!c.empty() && c.filename().empty())
        c = c.parent_path();
    return c;
}

fs::path normalisedDir(const fs::path& dir)
{
    fs::path d = dir.lexically_normal();
    if (d.filename().empty())
        d = d.parent_path();
    if (d.empty() || d.filename() == "." || d.filename() == "..")
        throw Error(displayPath(dir) + ": the output folder needs a name");
    return d;
}

} // namespace

const char* outputKindName(OutputKind kind)
{
    return info(kind).name;
}

const std::vector<std::string>& outputKindNames(OutputKind kind)
{
    return info(kind).names;
}

const char* outputKindFormat(OutputKind kind)
{
    return info(kind).format;
}

OutputFolderState inspectOutputFolder(const fs::path& dir, OutputKind kind)
{
    OutputFolderState state;
    std::error_code ec;
    const auto st = fs::symlink_status(dir, ec);
    if (ec || !fs::exists(st))
        return state;
    state.exists = true;
    if (!fs::is_directory(fs::status(dir, ec)))
        return state; // a file, a device, a link to one: none of the kinds
    std::vector<std::string> entries;
    for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        entries.push_back(it->path().filename().string());
    if (ec)
        throw Error(displayPath(dir) + ": cannot list the folder: " + ec.message());
    state.empty = entries.empty();
    if (state.empty)
        return state;
    const KindInfo& wanted = info(kind);
    if (hasManifest(dir, wanted) || isUnfinished(dir, entries, wanted)) {
        state.sameKind = true;
        return state;
    }
    for (const auto& k : kinds())
        if (k.kind != kind && (hasManifest(dir, k) || isUnfinished(dir, entries, k))) {
            state.otherKind = true;
            state.other = k.kind;
            return state;
        }
    return state;
}

void checkOutputFolder(const fs::path& dir, OutputKind kind, const OutputRules& rules)
{
    const fs::path out = canonicalOrNormal(dir);
    for (const auto& input : rules.inputs) {
        if (input.empty())
            continue;
        const fs::path in = canonicalOrNormal(input);
        if (isWithin(in, out))
            throw Error(displayPath(dir) + ": " + (in == out ? "is" : "holds") + " this job's input ("
                        + displayPath(input) + "), which FaceAtlas never writes into; choose another output folder");
    }
    struct stat link {};
    if (::lstat(dir.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
        throw Error(displayPath(dir) + ": is a symbolic link; FaceAtlas writes results beside their folder and "
                    + "swaps them in, which a link would not survive: name the folder itself");
    const OutputFolderState state = inspectOutputFolder(dir, kind);
    if (!state.exists || state.empty || state.sameKind)
        return;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw Error(displayPath(dir) + ": exists and is " + fileTypeName(static_cast<unsigned>([&] {
                        struct stat st {};
                        return ::lstat(dir.c_str(), &st) == 0 ? st.st_mode : 0u;
                    }()))
                    + ", not a folder; choose another output folder");
    if (state.otherKind) {
        if (rules.force)
            return;
        throw Error(displayPath(dir) + ": holds " + outputKindName(state.other) + ", not " + outputKindName(kind)
                    + "; choose another folder, or add --force to replace it");
    }
    throw Error(displayPath(dir) + ": exists and is not a FaceAtlas folder (it holds files FaceAtlas did not write); "
                + "choose a new or empty folder. Nothing was changed");
}

namespace {

[[noreturn]] void throwNoSpace(const fs::path& parent, const fs::path& dir)
{
    throw Error(displayPath(parent) + ": not enough disk space to write " + displayPath(dir.filename())
                + "; free some space or choose another folder");
}

/**
 * Takes `.NAME.lock` beside DIR (exclusive, never waiting, never through a link). The lock file is
 * removed by its holder when done, so a lock taken on a file already unlinked by the previous holder
 * is retried on the file now at the path.
 */
int takeLock(const fs::path& lock, const fs::path& parent, const fs::path& dir)
{
    for (int attempt = 0; attempt < 5; ++attempt) {
        const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            const int err = errno;
            if (err == ENOSPC || err == EDQUOT)
                throwNoSpace(parent, dir);
            throw Error(displayPath(lock) + ": cannot create the lock file: "
                        + (err == ELOOP ? std::string("it is a symbolic link") : std::string(errnoText(err))));
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            throw Error(displayPath(dir)
                        + ": another FaceAtlas is writing this folder now; wait for it to finish and try again");
        }
        struct stat held {
        }, now{};
        if (::fstat(fd, &held) == 0 && ::lstat(lock.c_str(), &now) == 0 && held.st_dev == now.st_dev
            && held.st_ino == now.st_ino)
            return fd;
        ::close(fd); // unlinked by its last holder meanwhile: take the one at the path now
    }
    throw Error(displayPath(lock) + ": the lock file keeps changing; try again");
}

} // namespace

StagedFolder::StagedFolder(const fs::path& dir, OutputKind kind, const OutputRules& rules)
    : m_dir(normalisedDir(dir))
    , m_kind(kind)
    , m_force(rules.force)
{
    const fs::path parent = m_dir.parent_path().empty() ? fs::path(".") : m_dir.parent_path();
    fs::create_directories(parent);
    m_lock = parent / ("." + m_dir.filename().string() + ".lock");
    m_lockFd = takeLock(m_lock, parent, m_dir);
    try {
        // Checked under the lock: no other FaceAtlas writes the folder between this and the swap.
        checkOutputFolder(m_dir, kind, rules);
        const OutputFolderState state = inspectOutputFolder(m_dir, kind);
        m_replacing = state.sameKind || state.otherKind;
        m_oldKind = state.otherKind ? state.other : kind;
        // The result is written beside DIR and renamed into its place: both on one file system.
        struct stat d {
        }, p{};
        if (state.exists && ::stat(m_dir.c_str(), &d) == 0 && ::stat(parent.c_str(), &p) == 0 && d.st_dev != p.st_dev)
            throw Error(displayPath(m_dir) + ": is a mount point; FaceAtlas writes a result beside its folder and "
                        + "swaps it in, so choose a folder inside it");
        removeStaleSiblings(m_dir);
        m_work = siblingPath(m_dir, "tmp");
        if (::mkdir(m_work.c_str(), 0755) != 0) {
            const int err = errno;
            m_work.clear();
            if (err == ENOSPC || err == EDQUOT)
                throwNoSpace(parent, m_dir);
            throw Error(writtenPath(m_dir) + ": cannot create a folder beside it: " + errnoText(err));
        }
    } catch (...) {
        releaseLock();
        throw;
    }
}

StagedFolder::~StagedFolder()
{
    if (!m_committed && !m_work.empty()) {
        std::error_code ec;
        fs::remove_all(m_work, ec); // ours: created empty by the constructor
    }
    releaseLock();
}

void StagedFolder::releaseLock() noexcept
{
    if (m_lockFd < 0)
        return;
    ::unlink(m_lock.c_str()); // while still held: see takeLock()
    ::close(m_lockFd);
    m_lockFd = -1;
}

void StagedFolder::commit()
{
    if (m_committed)
        throw Error(displayPath(m_dir) + ": committed twice");
    for (const auto& entry : fs::recursive_directory_iterator(m_work))
        if (entry.is_regular_file())
            syncFile(entry.path());
    for (const auto& entry : fs::recursive_directory_iterator(m_work))
        if (entry.is_directory())
            syncDirectory(entry.path());
    syncDirectory(m_work);
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(m_dir, ec))) {
        if (::rename(m_work.c_str(), m_dir.c_str()) != 0)
            throw Error(displayPath(m_dir) + ": cannot put the result in place: " + errnoText(errno));
        m_committed = true;
    } else {
        // Checked once more: still empty or FaceAtlas's, of another kind only with --force.
        const OutputFolderState state = inspectOutputFolder(m_dir, m_kind);
        if (!state.empty && !state.sameKind && !(state.otherKind && m_force))
            throw Error(displayPath(m_dir) + ": changed while this job ran (it holds "
                        + (state.otherKind ? std::string(outputKindName(state.other)) : "files FaceAtlas did not write")
                        + " now); nothing was replaced");
        if (state.otherKind)
            m_oldKind = state.other;
        fs::path old = m_work;
        if (::renameat2(AT_FDCWD, m_work.c_str(), AT_FDCWD, m_dir.c_str(), RENAME_EXCHANGE) != 0) {
            if (errno != EINVAL && errno != ENOSYS)
                throw Error(displayPath(m_dir) + ": cannot put the result in place: " + errnoText(errno));
            // No exchange on this file system: the old folder moved aside first, then the new one in.
            old = siblingPath(m_dir, "old");
            if (::rename(m_dir.c_str(), old.c_str()) != 0)
                throw Error(displayPath(m_dir) + ": cannot move the old result aside: " + errnoText(errno));
            if (::rename(m_work.c_str(), m_dir.c_str()) != 0) {
                const int err = errno;
                if (::rename(old.c_str(), m_dir.c_str()) != 0)
                    throw Error(displayPath(m_dir) + ": cannot put the result in place (" + errnoText(err)
                                + ") nor the old one back: it is at " + displayPath(old));
                throw Error(displayPath(m_dir) + ": cannot put the result in place: " + errnoText(err));
            }
        }
        // In place: from here on nothing removes the new result, whatever happens to the old one.
        m_committed = true;
        // The old result: its own files go, files of the user's move into the new folder.
        disposeOld(old, {&info(m_oldKind)}, m_dir, m_dir);
    }
    syncDirectory(m_dir.parent_path().empty() ? fs::path(".") : m_dir.parent_path());
}

void checkOutputFile(const fs::path& file)
{
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0)
        return; // a new file
    if (S_ISREG(st.st_mode))
        return;
    throw Error(displayPath(file) + ": is " + fileTypeName(st.st_mode)
                + "; FaceAtlas replaces only regular files: name the file itself");
}

std::uint64_t freeBytes(const fs::path& dir)
{
    fs::path d = dir;
    std::error_code ec;
    while (!d.empty() && !fs::exists(d, ec))
        d = d.parent_path();
    if (d.empty())
        d = ".";
    struct statvfs vfs {};
    if (::statvfs(d.c_str(), &vfs) != 0)
        return UINT64_MAX;
    return static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

std::string byteText(std::uint64_t bytes)
{
    char text[32];
    if (bytes >= (1ull << 30))
        std::snprintf(text, sizeof text, "%.1f GB", bytes / 1073741824.0);
    else if (bytes >= (1ull << 20))
        std::snprintf(text, sizeof text, "%.1f MB", bytes / 1048576.0);
    else if (bytes >= 1024)
        std::snprintf(text, sizeof text, "%.1f KB", bytes / 1024.0);
    else
        std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
    return text;
}

} // namespace faceatlas
