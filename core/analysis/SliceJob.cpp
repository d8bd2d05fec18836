#include "analysis/SliceJob.h"

#include "analysis/AuditFiles.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "data/WorkspaceIndex.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace faceatlas {

namespace {

/** One grouping's name ("gender,race") and each measured face's slice ("" when an attribute is unknown). */
std::pair<std::string, std::vector<std::string>> groupingValues(const PreparedDataset& data,
                                                                const std::vector<std::string>& names,
                                                                const std::vector<std::uint32_t>& faces,
                                                                const SliceJobParams& p)
{
    if (names.empty() || names.size() > 2)
        throw Error("slices: a grouping is one attribute or two");
    // Each part is the caller's attribute of that name (values by row) or else the table's.
    struct Part {
        const SliceAttribute* table = nullptr;
        const std::vector<std::string>* byRow = nullptr;
    };
    // Two given attributes of one name (a CSV column "cluster" beside --clusters, say) would leave
    // which one a slice means to the order they came in: refused instead.
    for (std::size_t i = 0; i < p.extraAttributes.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (p.extraAttributes[i].first == p.extraAttributes[j].first)
                throw Error("slices: two attributes are named '" + p.extraAttributes[i].first
                            + "' (a CSV column and a clustering or face set?): rename one");
    std::vector<Part> parts;
    std::string by;
    for (const std::string& name : names) {
        Part part;
        for (const auto& [extraName, values] : p.extraAttributes)
            if (extraName == name) {
                if (values.size() != data.count())
                    throw Error("slices: the attribute '" + name + "' has " + std::to_string(values.size())
                                + " values for a preparation of " + std::to_string(data.count()) + " faces");
                part.byRow = &values;
                break;
            }
        if (!part.byRow)
            part.table = &sliceAttribute(name);
        parts.push_back(part);
        by += (by.empty() ? "" : ",") + name;
    }
    std::vector<std::uint32_t> val = data.valIndices();
    std::sort(val.begin(), val.end());
    std::vector<std::string> of(faces.size());
    for (std::size_t k = 0; k < faces.size(); ++k) {
        const Record& record = data.records()[faces[k]];
        const bool inVal = std::binary_search(val.begin(), val.end(), faces[k]);
        std::string joined;
        for (const Part& a : parts) {
            const std::string v = a.byRow ? (*a.byRow)[faces[k]] : a.table->value(record, inVal);
            if (v.empty()) {
                joined.clear();
                break;
            }
            joined += (joined.empty() ? "" : ",") + v;
        }
        of[k] = std::move(joined);
    }
    return {by, std::move(of)};
}

/** The preparation a run was trained on (run.json's data_fingerprint); empty when it does not say. */
std::string runDataFingerprint(const std::filesystem::path& runDir)
{
    const auto run = nlohmann::json::parse(readFile(runDir / "run.json", kMaxManifestBytes));
    const auto it = run.find("data_fingerprint");
    return it != run.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

SliceJobResult runSliceJob(const PreparedDataset& data, const SliceJobParams& p, const CancelToken& cancel,
                           const std::function<void(const JobProgress&)>& onProgress)
{
    SliceJobResult result;
    LabelledFaces labelled = labelledFaces(data, p.allFaces ? Split::All : Split::Val);
    result.faces = std::move(labelled.indices);
    const std::vector<int>& truth = labelled.ages;
    for (const auto& names : p.groupings) // unknown attributes are refused before the model loads
        result.values.push_back(groupingValues(data, names, result.faces, p));
    LoadedModel loaded = loadRunModel(p.run);
    if (!loaded.model->isAgeModel())
        throw Error(displayPath(p.run) + ": an autoencoder run makes no age predictions: give an age model's run");
    SliceSettings settings = p.settings;
    settings.baselineAge = runBaselineAge(p.run, data);
    const std::string trainedOn = runDataFingerprint(p.run);
    if (!madeFromDataset(trainedOn, data))
        result.note = displayPath(p.run) + " was trained on another preparation than " + displayPath(data.dir())
                      + (p.allFaces ? std::string()
                                    : ": this preparation's validation faces may include faces the run trained on");
    const auto predicted = predictAges(*loaded.model, data, result.faces, resolveDevice(p.device), cancel, onProgress);
    if (cancel.isCancelled()) {
        result.cancelled = true;
        return result;
    }
    if (onProgress)
        onProgress({"bootstrapping", 0, 1});
    for (const float age : predicted)
        if (!std::isfinite(age))
            throw Error(displayPath(p.run)
                        + ": the model predicts ages that are not finite numbers (did its "
                          "training diverge?)");
    result.report = computeSlices(predicted, truth, result.values, settings);
    return result;
}

std::vector<char> auditFlaggedRows(const std::filesystem::path& auditDir, const PreparedDataset& data)
{
    const Artifact audit = readArtifact(OutputKind::Audit, auditDir);
    if (!audit.usable())
        throw Error(audit.damaged);
    if (audit.dataFingerprint.empty())
        throw Error(displayPath(auditDir / "audit.json") + ": does not say which preparation it audited: audit "
                    + displayPath(data.dir()) + " again");
    if (!madeFromDataset(audit.dataFingerprint, data))
        throw Error(displayPath(auditDir) + " is an audit of another preparation (fingerprint " + audit.dataFingerprint
                    + ", " + displayPath(data.dir()) + " is " + datasetFingerprint(data)
                    + "): give an audit of this one");
    const AuditResult result = readAudit(auditDir, &data.records());
    std::vector<char> flagged(data.count(), 0);
    for (const Suspect& s : result.suspects)
        if (!s.reasons.empty() && s.index < flagged.size())
            flagged[s.index] = 1;
    return flagged;
}

void countSliceAuditFlags(SliceJobResult& result, const std::vector<char>& flaggedRows)
{
    std::vector<char> byFace(result.faces.size(), 0);
    for (std::size_t k = 0; k < result.faces.size(); ++k) {
        if (result.faces[k] >= flaggedRows.size())
            throw Error("slices: " + std::to_string(flaggedRows.size()) + " audit flags for a preparation with face "
                        + std::to_string(result.faces[k]));
        byFace[k] = flaggedRows[result.faces[k]];
    }
    countAuditFlags(result.report, result.values, byFace);
}

std::vector<std::uint32_t> sliceMembers(const SliceJobResult& result, const std::string& by, const std::string& slice)
{
    std::vector<std::uint32_t> rows;
    if (by == "all") {
        rows = result.faces;
        return rows;
    }
    for (const auto& [name, values] : result.values)
        if (name == by)
            for (std::size_t k = 0; k < values.size(); ++k)
                if (values[k] == slice)
                    rows.push_back(result.faces[k]);
    return rows;
}

} // namespace faceatlas
