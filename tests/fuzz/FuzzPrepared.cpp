// Fuzz target: the files of a prepared dataset as PreparedDataset::open checks them. The input is
// prepared.json, records.bin, split.bin and images.u8 joined by "@@SEP@@" (the last may be absent).
#include "data/PreparedDataset.h"
#include "data/RecordCache.h"
#include "util/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> parts;
    size_t at = 0;
    for (size_t next; parts.size() < 3 && (next = input.find("@@SEP@@", at)) != std::string::npos; at = next + 7)
        parts.push_back(input.substr(at, next - at));
    parts.push_back(input.substr(std::min(at, input.size())));
    parts.resize(4);
    try {
        const auto manifest = PreparedDataset::parseManifest(parts[0], "prepared.json");
        if (manifest.size < PreparedDataset::kMinSize || manifest.size > PreparedDataset::kMaxSize)
            __builtin_trap();
        const auto records = RecordCache::deserialize(parts[1]);
        if (!records)
            return 0;
        PreparedDataset::checkImagesSize(parts[3].size(), records->size(), manifest.size, "images.u8");
        std::vector<std::uint32_t> train, val;
        PreparedDataset::parseSplit(parts[2], records->size(), train, val, "split.bin");
        for (const auto* list : {&train, &val})
            for (std::uint32_t i : *list)
                if (i >= records->size())
                    __builtin_trap();
    } catch (const Error&) {
    }
    return 0;
}
