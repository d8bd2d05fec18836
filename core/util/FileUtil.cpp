#include "util/FileUtil.h"

#include "util/Error.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace faceatlas {

const char* fileTypeName(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a folder";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    default: return "not a regular file";
    }
}

namespace {

/** Checks an open descriptor is a regular file and clears O_NONBLOCK; closes it and throws otherwise. */
int checkRegular(int fd, const fs::path& path)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(displayPath(path) + ": cannot stat: " + errnoText(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(displayPath(path) + ": is " + fileTypeName(st.st_mode) + ", not a regular file");
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0)
        ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

} // namespace

int openRegularFile(const fs::path& path)
{
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        throw Error(displayPath(path) + ": cannot open: " + errnoText(errno));
    return checkRegular(fd, path);
}

std::string readDescriptor(int fd, const fs::path& what, std::uint64_t maxBytes)
{
    std::string bytes;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
        if (static_cast<std::uint64_t>(st.st_size) > maxBytes) {
            ::close(fd);
            throw Error(displayPath(what) + ": " + std::to_string(st.st_size) + " bytes, more than the "
                        + std::to_string(maxBytes) + " such a file can need");
        }
        bytes.reserve(static_cast<size_t>(st.st_size));
    }
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            throw Error(displayPath(what) + ": read failed: " + errnoText(err));
        }
        if (n == 0)
            break;
        if (bytes.size() + static_cast<size_t>(n) > maxBytes) {
            ::close(fd);
            throw Error(displayPath(what) + ": more than the " + std::to_string(maxBytes)
                        + " bytes such a file can need");
        }
        bytes.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return bytes;
}

std::string readFile(const fs::path& path)
{
    return readDescriptor(openRegularFile(path), path);
}

OpenFolder::OpenFolder(const fs::path& dir)
    : m_path(dir)
{
    m_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (m_fd < 0)
        throw Error(displayPath(dir) + ": cannot open the folder: " + errnoText(errno));
    struct stat st {};
    if (::fstat(m_fd, &st) == 0) {
        m_device = st.st_dev;
        m_inode = st.st_ino;
    }
}

OpenFolder::~OpenFolder()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

int OpenFolder::openFile(const std::string& name) const
{
    // "./NAME": relative to the folder's descriptor, whatever its path names now.
    const int fd = ::openat(m_fd, ("./" + name).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        const int err = errno;
        throw Error(displayPath(m_path / name) + ": cannot open: "
                    + (err == ELOOP ? std::string("it is a symbolic link") : std::string(errnoText(err))));
    }
    return checkRegular(fd, m_path / name);
}

bool OpenFolder::hasFile(const std::string& name) const
{
    return fileSize(name) >= 0;
}

bool OpenFolder::hasEntry(const std::string& name) const
{
    struct stat st {};
    return ::fstatat(m_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::int64_t OpenFolder::fileSize(const std::string& name) const
{
    struct stat st {};
    if (::fstatat(m_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return st.st_size;
}

std::string OpenFolder::read(const std::string& name, std::uint64_t maxBytes) const
{
    return readDescriptor(openFile(name), m_path / name, maxBytes);
}

bool OpenFolder::stillAtPath() const
{
    struct stat st {};
    return ::stat(m_path.c_str(), &st) == 0 && st.st_dev == m_device && st.st_ino == m_inode;
}

namespace {

std::atomic<unsigned> g_temporaryCounter{0};

} // namespace

AtomicFile::AtomicFile(const fs::path& path)
    : m_path(path)
{
    if (path.has_parent_path())
        fs::create_directories(path.parent_path());
    // A recognisable, unique temporary name (removeStaleTemporaries), created exclusively: O_EXCL with
    // O_NOFOLLOW never opens a file or follows a link that is already there (one planted at a guessed
    // name, say); a name that is taken is skipped for the next one.
    for (int attempt = 0;; ++attempt) {
        const std::string name = "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-"
                                 + std::to_string(g_temporaryCounter.fetch_add(1));
        m_tmp = path.has_parent_path() ? path.parent_path() / name : fs::path(name);
        m_fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (m_fd >= 0)
            break;
        const int err = errno;
        if (err != EEXIST || attempt >= 1000)
            throw Error(writtenPath(path) + ": cannot write: " + errnoText(err));
    }
    // The target itself must be a file (or nothing): a link or a device in its place is never replaced.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        ::close(m_fd);
        m_fd = -1;
        ::unlink(m_tmp.c_str());
        throw Error(displayPath(path) + ": is " + fileTypeName(st.st_mode)
                    + "; FaceAtlas replaces only regular files: name the file itself");
    }
}

AtomicFile::~AtomicFile()
{
    if (m_fd >= 0) {
        ::close(m_fd);
        ::unlink(m_tmp.c_str());
    }
}

void AtomicFile::fail(const char* what)
{
    const int err = errno;
    ::close(m_fd);
    m_fd = -1;
    ::unlink(m_tmp.c_str());
    throw Error(writtenPath(m_path) + ": " + what + ": " + errnoText(err));
}

void AtomicFile::write(const void* data, size_t size)
{
    writeAt(m_written, data, size);
}

void AtomicFile::writeAt(std::uint64_t offset, const void* data, size_t size)
{
    if (m_fd < 0)
        throw Error(displayPath(m_path) + ": write after the file was closed");
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::pwrite(m_fd, p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail(errno == ENOSPC || errno == EDQUOT ? "not enough disk space" : "write failed");
        p += n;
        offset += static_cast<std::uint64_t>(n);
        size -= static_cast<size_t>(n);
    }
    m_written = std::max(m_written, offset);
}

void AtomicFile::commit(bool durable)
{
    if (m_fd < 0)
        throw Error(displayPath(m_path) + ": commit after the file was closed");
    if (durable && ::fsync(m_fd) != 0)
        fail("write failed");
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(m_tmp.c_str());
        throw Error(writtenPath(m_path) + ": write failed: " + errnoText(err));
    }
    if (::rename(m_tmp.c_str(), m_path.c_str()) != 0) {
        const int err = errno;
        ::unlink(m_tmp.c_str());
        throw Error(writtenPath(m_path) + ": cannot replace: " + errnoText(err));
    }
    if (durable)
        syncDirectory(m_path.has_parent_path() ? m_path.parent_path() : fs::path("."));
}

void writeFileAtomic(const fs::path& path, std::string_view bytes, bool durable)
{
    AtomicFile file(path);
    file.write(bytes.data(), bytes.size());
    file.commit(durable);
}

void copyFileAtomic(const fs::path& from, const fs::path& to)
{
    std::error_code ec;
    if (fs::equivalent(from, to, ec))
        return; // the file onto itself: nothing to do, and nothing to lose
    const int in = openRegularFile(from);
    AtomicFile out(to);
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(in, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            ::close(in);
            throw Error(displayPath(from) + ": read failed: " + errnoText(err));
        }
        if (n == 0)
            break;
        try {
            out.write(buffer, static_cast<size_t>(n));
        } catch (...) {
            ::close(in);
            throw;
        }
    }
    ::close(in);
    out.commit();
}

void syncFile(const fs::path& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(displayPath(path) + ": cannot open: " + errnoText(errno));
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(displayPath(path) + ": cannot sync to disk: " + errnoText(err));
    }
    ::close(fd);
}

void syncDirectory(const fs::path& dir)
{
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    ::fsync(fd); // some file systems refuse fsync on folders (EINVAL): nothing more can be done there
    ::close(fd);
}

bool isTemporaryName(const std::string& name, long* pid)
{
    // .NAME.tmp-PID-N with PID and N decimal: only the names AtomicFile gives its temporaries.
    if (name.size() < 2 || name[0] != '.')
        return false;
    const size_t at = name.rfind(".tmp-");
    if (at == std::string::npos || at < 2)
        return false;
    const std::string tail = name.substr(at + 5);
    const size_t dash = tail.find('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 >= tail.size() || dash > 9 || tail.size() - dash > 11)
        return false;
    for (size_t i = 0; i < tail.size(); ++i)
        if (i != dash && (tail[i] < '0' || tail[i] > '9'))
            return false;
    if (pid)
        *pid = std::stol(tail.substr(0, dash));
    return true;
}

int removeStaleTemporaries(const fs::path& dir, const std::function<bool(const std::string&)>& ownName)
{
    int removed = 0;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return 0;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        long pid = 0;
        const std::string name = entry.path().filename().string();
        if (!isTemporaryName(name, &pid) || !entry.is_regular_file(ec) || entry.is_symlink(ec))
            continue;
        // Only a temporary of a file FaceAtlas writes here, by its exact name, whose writer is gone.
        if (!ownName(name.substr(1, name.rfind(".tmp-") - 1)))
            continue;
        const bool alive = pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
        if (pid != ::getpid() && !alive && fs::remove(entry.path(), ec))
            ++removed;
    }
    return removed;
}

std::string writtenPath(const fs::path& path)
{
    fs::path shown;
    for (const auto& part : path) {
        const std::string name = part.string();
        long pid = 0;
        const size_t at = name.rfind(".tmp-");
        if (name.size() > 1 && name[0] == '.' && at != std::string::npos && at > 1 && isTemporaryName(name, &pid))
            shown /= name.substr(1, at - 1);
        else
            shown /= part;
    }
    return displayPath(shown);
}

std::string utcTimestamp()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

fs::path cacheDir()
{
    if (const char* dir = std::getenv("FACEATLAS_CACHE_DIR"); dir && *dir)
        return fs::path(dir);
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return fs::path(xdg) / "faceatlas";
    if (const char* home = std::getenv("HOME"); home && *home)
        return fs::path(home) / ".cache" / "faceatlas";
    return fs::temp_directory_path() / "faceatlas-cache";
}

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed)
{
    std::uint64_t h = seed;
    for (const unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

std::string hexKey(std::uint64_t hash)
{
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

std::string fileIdentity(const fs::path& path)
{
    struct stat st {};
    const fs::path absolute = fs::absolute(path).lexically_normal();
    if (::stat(absolute.c_str(), &st) != 0)
        throw Error(displayPath(path) + ": cannot stat: " + errnoText(errno));
    return absolute.string() + "|" + std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "."
           + std::to_string(st.st_mtim.tv_nsec);
}

std::string readFile(const fs::path& path, std::uint64_t maxBytes)
{
    return readDescriptor(openRegularFile(path), path, maxBytes);
}

} // namespace faceatlas
