// Fuzz target: the MAT v5 parser, then the IMDB-WIKI reader on what it parsed.
#include "data/MatFile.h"
#include "data/Readers.h"
#include "util/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::vector<MatArray> variables;
    try {
        variables = parseMat5(bytes, "fuzz.mat");
    } catch (const Error&) {
        return 0; // a clear Error is the expected answer to a bad file
    }
    try {
        const LoadedDataset dataset = imdbWikiFromMat(variables, "/data", "fuzz.mat");
        for (const Record& r : dataset.records)
            if (r.age && (*r.age < -100000 || *r.age > 100000))
                __builtin_trap(); // dates are range-checked before they become ages
    } catch (const Error&) {
    }
    return 0;
}
