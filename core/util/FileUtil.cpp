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

int openRegularFile(const fs::path& path)
{
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        throw Error(displayPath(path) + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(displayPath(path) + ": cannot stat: " + std::strerror(err));
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

std::string readFile(const fs::path& path)
{
    const int fd = openRegularFile(path);
    std::string bytes;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0)
        bytes.reserve(static_cast<size_t>(st.st_size));
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            throw Error(displayPath(path) + ": read failed: " + std::strerror(err));
        }
        if (n == 0)
            break;
        bytes.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return bytes;
}

namespace {

std::atomic<unsigned> g_temporaryCounter{0};

} // namespace

AtomicFile::AtomicFile(const fs::path& path)
    : m_path(path)
{
    if (path.has_parent_path())
        fs::create_directories(path.parent_path());
    // A recognisable, unique temporary name (removeStaleTemporaries), so two writers never share one.
    const std::string name = "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-"
                             + std::to_string(g_temporaryCounter.fetch_add(1));
    m_tmp = path.has_parent_path() ? path.parent_path() / name : fs::path(name);
    m_fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (m_fd < 0)
        throw Error(displayPath(path) + ": cannot write: " + std::strerror(errno));
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
    throw Error(displayPath(m_path) + ": " + what + ": " + std::strerror(err));
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
            fail("write failed");
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
        throw Error(displayPath(m_path) + ": write failed: " + std::strerror(err));
    }
    if (::rename(m_tmp.c_str(), m_path.c_str()) != 0) {
        const int err = errno;
        ::unlink(m_tmp.c_str());
        throw Error(displayPath(m_path) + ": cannot replace: " + std::strerror(err));
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

void syncFile(const fs::path& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(displayPath(path) + ": cannot open: " + std::strerror(errno));
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(displayPath(path) + ": cannot sync to disk: " + std::strerror(err));
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
    // [.]NAME.tmp-PID-N with PID and N decimal
    const size_t at = name.rfind(".tmp-");
    if (at == std::string::npos || at == 0)
        return false;
    const std::string tail = name.substr(at + 5);
    const size_t dash = tail.find('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 >= tail.size() || dash > 9)
        return false;
    for (size_t i = 0; i < tail.size(); ++i)
        if (i != dash && (tail[i] < '0' || tail[i] > '9'))
            return false;
    if (pid)
        *pid = std::stol(tail.substr(0, dash));
    return true;
}

int removeStaleTemporaries(const fs::path& dir)
{
    int removed = 0;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return 0;
    const auto now = fs::file_time_type::clock::now();
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        long pid = 0;
        const std::string name = entry.path().filename().string();
        if (!isTemporaryName(name, &pid) || !entry.is_regular_file(ec))
            continue;
        const bool alive = pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
        const auto modified = entry.last_write_time(ec);
        const bool old = !ec && now - modified > std::chrono::hours(24);
        if ((pid != ::getpid() && !alive) || old)
            if (fs::remove(entry.path(), ec))
                ++removed;
    }
    return removed;
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
        throw Error(displayPath(path) + ": cannot stat: " + std::strerror(errno));
    return absolute.string() + "|" + std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "."
           + std::to_string(st.st_mtim.tv_nsec);
}

} // namespace faceatlas
