#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceatlas {

class PreparedDataset;

/**
 * Image-quality columns (issue 29): measured at prepare on each stored face (the aligned,
 * area-resampled S x S face the models see), so a value does not depend on the picture's size nor
 * on how it was resized. Kept beside the records in `quality.f32` (kQualityFile: one row of
 * float32 per stored face, in the prepared order, the columns in kQualityColumns' order), which
 * prepared.json names with its columns, row count and hash ("quality"). An older preparation has
 * no such file: its quality columns are absent, and readPreparedQuality returns an empty table.
 * This part is std-only (the reader); the measuring, with OpenCV, is data/QualityMetrics.
 */
constexpr const char* kQualityFile = "quality.f32";

/** One quality column: its name (in the file, the CLI, the grid and the map) and what it measures. */
struct QualityColumn {
    const char* name;
    const char* description;
    bool higherIsBetter; // for "worst first" sorts and the cleaning steps' direction
};
constexpr std::size_t kQualityColumnCount = 5;
/** sharpness, brightness, contrast, colourfulness, brisque: the order of quality.f32's columns. */
const std::array<QualityColumn, kQualityColumnCount>& qualityColumns();
/** The position of the column called `name`, or -1. */
int qualityColumnIndex(const std::string& name);

/** A preparation's quality columns: `values` holds rows x names.size() floats, row-major (NaN: not measured). */
struct FaceQuality {
    std::vector<std::string> names;
    std::size_t rows = 0;
    std::vector<float> values;

    bool empty() const { return names.empty(); }
    /** The position of the column `name` (exact), or -1. */
    int find(const std::string& name) const;
    float at(std::size_t row, std::size_t column) const { return values[row * names.size() + column]; }
    /** One column's values, one per face. */
    std::vector<float> column(std::size_t k) const;
};

/** quality.f32's bytes: the values as little-endian float32 (rows x kQualityColumnCount). */
std::string qualityBytes(const std::vector<float>& values);
/** prepared.json's "quality": the file, the columns, the rows and the bytes' hash. */
nlohmann::json qualityManifest(std::size_t rows, const std::string& bytes);
/**
 * Checks prepared.json's "quality" entry and quality.f32's `bytes` against each other and against the
 * preparation's `count` faces: the columns are FaceAtlas's (a known name at most once), the row count
 * is `count` (checked before anything is sized by it), the file holds exactly rows x columns floats
 * and its hash is the manifest's. Throws Error naming `what` (the file).
 */
FaceQuality parseQuality(const nlohmann::json& entry, const std::string& bytes, std::size_t count,
                         const std::string& what);
/** The column names prepared.json records for the open preparation (empty: an older preparation). */
std::vector<std::string> preparedQualityNames(const PreparedDataset& data);
/**
 * The quality columns of a preparation, read from DIR/quality.f32 and checked (parseQuality); empty
 * when prepared.json names none (a preparation from before FaceAtlas measured quality). Reads a
 * file: call it on a worker.
 */
FaceQuality readPreparedQuality(const PreparedDataset& data);
/** What to tell a user who asks for a quality column of a preparation that has none. */
std::string noQualityMessage(const PreparedDataset& data);

/**
 * The optional quality cleaning steps, off by default, after the others (they need the stored faces):
 * one row per step, the only place that names them (the CLI's options, the Dataset page, the report).
 */
struct QualityStep {
    const char* name;   // the step as the report names it
    const char* option; // the CLI's option (and prepared.json's setting), "min-sharpness"
    const char* column; // the quality column it reads
    bool isMinimum;     // removes faces below the threshold (else above it)
    double suggested;   // a starting threshold for the window's spin box
};
constexpr std::size_t kQualityStepCount = 5;
const std::array<QualityStep, kQualityStepCount>& qualitySteps();

/** Each quality step's threshold; NaN: the step is off (the default). */
struct QualityThresholds {
    std::array<double, kQualityStepCount> threshold{NAN, NAN, NAN, NAN, NAN};
    bool any() const
    {
        for (const double t : threshold)
            if (!std::isnan(t))
                return true;
        return false;
    }
    bool operator==(const QualityThresholds& o) const;
};

/**
 * Quartile bands of one quality column for the error-by-slice ("q1 lowest" to "q4 highest", by the
 * column's quartiles over these faces; "" for a face without a value), so a slice says whether blur
 * or darkness costs the age model.
 */
std::vector<std::string> qualityQuartiles(const std::vector<float>& values);

} // namespace faceatlas
