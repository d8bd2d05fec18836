// `inspect` and `prepare`: the dataset layer from the command line.
#include "cli/CliSupport.h"
#include "cli/Commands.h"

#include "data/DatasetHistory.h"
#include "data/PrepareJob.h"
#include "data/Readers.h"
#include "data/SourceKinds.h"

#include "util/Error.h"
#include "util/Json.h"
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace faceatlas::cli {

namespace {

/** Scores as JSON: a number, or for non-finite values the text the IMDB-WIKI CSV uses ("-inf", "nan"). */
nlohmann::json score(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v < 0 ? "-inf" : "inf";
    return v;
}

nlohmann::json recordJson(const Record& r, SourceKind kind)
{
    nlohmann::json j;
    j["path"] = r.path;
    j["age"] = r.age ? nlohmann::json(*r.age) : nlohmann::json();
    j["gender"] = r.gender == Gender::Unknown ? nlohmann::json() : nlohmann::json(genderName(r.gender));
    if (sourceKindInfo(kind).metadataFaceScores) {
        j["face_score"] = score(r.faceScore);
        j["second_face_score"] = score(r.secondFaceScore);
    }
    if (kind == SourceKind::ImdbWiki) {
        j["dob"] = r.dob ? nlohmann::json(isoDateFromDatenum(r.dob)) : nlohmann::json();
        j["dob_datenum"] = r.dob ? nlohmann::json(r.dob) : nlohmann::json();
        j["photo_taken"] = r.photoTaken ? nlohmann::json(r.photoTaken) : nlohmann::json();
        j["face_location"] = {r.faceBox[0], r.faceBox[1], r.faceBox[2], r.faceBox[3]};
        j["name"] = r.name;
    }
    return j;
}

/** The quality steps asked for (--min-sharpness X, ...): each off unless given, a finite threshold. */
QualityThresholds qualityThresholds(const Args& args)
{
    QualityThresholds quality;
    for (size_t s = 0; s < kQualityStepCount; ++s)
        if (args.has(qualitySteps()[s].option)) {
            const double threshold = args.doubleValue(qualitySteps()[s].option);
            if (!std::isfinite(threshold))
                throw UsageError(std::string("--") + qualitySteps()[s].option + " takes a finite number");
            quality.threshold[s] = threshold;
        }
    return quality;
}

void printPrepareReport(const PrepareReport& r)
{
    std::printf("source: %s\nrecords read: %zu", r.source.c_str(), r.recordsRead);
    if (r.malformed)
        std::printf(" (%zu malformed entries skipped)", r.malformed);
    if (r.framing.everyFace)
        std::printf("\nevery face of each picture: %zu records added for the second and later faces found, "
                    "%zu in all",
                    r.framing.moreFaces, r.recordsRead + r.framing.moreFaces);
    for (const auto& note : r.columnNotes)
        std::printf("\nfurther columns: %s", note.c_str());
    std::printf("\n\n%-30s %10s %10s\n", "step", "removed", "remaining");
    for (const auto& s : r.steps) {
        std::string note;
        if (!s.enabled)
            note = "  (off)";
        else if (s.notApplicable)
            note = "  (" + std::to_string(s.notApplicable) + " records lack the field and passed)";
        std::printf("%-30s %10zu %10zu%s\n", s.name.c_str(), s.removed, s.remaining, note.c_str());
    }
    if (!r.reviewFile.empty())
        std::printf("\nreview %s: %zu decisions: %zu excluded, %zu ages and %zu genders corrected, %zu kept, "
                    "%zu for faces not in the source, %zu rows skipped\n",
                    r.reviewFile.c_str(), r.review.decisions, r.review.excluded, r.review.ageCorrected,
                    r.review.genderCorrected, r.review.kept, r.review.unmatched, r.reviewProblems.size());
    std::printf("\ntraining: %zu (%zu distinct images), validation: %zu\n", r.train, r.trainUnique, r.val);
    if (!r.ageHistogramBefore.empty()) {
        std::printf("training ages by decade, before -> after resampling:\n");
        std::map<int, std::pair<size_t, size_t>> decades;
        for (const auto& [age, n] : r.ageHistogramBefore)
            decades[age < 0 ? -1 : age / 10].first += n;
        for (const auto& [age, n] : r.ageHistogramAfter)
            decades[age < 0 ? -1 : age / 10].second += n;
        for (const auto& [decade, counts] : decades)
            std::printf("  %3d-%-3d %8zu -> %zu\n", decade * 10, decade * 10 + 9, counts.first, counts.second);
    }
    if (!r.skippedFiles.empty()) {
        std::printf("skipped files: %zu\n", r.skippedFiles.size());
        for (size_t i = 0; i < r.skippedFiles.size() && i < 10; ++i)
            std::printf("  %s: %s\n", r.skippedFiles[i].path.c_str(), r.skippedFiles[i].problem.c_str());
        if (r.skippedFiles.size() > 10)
            std::printf("  ... (all of them are listed in prepared.json)\n");
    }
    const FramingReport& f = r.framing;
    if (f.framing == Framing::Aligned)
        std::printf("framing: aligned; of the %zu faces stored, %zu aligned, %zu without a face found "
                    "(centre-cropped), %zu from pictures with more than one face (%s); looked for faces in %zu "
                    "images (%zu from the cache) in %.1f s\n",
                    r.imagesStored, f.found, f.notFound, f.several,
                    f.everyFace ? "every face taken" : "the best aligned", f.detected + f.reused, f.reused, f.seconds);
    else
        std::printf("framing: %s\n", framingName(f.framing));
    if (r.imagesReused)
        std::printf("images: %zu reused from the existing cache\n", r.imagesStored);
    else if (r.decodeSeconds > 0)
        std::printf("images: %zu decoded in %.2f s (%.0f images/s)\n", r.imagesStored, r.decodeSeconds,
                    r.imagesStored / r.decodeSeconds);
    if (r.qualitySeconds > 0)
        std::printf("quality columns: measured on the stored faces in %.2f s\n", r.qualitySeconds);
}

} // namespace

int runInspect(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("inspect"));
    const std::string spec = args.required("source");
    const int head = args.intValue("head");
    const bool json = args.has("json");
    args.rejectUnknown();
    if (head < 0)
        throw UsageError("--head must not be negative");

    const LoadedDataset dataset = openSource(spec);
    const size_t shown = std::min<size_t>(static_cast<size_t>(head), dataset.records.size());
    if (json) {
        printLine(jsonText(nlohmann::json{{"source", spec},
                                          {"kind", sourceKindName(dataset.kind)},
                                          {"location", dataset.location},
                                          {"count", dataset.records.size()},
                                          {"malformed", dataset.malformed},
                                          {"malformed_examples", dataset.malformedExamples}}));
        for (size_t i = 0; i < shown; ++i)
            printLine(jsonText(recordJson(dataset.records[i], dataset.kind)));
        return 0;
    }
    std::printf("source: %s (%s)\nlocation: %s\nrecords: %zu\n", spec.c_str(), sourceKindName(dataset.kind),
                dataset.location.c_str(), dataset.records.size());
    if (dataset.malformed) {
        std::printf("malformed entries skipped: %zu\n", dataset.malformed);
        for (const auto& example : dataset.malformedExamples)
            std::printf("  %s\n", example.c_str());
    }
    if (shown)
        std::printf("\n%-5s %-6s %-6s %-10s %-10s %s\n", "#", "age", "gender", "face", "2nd face", "path");
    for (size_t i = 0; i < shown; ++i) {
        const Record& r = dataset.records[i];
        std::printf("%-5zu %-6s %-6s %-10s %-10s %s\n", i, r.age ? std::to_string(*r.age).c_str() : "-",
                    r.gender == Gender::Unknown ? "-" : genderName(r.gender), formatDouble(r.faceScore, 3).c_str(),
                    formatDouble(r.secondFaceScore, 3).c_str(), r.path.c_str());
    }
    return 0;
}

int runPrepare(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("prepare"));
    PrepareParams params;
    params.source = args.required("source");
    params.outDir = std::filesystem::u8path(args.required("out"));
    params.force = args.has("force");
    params.size = args.intValue("size");
    if (args.has("threads"))
        params.threads = args.intValue("threads");
    if (const auto framing = args.value("framing")) {
        try {
            params.framing = parseFraming(*framing);
        } catch (const Error& e) {
            throw UsageError(std::string("--framing: ") + e.what());
        }
    }
    const std::string faces = *args.value("faces");
    if (faces != "best" && faces != "every")
        throw UsageError("--faces must be 'best' or 'every', not '" + faces + "'");
    params.everyFace = faces == "every";
    CleaningOptions& c = params.cleaning;
    c.minFaceScore = args.doubleValue("min-face-score");
    c.minDetectorScore = args.doubleValue("min-detector-score");
    c.filterFaceScore = !args.has("no-face-score-filter");
    c.dropMultipleFaces = !args.has("keep-multiple-faces");
    c.ageMin = args.intValue("age-min");
    c.ageMax = args.intValue("age-max");
    c.filterAge = !args.has("no-age-filter");
    c.minImageSize = args.intValue("min-image-size");
    c.maxYaw = args.doubleValue("max-yaw");
    c.minFaceSize = args.intValue("min-face-size");
    if (!(c.maxYaw >= 0) || c.minFaceSize < 0)
        throw UsageError("--max-yaw and --min-face-size take 0 (off) or a positive number");
    if (args.has("val-fraction") && args.has("val-count"))
        throw UsageError("give --val-fraction or --val-count, not both");
    c.valFraction = args.doubleValue("val-fraction");
    c.valCount = args.has("val-count") ? args.longValue("val-count") : -1;
    const std::string balance = *args.value("balance");
    if (balance != "age" && balance != "none")
        throw UsageError("--balance must be 'age' or 'none', not '" + balance + "'");
    c.balanceAges = balance == "age";
    c.balanceSize = args.has("balance-size") ? args.longValue("balance-size") : 0;
    c.seed = static_cast<std::uint64_t>(args.longValue("seed"));
    params.review = std::filesystem::u8path(args.value("review").value_or(""));
    params.quality = qualityThresholds(args);
    const bool json = args.has("json");
    const bool keepEarlier = args.has("keep-earlier");
    args.rejectUnknown();

    const CancelToken cancel = installInterruptHandler();
    ProgressBar bar;
    // The earlier preparation is linked aside first and dropped again unless this one replaced it.
    const std::filesystem::path kept = keepEarlier ? keepPreparationVersion(params.outDir) : std::filesystem::path();
    PrepareJob job(params);
    PrepareResult result;
    try {
        result = job.run(cancel, [&](const JobProgress& p) { bar.update(p); });
    } catch (...) {
        settleKeptVersion(kept, params.outDir);
        throw;
    }
    settleKeptVersion(kept, params.outDir);
    bar.finish();
    if (!kept.empty() && std::filesystem::exists(kept) && !json)
        std::printf("the earlier preparation is kept as %s\n", kept.c_str());
    if (result.cancelled) {
        std::fprintf(stderr, "prepare: cancelled; %s was left unfinished\n", params.outDir.c_str());
        return 130;
    }
    if (json)
        printLine(reportToJson(result.report));
    else
        printPrepareReport(result.report);
    return 0;
}

} // namespace faceatlas::cli
