#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace faceatlas {

namespace fs = std::filesystem;

/**
 * Reads a whole file; throws Error naming the file when it cannot be read or is not a regular file
 * (a FIFO, a device or a folder is refused before any read, so it can never block or never end).
 */
std::string readFile(const fs::path& path);

/**
 * Opens a regular file for reading and returns its descriptor (the caller closes it); throws Error
 * naming the file when it cannot be opened or is a FIFO, a device, a folder or a socket. Never
 * blocks on a FIFO.
 */
int openRegularFile(const fs::path& path);

/** "a FIFO (named pipe)", "a folder", ... for a stat() st_mode, for messages. */
const char* fileTypeName(unsigned mode);

/**
 * Writes a file atomically: a temporary file beside it, then renamed over the target, so readers see
 * the old or the new content, never a part. `durable` also syncs it to disk before the rename and
 * syncs the folder after it, so the new name survives a power cut.
 */
void writeFileAtomic(const fs::path& path, std::string_view bytes, bool durable = true);

/**
 * A file written piece by piece into a temporary `.NAME.tmp-PID-N` beside `path`, and put in place by
 * commit() (fsync, rename, fsync of the folder). Destroyed without commit(), the temporary is removed.
 */
class AtomicFile {
public:
    explicit AtomicFile(const fs::path& path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    /** Appends bytes; throws Error naming the target. */
    void write(const void* data, size_t size);
    /** Overwrites bytes already written at `offset` (a header filled in last). */
    void writeAt(std::uint64_t offset, const void* data, size_t size);
    std::uint64_t written() const { return m_written; }
    /** Syncs, renames over the target and syncs the folder. */
    void commit(bool durable = true);

private:
    void fail(const char* what);
    fs::path m_path;
    fs::path m_tmp;
    int m_fd = -1;
    std::uint64_t m_written = 0;
};

/** Writes a file's data to disk (fsync); throws Error naming it. */
void syncFile(const fs::path& path);
/** Makes the names in a folder durable (fsync of the folder; ignored where the system refuses). */
void syncDirectory(const fs::path& dir);
/** True for names writeFileAtomic() gives its temporaries (`.NAME.tmp-PID-N`, and the older `NAME.tmp-PID-N`). */
bool isTemporaryName(const std::string& name, long* pid = nullptr);
/**
 * Removes the temporaries of interrupted writes in `dir`: those whose writing process is gone, or
 * that are older than a day. Returns how many it removed. Call it when a folder is opened for writing.
 */
int removeStaleTemporaries(const fs::path& dir);

/** The per-user cache folder: $FACEATLAS_CACHE_DIR, else $XDG_CACHE_HOME/faceatlas, else ~/.cache/faceatlas. */
fs::path cacheDir();

/** 64-bit FNV-1a: a stable hash for cache keys (not for security). */
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 1469598103934665603ULL);

/** A hash as 16 lowercase hex digits. */
std::string hexKey(std::uint64_t hash);

/** Identity of a file for caching: absolute path, size and modification time. */
std::string fileIdentity(const fs::path& path);

/** The current time in UTC as ISO 8601, e.g. "2026-11-28T09:14:02Z" (run records, manifests). */
std::string utcTimestamp();

/** Path as UTF-8 text for messages and JSON. */
inline std::string displayPath(const fs::path& path)
{
    return path.u8string();
}

} // namespace faceatlas
