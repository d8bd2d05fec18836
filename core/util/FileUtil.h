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
 * the old or the new content, never a part. `durable` also syncs it to disk before the rename.
 */
void writeFileAtomic(const fs::path& path, std::string_view bytes, bool durable = true);

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
