// Fuzz target: a checkpoint's header as the checkpoint reader (ml/Runs.cpp) checks it, through
// ml/CheckpointHeader.h: the 8-byte length, the JSON header (bounded size, nesting and values), its
// metadata and checksum field, and the tensors it declares against the data section. The input is a
// whole checkpoint file. The checksum itself is not compared (no fuzzer would match it), nor are the
// tensors read into a model (LibTorch is not linked here).
#include "ml/CheckpointHeader.h"
#include "util/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    if (size < 8)
        return 0;
    try {
        const std::uint64_t headerBytes = checkpointHeaderLength(data, size);
        if (headerBytes < 2 || headerBytes > size - 8 || headerBytes > kMaxCheckpointHeaderBytes)
            __builtin_trap();
        const std::string text(reinterpret_cast<const char*>(data) + 8, static_cast<size_t>(headerBytes));
        const CheckpointHeader header = parseCheckpointHeader(text);
        const std::string field = checkpointChecksumField(header.checksum);
        if (header.checksum.size() != 16 || text.compare(header.checksumAt, field.size(), field) != 0)
            __builtin_trap();
        const std::uint64_t dataSize = size - 8 - headerBytes;
        // What the reader then relies on: every tensor within the data section, as long as its shape
        // says, and all of them tiling it exactly.
        std::uint64_t total = 0;
        for (const auto& [name, t] : checkpointTensors(header, dataSize)) {
            std::uint64_t count = 1;
            for (const std::int64_t dim : t.shape) {
                if (dim < 0)
                    __builtin_trap();
                count *= static_cast<std::uint64_t>(dim);
            }
            const std::uint64_t element = t.dtype == "F32" ? 4 : t.dtype == "I64" ? 8 : 0;
            if (element == 0 || t.begin > t.end || t.end > dataSize || t.end - t.begin != count * element)
                __builtin_trap();
            total += t.end - t.begin;
        }
        if (total != dataSize)
            __builtin_trap();
    } catch (const Error&) {
    }
    return 0;
}
