#include "data/MetadataChecks.h"
#include "data/SourceKinds.h"

#include <cmath>

namespace faceatlas {

MetadataContext metadataContext(const std::vector<Record>& records, SourceKind kind)
{
    MetadataContext c;
    c.kind = kind;
    for (const Record& r : records) {
        c.anyGender = c.anyGender || r.gender != Gender::Unknown;
        c.anyAge = c.anyAge || r.age.has_value();
    }
    return c;
}

std::vector<std::string> metadataReasons(const Record& r, const MetadataContext& c)
{
    std::vector<std::string> reasons;
    if (c.kind == SourceKind::ImdbWiki) {
        if (r.dob == 0) {
            reasons.emplace_back("dob_missing");
        } else {
            int year = 0, month = 0, day = 0;
            matlabDateFromDatenum(r.dob, year, month, day);
            if (year < 1880 || year > 2030)
                reasons.emplace_back("dob_impossible");
            else if (r.photoTaken != 0 && r.photoTaken < year)
                reasons.emplace_back("photo_before_birth");
        }
        if (r.age && *r.age < 0)
            reasons.emplace_back("age_below_0");
        else if (r.age && *r.age > 100)
            reasons.emplace_back("age_above_100");
    } else if (r.age && (*r.age < 0 || *r.age > 116)) {
        reasons.emplace_back("age_outside_0_116");
    }
    if (c.anyAge && !r.age && c.kind != SourceKind::ImdbWiki) // IMDB-WIKI: dob_missing says why
        reasons.emplace_back("age_missing");
    if (c.anyGender && r.gender == Gender::Unknown)
        reasons.emplace_back("gender_unknown");
    if (std::isinf(r.faceScore) && r.faceScore < 0)
        reasons.emplace_back("no_face");
    if (!std::isnan(r.secondFaceScore))
        reasons.emplace_back("second_face");
    return reasons;
}

SourceKind parseSourceKind(const std::string& name)
{
    const SourceKindInfo* kind = findSourceKind(name);
    return kind ? kind->kind : SourceKind::Folder;
}

} // namespace faceatlas
