// Fuzz target: the review file reader (header, byte order mark, quoting, actions, labels, long lines,
// a line cut short), read whole, streamed in pieces, and filtered to some paths.
#include "data/ReviewFile.h"
#include "util/Error.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

bool sameDecision(const faceatlas::ReviewDecision& a, const faceatlas::ReviewDecision& b)
{
    return a.path == b.path && a.action == b.action && a.oldLabel == b.oldLabel && a.newLabel == b.newLabel
           && a.reason == b.reason && a.time == b.time;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::optional<ReviewFile> whole;
    std::string error;
    try {
        whole = ReviewFile::parse(text, "fuzz.csv");
    } catch (const Error& e) {
        error = e.what();
    }
    if (whole) {
        for (const ReviewDecision& d : whole->latest()) {
            if (!ReviewFile::check(d).empty())
                __builtin_trap(); // every decision read is one append() would have written
            if (d.action == ReviewAction::Age && (d.newAge() < 0 || d.newAge() > 116))
                __builtin_trap();
            if (d.action == ReviewAction::Gender)
                d.newGender();
            if (whole->latestFor(d.path) == nullptr || !sameDecision(*whole->latestFor(d.path), d))
                __builtin_trap();
        }
        if (whole->latest().size() > whole->rows() || whole->otherRows() != 0)
            __builtin_trap();
    }
    // Streamed in pieces (one byte at a time, but for long inputs, and pieces that fall anywhere), the
    // text reads the same.
    for (const size_t piece : {size < 4096 ? size_t(1) : size_t(4093), 1 + (size * 7919) % 97}) {
        size_t at = 0;
        try {
            const ReviewFile pieces = ReviewFile::read(
                [&](char* buffer, size_t room) {
                    const size_t n = std::min({room, piece, text.size() - at});
                    std::memcpy(buffer, text.data() + at, n);
                    at += n;
                    return n;
                },
                "fuzz.csv");
            if (!whole || pieces.rows() != whole->rows() || pieces.problems() != whole->problems()
                || pieces.truncatedTail() != whole->truncatedTail() || pieces.latest().size() != whole->latest().size())
                __builtin_trap();
            for (size_t i = 0; i < pieces.latest().size(); ++i)
                if (!sameDecision(pieces.latest()[i], whole->latest()[i]))
                    __builtin_trap();
        } catch (const Error& e) {
            if (whole || e.what() != error)
                __builtin_trap();
        }
    }
    if (!whole)
        return 0;
    // Filtered to some paths, it keeps exactly their latest decisions and counts the other rows.
    const auto wanted = [](const std::string& path) { return path.size() % 2 == 0; };
    const ReviewFile some = ReviewFile::parse(text, "fuzz.csv", wanted);
    std::vector<ReviewDecision> expected;
    for (const ReviewDecision& d : whole->latest())
        if (wanted(d.path))
            expected.push_back(d);
    if (some.rows() != whole->rows() || some.latest().size() != expected.size() || some.problems() != whole->problems())
        __builtin_trap();
    for (size_t i = 0; i < expected.size(); ++i)
        if (!sameDecision(some.latest()[i], expected[i]))
            __builtin_trap();
    return 0;
}
