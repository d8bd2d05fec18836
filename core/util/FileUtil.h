#pragma once

#include "util/Error.h"

#include <cstdint>
#include <filesystem>
#include <functional>
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
 * readFile() of a file that may hold at most `maxBytes`: a larger one (a sparse gigabyte in a
 * manifest's place, say) is refused with an Error naming the file and the limit before any byte is read.
 */
std::string readFile(const fs::path& path, std::uint64_t maxBytes);

/**
 * Opens a regular file for reading and returns its descriptor (the caller closes it); throws Error
 * naming the file when it cannot be opened or is a FIFO, a device, a folder or a socket. Never
 * blocks on a FIFO.
 */
int openRegularFile(const fs::path& path);

/**
 * A folder opened once, so that every file read through it comes from this one folder even when
 * another folder is renamed into its path meanwhile (a preparation swapped in while a reader opens
 * the old one): files are opened relative to its descriptor, never by their path again.
 */
class OpenFolder {
public:
    /** Opens `dir`; throws Error naming it when it is missing or not a folder. */
    explicit OpenFolder(const fs::path& dir);
    ~OpenFolder();
    OpenFolder(const OpenFolder&) = delete;
    OpenFolder& operator=(const OpenFolder&) = delete;

    const fs::path& path() const { return m_path; }
    /** Opens `name` in this folder as openRegularFile() does (never following a link); the caller closes it. */
    int openFile(const std::string& name) const;
    /** True when this folder holds a regular file `name` (not a link). */
    bool hasFile(const std::string& name) const;
    /** True when this folder holds anything named `name` (a file, a folder, a FIFO, a link). */
    bool hasEntry(const std::string& name) const;
    /** Size of the regular file `name`, or -1 when there is none. */
    std::int64_t fileSize(const std::string& name) const;
    /** Reads the whole file `name`; throws Error naming it, also when it is over `maxBytes`. */
    std::string read(const std::string& name, std::uint64_t maxBytes = UINT64_MAX) const;
    /** True while the folder's path still names this very folder (no other was renamed into its place). */
    bool stillAtPath() const;

private:
    fs::path m_path;
    int m_fd = -1;
    std::uint64_t m_device = 0, m_inode = 0;
};

/**
 * Reads DIR through one OpenFolder with `read` (every file from one folder). When another folder was
 * swapped into DIR while it read (the path names another folder now, or the old one's files vanished
 * under it), it reads again, three times at most, so a reader gets the newest complete folder and
 * never a mix of two.
 */
template <typename Read>
auto readWholeFolder(const fs::path& dir, Read&& read)
{
    for (int attempt = 1;; ++attempt) {
        const OpenFolder folder(dir);
        try {
            auto result = read(folder);
            if (folder.stillAtPath() || attempt == 3)
                return result;
        } catch (const Error&) {
            if (folder.stillAtPath() || attempt == 3)
                throw;
        }
    }
}

/** Reads all of an open descriptor (closing it); throws Error naming `what`, also past `maxBytes`. */
std::string readDescriptor(int fd, const fs::path& what, std::uint64_t maxBytes = UINT64_MAX);

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

/**
 * Copies a regular file to `to` as writeFileAtomic() writes (beside it, then renamed over it): a
 * failed copy leaves `to` as it was, and a file copied onto itself is left alone.
 */
void copyFileAtomic(const fs::path& from, const fs::path& to);

/** Writes a file's data to disk (fsync); throws Error naming it. */
void syncFile(const fs::path& path);
/** Makes the names in a folder durable (fsync of the folder; ignored where the system refuses). */
void syncDirectory(const fs::path& dir);
/** True for names writeFileAtomic() gives its temporaries (`.NAME.tmp-PID-N`). */
bool isTemporaryName(const std::string& name, long* pid = nullptr);
/**
 * Removes the temporaries of interrupted writes in `dir`: `.NAME.tmp-PID-N` regular files whose NAME
 * `ownName` accepts (a file FaceAtlas writes in that folder) and whose writing process is gone. Nothing
 * else is ever removed, however it is named. Returns how many it removed. Call it when a folder is
 * opened for writing.
 */
int removeStaleTemporaries(const fs::path& dir, const std::function<bool(const std::string&)>& ownName);

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

/**
 * A path being written, as the user named it, for messages: a folder being written beside its place
 * (`.NAME.tmp-PID-N`, see StagedFolder) is shown as NAME, so "C/codes.f32", not ".C.tmp-123-0/codes.f32".
 */
std::string writtenPath(const fs::path& path);

/** Path as UTF-8 text for messages and JSON. */
inline std::string displayPath(const fs::path& path)
{
    return path.u8string();
}

} // namespace faceatlas
