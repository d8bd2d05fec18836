#include "util/MappedFile.h"

#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/OutputFolder.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace faceatlas {

namespace fs = std::filesystem;

MappedFile::~MappedFile()
{
    reset();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr))
    , m_size(std::exchange(other.m_size, 0))
{
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept
{
    if (this != &other) {
        reset();
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
    }
    return *this;
}

void MappedFile::reset() noexcept
{
    if (m_data && m_size > 0)
        ::munmap(m_data, m_size);
    m_data = nullptr;
    m_size = 0;
}

MappedFile MappedFile::openReadOnly(const std::filesystem::path& path, bool populate)
{
    return mapDescriptor(openRegularFile(path), path, populate); // a FIFO or a device cannot be mapped as a file
}

MappedFile MappedFile::openReadOnly(const OpenFolder& folder, const std::string& name, bool populate)
{
    return mapDescriptor(folder.openFile(name), folder.path() / name, populate);
}

MappedFile MappedFile::mapDescriptor(int fd, const std::filesystem::path& path, bool populate)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(displayPath(path) + ": cannot stat: " + errnoText(err));
    }
    MappedFile file;
    file.m_size = static_cast<size_t>(st.st_size);
    if (file.m_size > 0) {
        void* p = ::mmap(nullptr, file.m_size, PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            file.m_size = 0;
            throw Error(displayPath(path) + ": cannot map: " + errnoText(err));
        }
        file.m_data = static_cast<std::uint8_t*>(p);
    }
    ::close(fd);
    return file;
}

MappedFile MappedFile::create(const std::filesystem::path& path, size_t size)
{
    // A new file only (O_EXCL, O_NOFOLLOW): never an existing file someone may be reading, never a link.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(writtenPath(path) + ": cannot create: " + errnoText(errno));
    // Every block is allocated now: a write through the mapping into a block the disk no longer has
    // would be SIGBUS, so a full disk is this error instead, before any work is done.
    if (size > 0) {
        const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
        if (err != 0) {
            ::close(fd);
            ::unlink(path.c_str());
            const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
            if (err == ENOSPC || err == EDQUOT || err == EFBIG)
                throw Error(writtenPath(dir) + ": not enough disk space: " + displayPath(path.filename()) + " needs "
                            + byteText(size) + ", " + byteText(freeBytes(dir)) + " free there; free some space or "
                            + "choose another folder");
            throw Error(writtenPath(path) + ": cannot reserve " + byteText(size) + ": " + errnoText(err));
        }
    }
    MappedFile file;
    file.m_size = size;
    if (size > 0) {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            file.m_size = 0;
            throw Error(displayPath(path) + ": cannot map: " + errnoText(err));
        }
        file.m_data = static_cast<std::uint8_t*>(p);
    }
    ::close(fd);
    return file;
}

void MappedFile::flush()
{
    if (m_data && m_size > 0 && ::msync(m_data, m_size, MS_SYNC) != 0)
        throw Error(std::string("cannot flush mapped file: ") + errnoText(errno));
}

} // namespace faceatlas
