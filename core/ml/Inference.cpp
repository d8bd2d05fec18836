#include "ml/Inference.h"

#include "data/Provenance.h"
#include "data/RecordCache.h"
#include "ml/Batches.h"
#include "ml/Calibration.h"
#include "ml/ClusterImages.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

Split parseSplit(const std::string& name)
{
    if (name == "val")
        return Split::Val;
    if (name == "train")
        return Split::Train;
    if (name == "all")
        return Split::All;
    throw Error("unknown split '" + name + "' (use val, train or all)");
}

LabelledFaces labelledFaces(const PreparedDataset& data, Split split)
{
    LabelledFaces faces;
    for (const auto i : splitIndices(data, split))
        if (data.records()[i].age) {
            faces.indices.push_back(i);
            faces.ages.push_back(*data.records()[i].age);
        }
    if (faces.indices.empty())
        throw Error(displayPath(data.dir()) + ": no face of this split has an age to measure against");
    return faces;
}

std::vector<std::uint32_t> splitIndices(const PreparedDataset& data, Split split)
{
    std::vector<std::uint32_t> indices;
    if (split == Split::Val)
        return data.valIndices();
    if (split == Split::All) {
        indices.resize(data.count());
        for (size_t i = 0; i < indices.size(); ++i)
            indices[i] = static_cast<std::uint32_t>(i);
        return indices;
    }
    indices = data.trainIndices();
    std::sort(indices.begin(), indices.end());
    indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
    return indices;
}

AgeDistributions predictAgeDistributions(FaceModelImpl& model, const PreparedDataset& data,
                                         const std::vector<std::uint32_t>& indices, const torch::Device& device,
                                         const CancelToken& cancel, const ProgressFn& onProgress)
{
    if (!model.isAgeModel())
        throw Error("prediction needs an age model, not the " + std::string(modelKindName(model.kind())));
    if (model.imageSize() != data.imageSize())
        throw Error("the model was trained at " + std::to_string(model.imageSize()) + " px but "
                    + displayPath(data.dir()) + " holds " + std::to_string(data.imageSize())
                    + " px images; prepare it with --size " + std::to_string(model.imageSize()));
    torch::InferenceMode inference;
    model.eval();
    model.to(device);
    const double scale = model.spreadScale();
    AgeDistributions d;
    d.mean.reserve(indices.size());
    d.sd.reserve(indices.size());
    BatchPrefetcher batches(data, indices, inferenceBatchSize(device));
    Batch b;
    while (batches.next(b) && !cancel.isCancelled()) {
        const AgePrediction p = model.predictAge(b.images.to(device));
        const auto age = p.age.to(torch::kCPU).contiguous();
        const auto sd =
            (std::isfinite(scale) ? p.sd * scale : torch::full_like(p.sd, std::nanf(""))).to(torch::kCPU).contiguous();
        // A damaged or diverged model gives NaN or infinity: an error, never a "nan" in a file or a figure.
        for (int64_t k = 0; k < age.numel(); ++k)
            if (!std::isfinite(age.data_ptr<float>()[k]))
                throw Error("the model's prediction for " + recordKey(data.records()[b.indices[static_cast<size_t>(k)]])
                            + " is not a finite number (" + std::to_string(age.data_ptr<float>()[k])
                            + "): its weights are damaged or its training diverged; train it again");
        d.mean.insert(d.mean.end(), age.data_ptr<float>(), age.data_ptr<float>() + age.numel());
        d.sd.insert(d.sd.end(), sd.data_ptr<float>(), sd.data_ptr<float>() + sd.numel());
        if (onProgress)
            onProgress({"predicting", static_cast<long long>(d.mean.size()), static_cast<long long>(indices.size())});
    }
    return d;
}

std::vector<float> predictAges(FaceModelImpl& model, const PreparedDataset& data,
                               const std::vector<std::uint32_t>& indices, const torch::Device& device,
                               const CancelToken& cancel, const ProgressFn& onProgress)
{
    return predictAgeDistributions(model, data, indices, device, cancel, onProgress).mean;
}

torch::Tensor embedImages(FaceModelImpl& model, const torch::Tensor& images)
{
    if (model.kind() == ModelKind::Autoencoder)
        return autoencoderEncode(model, images).flatten(1);
    const auto features = model.run(images).features;
    if (features.empty())
        throw Error(std::string("the ") + modelKindName(model.kind()) + " model has no conv features");
    return features.back().second.mean({2, 3});
}

torch::Tensor embedDataset(FaceModelImpl& model, const PreparedDataset& data, const torch::Device& device,
                           const CancelToken& cancel, const ProgressFn& onProgress)
{
    if (model.imageSize() != data.imageSize())
        throw Error("the model was trained at " + std::to_string(model.imageSize()) + " px but "
                    + displayPath(data.dir()) + " holds " + std::to_string(data.imageSize()) + " px images");
    torch::InferenceMode inference;
    model.eval();
    model.to(device);
    std::vector<std::uint32_t> all(data.count());
    for (size_t i = 0; i < all.size(); ++i)
        all[i] = static_cast<std::uint32_t>(i);
    std::vector<torch::Tensor> parts;
    BatchPrefetcher batches(data, all, inferenceBatchSize(device));
    Batch b;
    long long done = 0;
    while (batches.next(b)) {
        if (cancel.isCancelled())
            return {};
        parts.push_back(embedImages(model, b.images.to(device)).to(torch::kCPU, torch::kFloat));
        done += static_cast<long long>(b.indices.size());
        if (onProgress)
            onProgress({"embedding", done, static_cast<long long>(all.size())});
    }
    return parts.empty() ? torch::Tensor() : torch::cat(parts).contiguous();
}

EvalReport evaluateAges(const AgeDistributions& predicted, const std::vector<int>& truth, float baselineAge)
{
    EvalReport r = evaluateAges(predicted.mean, truth, baselineAge);
    std::vector<double> errors, spreads;
    double widthSum = 0;
    for (size_t i = 0; i < predicted.mean.size() && i < predicted.sd.size() && i < truth.size(); ++i) {
        if (!std::isfinite(predicted.sd[i]))
            continue;
        errors.push_back(std::fabs(predicted.mean[i] - truth[i]));
        spreads.push_back(predicted.sd[i]);
        widthSum += kInterval80 * predicted.sd[i];
    }
    if (!errors.empty()) {
        r.coverage80 = coverage80(errors, spreads);
        r.interval80HalfWidth = widthSum / static_cast<double>(errors.size());
    }
    return r;
}

EvalReport evaluateAges(const std::vector<float>& predicted, const std::vector<int>& truth, float baselineAge)
{
    EvalReport r;
    r.baselineAge = baselineAge;
    std::map<int, EvalReport::Decade> decades;
    for (size_t i = 0; i < predicted.size() && i < truth.size(); ++i) {
        const double err = std::abs(predicted[i] - truth[i]);
        const double base = std::abs(baselineAge - truth[i]);
        r.mae += err;
        r.baselineMae += base;
        ++r.n;
        auto& d = decades[truth[i] < 0 ? -10 : truth[i] / 10 * 10];
        d.from = truth[i] < 0 ? -10 : truth[i] / 10 * 10;
        d.mae += err;
        d.baselineMae += base;
        ++d.n;
    }
    if (r.n) {
        r.mae /= r.n;
        r.baselineMae /= r.n;
    }
    if (!std::isfinite(r.mae) || !std::isfinite(r.baselineMae))
        throw Error("evaluation: the mean absolute error is not a finite number (MAE " + std::to_string(r.mae)
                    + ", baseline " + std::to_string(r.baselineMae) + "); a prediction or the baseline age "
                    + std::to_string(baselineAge) + " is not a finite age");
    for (auto& [from, d] : decades) {
        d.mae /= d.n;
        d.baselineMae /= d.n;
        r.decades.push_back(d);
    }
    return r;
}

Codes Codes::open(const fs::path& dir)
{
    const fs::path manifestPath = dir / "codes.json";
    if (!fs::is_regular_file(manifestPath))
        throw Error(displayPath(dir) + ": not a codes folder (no codes.json; run 'faceatlas-cli encode' first)");
    // Every file through one descriptor of the folder: encode swaps new codes in whole, and a reader
    // opening the old ones meanwhile reads all of them (or, after a swap, the new ones), never a mix.
    return readWholeFolder(dir, [&](const OpenFolder& folder) {
        Codes codes;
        std::int64_t count = -1;
        try {
            const json manifest = json::parse(folder.read("codes.json", kMaxManifestBytes));
            if (!manifest.is_object())
                throw Error(displayPath(manifestPath) + ": invalid: not a JSON object");
            const json& shape = manifest.at("shape");
            if (!shape.is_array() || shape.size() != 3)
                throw Error(displayPath(manifestPath) + ": invalid: shape is not three numbers");
            std::int64_t product = 1;
            for (const auto& v : shape) {
                if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 4096)
                    throw Error(displayPath(manifestPath) + ": invalid: shape " + shape.dump().substr(0, 60));
                product *= v.get<std::int64_t>();
                codes.m_shape.push_back(v.get<std::int64_t>());
            }
            const json& dim = manifest.at("dim");
            if (!dim.is_number_integer() || dim.get<std::int64_t>() != product)
                throw Error(displayPath(manifestPath) + ": invalid: dim " + dim.dump().substr(0, 30)
                            + " is not the product of the shape " + shape.dump());
            codes.m_dim = static_cast<size_t>(product);
            if (const auto it = manifest.find("count"); it != manifest.end()) {
                if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
                    throw Error(displayPath(manifestPath) + ": invalid: count " + it->dump().substr(0, 30));
                count = it->get<std::int64_t>();
            }
            codes.m_run = manifest.value("run", "");
            codes.m_dataDir = manifest.value("data", "");
            codes.m_dataFingerprint = manifest.value("data_fingerprint", "");
            codes.m_imageSize = static_cast<int>(jsonIntOr(manifest, "size", 0, PreparedDataset::kMinSize,
                                                           PreparedDataset::kMaxSize, displayPath(manifestPath)));
        } catch (const json::exception& e) {
            throw Error(displayPath(manifestPath) + ": invalid: " + e.what());
        }
        // Regular files only: a FIFO in their place would block the read for ever.
        for (const char* name : {"records.bin", "codes.f32"})
            if (!folder.hasFile(name))
                throw Error(displayPath(dir / name) + ": missing or not a regular file");
        std::string recordsProblem;
        auto records = RecordCache::deserialize(folder.read("records.bin"), &recordsProblem);
        if (!records)
            throw Error(displayPath(dir / "records.bin") + ": corrupt record file: " + recordsProblem);
        codes.m_records = std::move(*records);
        if (count >= 0 && static_cast<std::uint64_t>(count) != codes.m_records.size())
            throw Error(displayPath(manifestPath) + ": declares " + std::to_string(count)
                        + " codes but records.bin holds " + std::to_string(codes.m_records.size()));
        const std::uint64_t fileSize = static_cast<std::uint64_t>(folder.fileSize("codes.f32"));
        const std::uint64_t rowBytes = static_cast<std::uint64_t>(codes.m_dim) * sizeof(float);
        if (codes.m_records.size() > fileSize / rowBytes || fileSize != codes.m_records.size() * rowBytes)
            throw Error(displayPath(dir / "codes.f32") + ": " + std::to_string(fileSize) + " bytes do not hold "
                        + std::to_string(codes.m_records.size()) + " codes of " + std::to_string(codes.m_dim)
                        + " floats (an interrupted or damaged encode; encode again)");
        codes.m_data = MappedFile::openReadOnly(folder, "codes.f32", /*populate=*/true);
        if (codes.m_data.size() != codes.m_records.size() * rowBytes)
            throw Error(displayPath(dir / "codes.f32") + ": changed while it was opened");
        return codes;
    });
}

torch::Tensor Codes::tensor() const
{
    return torch::from_blob(const_cast<std::uint8_t*>(m_data.data()),
                            {static_cast<int64_t>(count()), static_cast<int64_t>(m_dim)}, torch::kFloat);
}

torch::Tensor decodeCodes(FaceModelImpl& autoencoder, const torch::Tensor& codes)
{
    const auto shape = autoencoderCodeShape(autoencoder.imageSize());
    torch::NoGradGuard noGrad;
    autoencoder.eval();
    return autoencoderDecode(autoencoder, codes.reshape({-1, shape[0], shape[1], shape[2]}));
}

std::vector<std::uint8_t> decodeMeanCode(FaceModelImpl& autoencoder, const Codes& codes,
                                         const std::vector<std::int64_t>* rows)
{
    std::vector<double> sum(codes.dim(), 0.0);
    size_t count = 0;
    const auto add = [&](size_t i) {
        const float* row = codes.row(i);
        for (size_t d = 0; d < sum.size(); ++d)
            sum[d] += row[d];
        ++count;
    };
    if (rows) {
        for (const std::int64_t i : *rows)
            if (i >= 0 && static_cast<size_t>(i) < codes.count())
                add(static_cast<size_t>(i));
    } else {
        for (size_t i = 0; i < codes.count(); ++i)
            add(i);
    }
    if (count == 0)
        return {};
    auto mean = torch::empty({1, static_cast<int64_t>(sum.size())}, torch::kFloat);
    float* m = mean.data_ptr<float>();
    for (size_t d = 0; d < sum.size(); ++d)
        m[d] = static_cast<float>(sum[d] / static_cast<double>(count));
    torch::InferenceMode inference;
    const auto device = autoencoder.parameters().front().device();
    return toRgb(decodeCodes(autoencoder, mean.to(device))); // one tile: S x S RGB
}

} // namespace faceatlas
