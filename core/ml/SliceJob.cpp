#include "SliceJob.h"

#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "Inference.h"
#include "Runs.h"
#include "TrainJob.h"
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
                                                                const std::vector<std::uint32_t>& faces)
{
    if (names.empty() || names.size() > 2)
        throw Error("slices: a grouping is one attribute or two");
    std::vector<const SliceAttribute*> parts;
    std::string by;
    for (const std::string& name : names) {
        parts.push_back(&sliceAttribute(name));
        by += (by.empty() ? "" : ",") + name;
    }
    std::vector<std::uint32_t> val = data.valIndices();
    std::sort(val.begin(), val.end());
    std::vector<std::string> of(faces.size());
    for (std::size_t k = 0; k < faces.size(); ++k) {
        const Record& record = data.records()[faces[k]];
        const bool inVal = std::binary_search(val.begin(), val.end(), faces[k]);
        std::string joined;
        for (const SliceAttribute* a : parts) {
            const std::string v = a->value(record, inVal);
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
        result.values.push_back(groupingValues(data, names, result.faces));
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
