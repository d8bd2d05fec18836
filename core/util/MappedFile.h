#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace faceatlas {

class OpenFolder;

/** A file mapped into memory, read-only or read-write; unmapped when destroyed. */
class MappedFile {
public:
    MappedFile() = default;
    ~MappedFile();
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    /**
     * Maps an existing regular file for reading; throws Error naming the file (a FIFO, a device or
     * a folder is refused without blocking). `populate` reads it all in
     * now (for data that will be scanned whole, like codes), instead of page by page on first touch.
     */
    static MappedFile openReadOnly(const std::filesystem::path& path, bool populate = false);
    /** The same for the file `name` of a folder opened once (see OpenFolder). */
    static MappedFile openReadOnly(const OpenFolder& folder, const std::string& name, bool populate = false);
    /**
     * Creates a new file of `size` bytes (never an existing one, never through a link), with its blocks
     * reserved, and maps it for writing. A disk without room is an Error naming the folder and the
     * bytes needed, never a SIGBUS later.
     */
    static MappedFile create(const std::filesystem::path& path, size_t size);

    const std::uint8_t* data() const { return m_data; }
    std::uint8_t* mutableData() { return m_data; }
    size_t size() const { return m_size; }
    bool isOpen() const { return m_data != nullptr || m_size == 0; }
    /** Writes dirty pages of a writable mapping to disk. */
    void flush();

private:
    /** Maps an open regular file read-only and closes the descriptor. */
    static MappedFile mapDescriptor(int fd, const std::filesystem::path& path, bool populate);
    void reset() noexcept;
    std::uint8_t* m_data = nullptr;
    size_t m_size = 0;
};

} // namespace faceatlas
