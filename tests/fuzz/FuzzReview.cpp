// Fuzz target: the review file reader (header, quoting, actions, labels, a line cut short).
#include "data/ReviewFile.h"
#include "util/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const ReviewFile review = ReviewFile::parse(text, "fuzz.csv");
        for (const ReviewDecision& d : review.latest()) {
            if (!ReviewFile::check(d).empty())
                __builtin_trap(); // every decision read is one append() would have written
            if (d.action == ReviewAction::Age && (d.newAge() < 0 || d.newAge() > 116))
                __builtin_trap();
            if (d.action == ReviewAction::Gender)
                d.newGender();
            if (review.latestFor(d.path) == nullptr)
                __builtin_trap();
        }
    } catch (const Error&) {
    }
    return 0;
}
