// Fuzz target: RecordCache::deserialize (records.bin of prepared datasets and codes folders).
#include "data/RecordCache.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const auto records = RecordCache::deserialize(bytes);
    if (!records)
        return 0;
    // Whatever was read serializes and reads back as the same number of records.
    const auto again = RecordCache::deserialize(RecordCache::serialize(*records));
    if (!again || again->size() != records->size())
        __builtin_trap();
    return 0;
}
