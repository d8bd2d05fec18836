#pragma once

#include "data/Cleaning.h"
#include "data/FaceAlign.h"
#include "data/FaceQuality.h"
#include "data/Record.h"
#include "data/ReviewFile.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/** Everything `prepare` needs: where the data comes from, where it goes, and the settings. */
struct PrepareParams {
    std::string source; // a SPEC, see openSource()
    std::filesystem::path outDir;
    int size = 64; // S: images are stored S x S
    CleaningOptions cleaning;
    /** The quality steps (off by default): they run on the stored faces, after the image cache is built. */
    QualityThresholds quality;
    int threads = 0; // 0 = all cores
    /** A review file (see ReviewFile) to apply: its corrections replace labels, its exclusions are a step. */
    std::filesystem::path review;
    /** How faces are framed; unset: aligned, except the demo's drawn faces (centre-cropped: they are drawn framed). */
    std::optional<Framing> framing;
    /**
     * Aligned framing only: every face found in a picture becomes a record of its own (a group photo
     * gives one per face, Record::faceIndex says which), instead of the picture's best face. The
     * "more than one face" step then has nothing to remove.
     */
    bool everyFace = false;
    /** Replace a FaceAtlas folder of another kind at outDir (never a folder that is not FaceAtlas's). */
    bool force = false;
};

/** What framing the faces did (aligned preparations). */
struct FramingReport {
    Framing framing = Framing::Aligned;
    size_t looked = 0;      // images the detector's findings were needed for
    size_t found = 0;       // a face was found (and aligned)
    size_t notFound = 0;    // no face: centre-cropped, face score -inf
    size_t several = 0;     // more than one face (the best one aligned, or every one with everyFace)
    bool everyFace = false; // PrepareParams::everyFace
    size_t moreFaces = 0;   // everyFace: records added for the second and later faces of pictures
    size_t detected = 0;    // detector runs now (the rest came from the cache)
    size_t reused = 0;
    double seconds = 0;
};

/** The cleaning report: what each step removed, the split, the age histograms, skipped files. */
struct PrepareReport {
    std::string source;
    size_t recordsRead = 0;
    size_t malformed = 0; // source entries that were not records (bad file names, CSV rows)
    std::vector<std::string> malformedExamples;
    std::vector<std::string> columnNotes; // a CSV's further columns not kept as the file has them (SourceColumnTable)
    std::vector<StepReport> steps;
    std::string reviewFile; // empty when no review was applied
    ReviewCounts review;
    std::vector<std::string> reviewProblems; // rows of the review file that were skipped
    size_t train = 0;                        // after resampling
    size_t trainUnique = 0;
    size_t val = 0;
    std::map<int, size_t> ageHistogramBefore;
    std::map<int, size_t> ageHistogramAfter;
    std::vector<SkippedFile> skippedFiles;
    size_t imagesStored = 0;
    bool imagesReused = false; // the image cache in DIR matched and was not rebuilt
    double decodeSeconds = 0;
    double qualitySeconds = 0; // measuring the quality columns (0: reused with the image cache)
    double totalSeconds = 0;
    FramingReport framing;
};

struct PrepareResult {
    PrepareReport report;
    bool cancelled = false;
};

/** Reads a source, cleans, splits and resamples it, and writes the prepared dataset folder. */
class PrepareJob {
public:
    using ProgressFn = std::function<void(const JobProgress&)>;
    explicit PrepareJob(PrepareParams params);
    /** Blocking: run on a worker thread. Throws Error on bad input; a cancel returns cancelled. */
    PrepareResult run(const CancelToken& cancel = {}, const ProgressFn& onProgress = {});

private:
    PrepareParams m_params;
};

/** The report as JSON text (one object; the CLI's --json output). */
std::string reportToJson(const PrepareReport& report, int indent = -1);

} // namespace faceatlas
