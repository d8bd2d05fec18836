#pragma once

#include "data/Record.h"

#include <string>
#include <vector>

namespace faceatlas {

/** What the metadata checks need to know about the whole dataset. */
struct MetadataContext {
    SourceKind kind = SourceKind::Folder;
    bool anyGender = false; // some record has a gender: an unknown one is then a gap, not the source's nature
    bool anyAge = false;
};

/** The context of a set of records read from a source of `kind`. */
MetadataContext metadataContext(const std::vector<Record>& records, SourceKind kind);

/**
 * The audit's metadata reasons for one record, as short tokens: `photo_before_birth`,
 * `age_below_0`, `age_above_100` (IMDB-WIKI), `age_outside_0_116` (other sources), `dob_missing`,
 * `dob_impossible` (born before 1880 or after 2030), `gender_unknown`, `age_missing`, `no_face`
 * (a -Inf face score), `second_face`.
 */
std::vector<std::string> metadataReasons(const Record& record, const MetadataContext& context);

/** The source kind named in a prepared manifest's "source_kind" (Folder when absent or unknown). */
SourceKind parseSourceKind(const std::string& name);

} // namespace faceatlas
