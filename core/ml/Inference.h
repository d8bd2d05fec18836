#pragma once

#include "data/PreparedDataset.h"
#include "ml/Distributed.h"
#include "ml/Models.h"
#include "util/CancelToken.h"
#include "util/MappedFile.h"

#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace faceatlas {

/** Which records of a prepared dataset to use. */
enum class Split { Val, Train, All };
Split parseSplit(const std::string& name);
/** Indices of a split (the training split without resampling repeats). */
std::vector<std::uint32_t> splitIndices(const PreparedDataset& data, Split split);

/** The faces of a split that have an age (rows of the preparation) and their ages. */
struct LabelledFaces {
    std::vector<std::uint32_t> indices;
    std::vector<int> ages;
};
/** The labelled faces of `split`; throws Error naming the folder when no face of it has an age. */
LabelledFaces labelledFaces(const PreparedDataset& data, Split split);

using ProgressFn = std::function<void(const JobProgress&)>;

/** A predicted age per face, and its calibrated standard deviation. */
struct AgeDistributions {
    std::vector<float> mean;
    std::vector<float> sd; // the model's spread times its calibration; NaN for a model never calibrated
};

/**
 * Predicted ages of the records at `indices` with their calibrated spread (batched, no gradients;
 * the age heads average each face and its mirror image). Throws Error for a non-finite prediction.
 */
AgeDistributions predictAgeDistributions(FaceModelImpl& model, const PreparedDataset& data,
                                         const std::vector<std::uint32_t>& indices, const torch::Device& device,
                                         const CancelToken& cancel = {}, const ProgressFn& onProgress = {});

/** Predicted ages for the given records (predictAgeDistributions()'s means). */
std::vector<float> predictAges(FaceModelImpl& model, const PreparedDataset& data,
                               const std::vector<std::uint32_t>& indices, const torch::Device& device,
                               const CancelToken& cancel = {}, const ProgressFn& onProgress = {});

/**
 * What a model makes of images, as one vector per image ([N, D] float on the model's device): the
 * autoencoder's code, or an age model's last conv layer averaged over its positions (the features
 * its age head reads). "More like this" compares faces by either.
 */
torch::Tensor embedImages(FaceModelImpl& model, const torch::Tensor& images);

/** embedImages over every face of `data` (batched, no gradients), [N, D] on the CPU; empty when cancelled. */
torch::Tensor embedDataset(FaceModelImpl& model, const PreparedDataset& data, const torch::Device& device,
                           const CancelToken& cancel = {}, const ProgressFn& onProgress = {});

/** MAE of an age model against the baseline that always predicts the training median. */
struct EvalReport {
    size_t n = 0;
    double mae = 0;
    double baselineMae = 0;
    float baselineAge = 0;
    struct Decade {
        int from = 0;
        size_t n = 0;
        double mae = 0;
        double baselineMae = 0;
    };
    std::vector<Decade> decades;
    // The calibrated 80% intervals (NaN for a model never calibrated): the share of faces inside
    // theirs, and their mean half-width in years.
    double coverage80 = std::numeric_limits<double>::quiet_NaN();
    double interval80HalfWidth = std::numeric_limits<double>::quiet_NaN();
};
EvalReport evaluateAges(const std::vector<float>& predicted, const std::vector<int>& truth, float baselineAge);
/** evaluateAges() with the intervals' coverage. */
EvalReport evaluateAges(const AgeDistributions& predicted, const std::vector<int>& truth, float baselineAge);

/**
 * Codes of a prepared dataset under an autoencoder: N x D float32 (D = 8 x s x s), memory-mapped,
 * with the record of every row. Folder layout: codes.json, codes.f32, records.bin.
 */
class Codes {
public:
    /**
     * Opens DIR, checking codes.json (shape, dim, count) against records.bin and codes.f32 before
     * mapping anything; throws Error naming the file and the problem.
     */
    static Codes open(const std::filesystem::path& dir);
    size_t count() const { return m_records.size(); }
    size_t dim() const { return m_dim; }
    const std::vector<int64_t>& shape() const { return m_shape; } // {8, s, s}
    const float* row(size_t i) const { return reinterpret_cast<const float*>(m_data.data()) + i * m_dim; }
    const std::vector<Record>& records() const { return m_records; }
    const std::filesystem::path& runDir() const { return m_run; }
    /** The prepared folder that was encoded, and its fingerprint then (empty for codes of an older FaceAtlas). */
    const std::filesystem::path& dataDir() const { return m_dataDir; }
    const std::string& dataFingerprint() const { return m_dataFingerprint; }
    int imageSize() const { return m_imageSize; }
    /** All codes as a [N, D] tensor viewing the mapped file (read-only; clone before writing). */
    torch::Tensor tensor() const;

private:
    std::vector<Record> m_records;
    std::vector<int64_t> m_shape;
    size_t m_dim = 0;
    std::filesystem::path m_run;
    std::filesystem::path m_dataDir;
    std::string m_dataFingerprint;
    int m_imageSize = 0;
    MappedFile m_data;
};

/**
 * Encodes every record of `data` with the autoencoder of `runDir` into the folder `out`, under the
 * output-folder contract (StagedFolder): the codes are written whole beside `out` and swapped in, so
 * earlier codes at `out` are never rewritten in place and survive a failed or cancelled encode.
 * `force` replaces a FaceAtlas folder of another kind there. On several processes (`dist`), each
 * rank encodes its share of the batches, the same batches as one process, and writes its rows into
 * the one codes.f32 that rank 0 made beside `out` (which every rank must see at the same path);
 * rank 0 writes the rest and swaps the folder in once every rank is done (core/ml/Encode.cpp).
 */
void encodeDataset(const std::filesystem::path& runDir, const std::filesystem::path& dataDir,
                   const std::filesystem::path& out, const std::string& device = "auto", const CancelToken& cancel = {},
                   const ProgressFn& onProgress = {}, bool force = false, const DistConfig& dist = {});

/** Decodes codes [N, D] (or [N,8,s,s]) to images [N,3,S,S] in 0-1. */
torch::Tensor decodeCodes(FaceModelImpl& autoencoder, const torch::Tensor& codes);

/**
 * The mean code of `rows` of `codes` (every row when null; rows outside are skipped) decoded by the
 * codes' autoencoder: S x S RGB bytes (S = its image size), row by row; empty when no row is in.
 * Summed row by row, in double: no copy of the selected codes (a selection can be most of 200,000 x 512).
 */
std::vector<std::uint8_t> decodeMeanCode(FaceModelImpl& autoencoder, const Codes& codes,
                                         const std::vector<std::int64_t>* rows);

} // namespace faceatlas
