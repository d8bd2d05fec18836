#include "ml/TrainSteps.h"

#include "data/Provenance.h"
#include "ml/Runtime.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/PngWriter.h"

#include <torch/version.h>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/** Every rank's validation sums and per-face errors and spreads, added up and gathered on every rank. */
void gatherValidation(ProcessGroup& group, double& lossSum, double& baseSum, double& sqSum, size_t& n, size_t& pixels,
                      std::vector<double>& errors, std::vector<double>& spreads)
{
    auto sums =
        torch::tensor({lossSum, baseSum, sqSum, static_cast<double>(n), static_cast<double>(pixels)}, torch::kDouble);
    group.allreduceSum(sums, "the validation's sums");
    lossSum = sums[0].item<double>();
    baseSum = sums[1].item<double>();
    sqSum = sums[2].item<double>();
    n = static_cast<size_t>(sums[3].item<double>());
    pixels = static_cast<size_t>(sums[4].item<double>());
    for (auto* values : {&errors, &spreads}) {
        const auto all = group.allgatherRows(torch::tensor(*values, torch::kDouble), "the validation's errors");
        values->assign(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
    }
}

} // namespace

void writePreview(const fs::path& file, const torch::Tensor& originals, const torch::Tensor& reconstructions)
{
    const auto both = torch::cat({originals, reconstructions}, 0).to(torch::kCPU); // [2n,3,S,S]
    const int64_t n = originals.size(0), s = originals.size(2);
    auto grid = both.view({2, n, 3, s, s}).permute({0, 3, 1, 4, 2}).reshape({2 * s, n * s, 3});
    grid = grid.mul(255.0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
    writePngRgb(file, grid.data_ptr<std::uint8_t>(), static_cast<int>(n * s), static_cast<int>(2 * s));
}

Validation validate(FaceModelImpl& model, const PreparedDataset& data, const std::vector<std::uint32_t>& valIndices,
                    const torch::Device& device, int batchSize, float medianAge, const CancelToken& cancel,
                    ProcessGroup* group)
{
    torch::NoGradGuard noGrad;
    model.eval();
    Validation v;
    double lossSum = 0, baseSum = 0, sqSum = 0;
    size_t n = 0, pixels = 0;
    std::vector<double> errors, spreads;
    std::vector<std::uint32_t> mine;
    for (size_t i = group ? static_cast<size_t>(group->rank()) : 0; i < valIndices.size();
         i += group ? static_cast<size_t>(group->size()) : 1)
        mine.push_back(valIndices[i]);
    BatchPrefetcher batches(data, std::move(mine), batchSize);
    Batch b;
    while (batches.next(b) && !cancel.isCancelled()) {
        const auto images = b.images.to(device);
        const auto ages = b.ages.to(device);
        const auto out = model.run(images);
        const int64_t count = images.size(0);
        if (model.isAgeModel()) {
            const auto known = ~torch::isnan(ages);
            if (known.any().item<bool>()) {
                const AgePrediction p = model.predictAge(images, &out);
                const auto truth = ages.masked_select(known);
                const auto error = (p.age.masked_select(known) - truth).abs().to(torch::kDouble).cpu().contiguous();
                const auto spread = p.sd.masked_select(known).to(torch::kDouble).cpu().contiguous();
                errors.insert(errors.end(), error.data_ptr<double>(), error.data_ptr<double>() + error.numel());
                spreads.insert(spreads.end(), spread.data_ptr<double>(), spread.data_ptr<double>() + spread.numel());
                lossSum += model.loss(out, images, ages.nan_to_num(medianAge)).item<double>() * count;
                baseSum += (truth - medianAge).abs().sum().item<double>();
            }
        } else {
            lossSum += model.loss(out, images, ages).item<double>() * count;
            sqSum += (out.output - images).pow(2).sum().item<double>();
            pixels += static_cast<size_t>(images.numel());
        }
        n += static_cast<size_t>(count);
    }
    if (group)
        gatherValidation(*group, lossSum, baseSum, sqSum, n, pixels, errors, spreads);
    v.loss = n ? lossSum / n : std::nan("");
    if (!errors.empty()) {
        double absSum = 0;
        for (double e : errors)
            absSum += e;
        v.mae = absSum / static_cast<double>(errors.size());
        v.baselineMae = baseSum / static_cast<double>(errors.size());
        v.calibration = calibrateSpread(errors, spreads);
    }
    if (pixels)
        v.psnr = 10.0 * std::log10(1.0 / std::max(1e-12, sqSum / pixels));
    return v;
}

bool refreshBatchNorms(FaceModelImpl& model, const PreparedDataset& data, std::vector<std::uint32_t> order,
                       size_t faces, int batchSize, const torch::Device& device, const CancelToken& cancel)
{
    std::vector<std::pair<torch::nn::BatchNorm2dImpl*, c10::optional<double>>> norms;
    for (const auto& m : model.modules(false))
        if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get()))
            norms.emplace_back(bn, bn->options.momentum());
    if (norms.empty() || order.empty())
        return false;
    for (auto& [bn, momentum] : norms) {
        bn->options.momentum(c10::nullopt); // a cumulative average over the batches below
        bn->reset_running_stats();
    }
    order.resize(std::min(order.size(), std::max<size_t>(faces, 1)));
    {
        torch::NoGradGuard noGrad;
        model.train();
        BatchPrefetcher batches(data, std::move(order), std::max(batchSize, 1));
        Batch b;
        while (!cancel.isCancelled() && batches.next(b))
            model.run(b.images.to(device));
    }
    for (auto& [bn, momentum] : norms)
        bn->options.momentum(momentum);
    return true;
}

json runJson(const TrainParams& p, const PreparedDataset& data, const ModelDefaults& used,
             const Augmentation& augmentation, const std::string& device, float medianAge, const std::string& started,
             size_t trainCount, size_t valCount)
{
    json manifest = json::parse(data.manifestJson());
    json run{{"format", "faceatlas-run"},
             {"version", 1},
             {"model", modelKindName(p.model)},
             {"size", data.imageSize()},
             {"data", data.dir().string()},
             {"data_fingerprint", datasetFingerprint(data)},
             {"source", data.sourceSpec()},
             {"cleaning", manifest.value("settings", json::object())},
             {"split", {{"train", trainCount}, {"val", valCount}}},
             {"seed", p.seed},
             {"epochs", p.epochs},
             {"batch", used.batch},
             {"learning_rate", used.learningRate},
             {"weight_decay", used.weightDecay},
             {"schedule", used.cosineSchedule ? "warmup+cosine" : "constant"},
             {"augmentation", augmentation.text()},
             {"optimizer", "AdamW (decoupled weight decay; Adam when it is 0)"},
             {"device", device},
             {"threads", at::get_num_threads()},
             {"libtorch", TORCH_VERSION},
             {"faceatlas", FACEATLAS_VERSION},
             {"baseline_median_age", medianAge},
             {"started", started},
             {"status", "running"}};
    if (p.labelSigma > 0)
        run["label_sigma"] = p.labelSigma;
    return run;
}

ModelDefaults modelDefaults(ModelKind kind)
{
    return modelKindInfo(kind).defaults;
}

torch::Device resolveDevice(const std::string& device)
{
    if (device == "cpu")
        return torch::kCPU;
    if (device == "cuda") {
        if (!cudaAvailable())
            throw Error("--device cuda: no CUDA GPU is available to this LibTorch build (use auto or cpu)");
        return torch::kCUDA;
    }
    if (device == "auto")
        return cudaAvailable() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    throw Error("unknown device '" + device + "' (use auto, cpu or cuda)");
}

float runBaselineAge(const std::filesystem::path& runDir, const PreparedDataset& data)
{
    const json run = json::parse(readFile(runDir / "run.json", kMaxManifestBytes));
    if (const auto it = run.find("baseline_median_age"); it != run.end() && !it->is_null()) {
        // Checked as a double: 1e300 converted to float would be undefined behaviour.
        if (!it->is_number() || !(std::fabs(it->get<double>()) <= kMaxRecordAge))
            throw Error(displayPath(runDir / "run.json") + ": 'baseline_median_age' is " + jsonText(*it).substr(0, 40)
                        + ", not an age");
        return static_cast<float>(it->get<double>());
    }
    return trainingMedianAge(data);
}

float trainingMedianAge(const PreparedDataset& data)
{
    return medianAge(data, data.trainIndices());
}

float medianAge(const PreparedDataset& data, std::vector<std::uint32_t> unique)
{
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    std::vector<float> ages;
    for (auto i : unique)
        if (data.records()[i].age)
            ages.push_back(static_cast<float>(*data.records()[i].age));
    if (ages.empty())
        return std::nanf("");
    std::sort(ages.begin(), ages.end());
    const size_t m = ages.size() / 2;
    return ages.size() % 2 ? ages[m] : 0.5f * (ages[m - 1] + ages[m]);
}

} // namespace faceatlas
