// Fuzz target: the CSV reader (header, quoting, ages, genders) and the JSON of what it read.
#include "data/Readers.h"
#include "util/Error.h"
#include "util/Json.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const LoadedDataset dataset = parseCsv(text, "/data", "fuzz.csv");
        nlohmann::json rows = nlohmann::json::array();
        for (const Record& r : dataset.records) {
            if (r.age && (*r.age < 0 || *r.age > kMaxAge))
                __builtin_trap(); // ages outside 0-116 are malformed rows, never records
            rows.push_back({{"path", r.path}, {"gender", genderName(r.gender)}});
        }
        jsonText({{"rows", rows}, {"malformed", dataset.malformedExamples}}); // never throws on bad UTF-8
    } catch (const Error&) {
    }
    return 0;
}
