#pragma once

#include "data/Slices.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace faceatlas {

class PreparedDataset;

/** What to slice: an age run's predictions on a preparation, grouped one or two attributes at a time. */
struct SliceJobParams {
    std::filesystem::path run;
    /** Each grouping: one attribute name, or two for their intersections (see sliceAttributes()). */
    std::vector<std::vector<std::string>> groupings = {{"gender"}, {"race"}, {"age_decade"}};
    bool allFaces = false; // every labelled face; else the validation split's (the faces the run did not train on)
    /**
     * Attributes the caller knows and the table cannot (a clustering, a map selection, a saved subset,
     * a CSV column): a name and one value per row of the preparation ("" unknown, left out). A
     * grouping names them like the table's attributes; a name here hides a table row of that name.
     * Sizes are checked against the preparation (Error otherwise).
     */
    std::vector<std::pair<std::string, std::vector<std::string>>> extraAttributes;
    SliceSettings settings;
    std::string device = "auto";
};

struct SliceJobResult {
    SliceReport report;
    bool cancelled = false;
    /** The faces measured (rows of the preparation) and, per grouping, each one's slice ("" unknown). */
    std::vector<std::uint32_t> faces;
    std::vector<std::pair<std::string, std::vector<std::string>>> values;
    /** Said beside the figures: the run was trained on another preparation (its validation faces may
     *  include faces the run trained on), or empty. */
    std::string note;
};

/**
 * Predicts the run's ages for the labelled faces and reports the error by slice (computeSlices).
 * Throws Error (naming the file) for an unknown attribute, a run that is not an age model, a run of
 * another image size or a split without labelled faces. Cancelled between prediction batches.
 */
SliceJobResult runSliceJob(const PreparedDataset& data, const SliceJobParams& params, const CancelToken& cancel = {},
                           const std::function<void(const JobProgress&)>& onProgress = {});

/**
 * The faces a label audit flags (a suspect with a reason), one flag per row of `data`. The audit
 * must be of this preparation (its audit.json's data_fingerprint): another's, or one that does not
 * say, is refused with an Error naming the folder. Reads files: call it on a worker.
 */
std::vector<char> auditFlaggedRows(const std::filesystem::path& auditDir, const PreparedDataset& data);

/** Counts per slice of `result` the faces `flaggedRows` (auditFlaggedRows) marks: SliceRow::auditFlagged. */
void countSliceAuditFlags(SliceJobResult& result, const std::vector<char>& flaggedRows);

/** The faces of `slice` of grouping `by` in a result, as rows of the preparation. */
std::vector<std::uint32_t> sliceMembers(const SliceJobResult& result, const std::string& by, const std::string& slice);

} // namespace faceatlas
