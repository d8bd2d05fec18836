#include "data/Cleaning.h"

#include "util/Error.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <cmath>

namespace faceatlas {

namespace {

template <typename Keep>
void runStep(const char* name, bool enabled, std::vector<size_t>& kept, std::vector<StepReport>& steps, Keep keep)
{
    StepReport step;
    step.name = name;
    step.enabled = enabled;
    if (enabled) {
        std::vector<size_t> next;
        next.reserve(kept.size());
        for (size_t i : kept) {
            const int verdict = keep(i); // 1 keep, 0 remove, -1 not applicable (kept)
            if (verdict != 0)
                next.push_back(i);
            if (verdict < 0)
                ++step.notApplicable;
        }
        step.removed = kept.size() - next.size();
        kept.swap(next);
    }
    step.remaining = kept.size();
    steps.push_back(step);
}

} // namespace

void seededShuffle(std::vector<size_t>& values, std::uint64_t seed)
{
    SplitMix rng(seed);
    for (size_t i = values.size(); i > 1; --i)
        std::swap(values[i - 1], values[rng.below(i)]);
}

std::vector<size_t> applyFilters(const std::vector<Record>& records, const std::vector<ImageProbe>& probes,
                                 const CleaningOptions& o, std::vector<StepReport>& steps,
                                 std::vector<SkippedFile>& skipped)
{
    if (probes.size() != records.size())
        throw Error("internal: one image probe per record is required");
    if (o.ageMin > o.ageMax)
        throw Error("age range: the minimum " + std::to_string(o.ageMin) + " is above the maximum "
                    + std::to_string(o.ageMax));
    std::vector<size_t> kept(records.size());
    for (size_t i = 0; i < kept.size(); ++i)
        kept[i] = i;

    runStep("missing or unreadable image", o.dropUnreadable, kept, steps, [&](size_t i) {
        if (probes[i].ok)
            return 1;
        skipped.push_back({records[i].path, probes[i].problem});
        return 0;
    });
    runStep("more than one face", o.dropMultipleFaces, kept, steps,
            [&](size_t i) { return std::isnan(records[i].secondFaceScore) ? 1 : 0; });
    runStep("face score below threshold", o.filterFaceScore, kept, steps, [&](size_t i) {
        const double s = records[i].faceScore;
        if (std::isnan(s))
            return -1;
        return std::isinf(s) && s < 0 ? 0 : (s >= o.minFaceScore ? 1 : 0);
    });
    runStep("age outside range", o.filterAge, kept, steps, [&](size_t i) {
        const auto& age = records[i].age;
        if (!age)
            return -1;
        return *age >= o.ageMin && *age <= o.ageMax ? 1 : 0;
    });
    runStep("image smaller than minimum", o.minImageSize > 0, kept, steps, [&](size_t i) {
        if (!probes[i].ok)
            return -1; // only reachable when step 1 is off: the decoder will report it
        return probes[i].width >= o.minImageSize && probes[i].height >= o.minImageSize ? 1 : 0;
    });
    // Read from what FaceAtlas's detector found (aligned preparations) or the source's own face box:
    // a record without them passes, counted as lacking the field.
    runStep("face turned too far", o.maxYaw > 0, kept, steps, [&](size_t i) {
        const float yaw = records[i].yaw;
        if (std::isnan(yaw))
            return -1;
        return std::abs(yaw) <= o.maxYaw ? 1 : 0;
    });
    runStep("face smaller than minimum", o.minFaceSize > 0, kept, steps, [&](size_t i) {
        const auto& box = records[i].faceBox;
        const double width = box[2] - box[0];
        if (std::isnan(width))
            return -1;
        return width >= o.minFaceSize ? 1 : 0;
    });
    return kept;
}

void excludeReviewed(const std::vector<size_t>& excluded, std::vector<size_t>& kept, std::vector<StepReport>& steps)
{
    runStep("excluded in review", true, kept, steps,
            [&](size_t i) { return std::binary_search(excluded.begin(), excluded.end(), i) ? 0 : 1; });
}

void splitTrainVal(const std::vector<size_t>& kept, const CleaningOptions& o, std::vector<size_t>& train,
                   std::vector<size_t>& val)
{
    size_t valSize;
    if (o.valCount >= 0) {
        if (static_cast<size_t>(o.valCount) > kept.size())
            throw Error("validation count " + std::to_string(o.valCount) + " is larger than the "
                        + std::to_string(kept.size()) + " records left after cleaning");
        valSize = static_cast<size_t>(o.valCount);
    } else {
        if (!(o.valFraction >= 0.0 && o.valFraction < 1.0))
            throw Error("validation fraction must be in [0, 1), got " + std::to_string(o.valFraction));
        valSize = static_cast<size_t>(std::llround(o.valFraction * static_cast<double>(kept.size())));
    }
    std::vector<size_t> order = kept;
    seededShuffle(order, o.seed);
    val.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(valSize));
    train.assign(order.begin() + static_cast<std::ptrdiff_t>(valSize), order.end());
    std::sort(val.begin(), val.end());
    std::sort(train.begin(), train.end());
}

std::map<int, size_t> ageHistogram(const std::vector<Record>& records, const std::vector<size_t>& indices)
{
    std::map<int, size_t> histogram;
    for (size_t i : indices)
        if (records[i].age)
            ++histogram[*records[i].age];
    return histogram;
}

std::vector<size_t> balanceByAge(const std::vector<Record>& records, const std::vector<size_t>& train,
                                 long long targetSize, std::uint64_t seed)
{
    std::map<int, std::vector<size_t>> byAge;
    std::vector<size_t> result;
    for (size_t i : train) {
        if (records[i].age)
            byAge[*records[i].age].push_back(i);
        else
            result.push_back(i);
    }
    size_t labelled = train.size() - result.size();
    if (byAge.empty())
        return train;
    const size_t target = targetSize > 0 ? static_cast<size_t>(targetSize) : labelled;
    SplitMix rng(seed ^ 0xA5A5A5A5DEADBEEFULL);
    // Equal quota per age; the remainder goes to randomly chosen ages.
    std::vector<size_t> quota(byAge.size(), target / byAge.size());
    std::vector<size_t> ageOrder(byAge.size());
    for (size_t a = 0; a < ageOrder.size(); ++a)
        ageOrder[a] = a;
    seededShuffle(ageOrder, rng.next());
    for (size_t r = 0; r < target % byAge.size(); ++r)
        ++quota[ageOrder[r]];
    size_t a = 0;
    for (auto& [age, members] : byAge) {
        const size_t want = quota[a++];
        seededShuffle(members, rng.next());
        const size_t take = std::min(want, members.size());
        result.insert(result.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(take));
        for (size_t extra = take; extra < want; ++extra) // rare ages: draw again with replacement
            result.push_back(members[rng.below(members.size())]);
    }
    seededShuffle(result, rng.next());
    return result;
}

} // namespace faceatlas
