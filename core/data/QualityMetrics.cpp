#include "data/QualityMetrics.h"

#include "util/Error.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>

namespace faceatlas {

namespace {

/** Debian's opencv-data puts OpenCV's BRISQUE model (trained on the LIVE database) here. */
constexpr const char* kDebianQualityModels = "/usr/share/opencv4/quality";

/**
 * BRISQUE with its model, one per thread: QualityBRISQUE::compute keeps state between calls, so a
 * thread never shares one. Loading the model (two YAML files, about half a megabyte) takes a few
 * milliseconds, once per thread.
 */
cv::quality::QualityBRISQUE& threadBrisque()
{
    thread_local cv::Ptr<cv::quality::QualityBRISQUE> brisque;
    if (!brisque) {
        const BrisqueModel files = brisqueModelFiles();
        try {
            brisque = cv::quality::QualityBRISQUE::create(files.model, files.range);
        } catch (const cv::Exception& e) {
            throw Error(files.model + ": cannot load OpenCV's BRISQUE model (" + e.what()
                        + "); Debian's opencv-data package installs it");
        }
    }
    return *brisque;
}

} // namespace

BrisqueModel brisqueModelFiles()
{
    const char* env = std::getenv("FACEATLAS_BRISQUE_MODELS");
    const std::string folder = env && *env ? env : kDebianQualityModels;
    BrisqueModel files{folder + "/brisque_model_live.yml", folder + "/brisque_range_live.yml"};
    for (const std::string& file : {files.model, files.range})
        if (!std::ifstream(file))
            throw Error(file
                        + ": cannot open OpenCV's BRISQUE model file (Debian's opencv-data package installs it; "
                          "FACEATLAS_BRISQUE_MODELS names another folder holding brisque_model_live.yml and "
                          "brisque_range_live.yml)");
    return files;
}

std::array<float, kQualityColumnCount> measureFaceQuality(const std::uint8_t* rgb, int size)
{
    // A view of the stored bytes, never written.
    const cv::Mat face(size, size, CV_8UC3, const_cast<std::uint8_t*>(rgb));
    cv::Mat grey;
    cv::cvtColor(face, grey, cv::COLOR_RGB2GRAY);
    std::array<float, kQualityColumnCount> out{};
    // sharpness: the variance of the Laplacian (3 x 3 aperture) of the grey levels.
    cv::Mat laplacian;
    cv::Laplacian(grey, laplacian, CV_64F);
    cv::Scalar mean, sd;
    cv::meanStdDev(laplacian, mean, sd);
    out[0] = static_cast<float>(sd[0] * sd[0]);
    // brightness and contrast: the grey levels' mean and standard deviation.
    cv::meanStdDev(grey, mean, sd);
    out[1] = static_cast<float>(mean[0]);
    out[2] = static_cast<float>(sd[0]);
    // colourfulness (Hasler and Suesstrunk 2003): rg = R - G, yb = (R + G) / 2 - B,
    // sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2).
    double sumRg = 0, sumYb = 0, sqRg = 0, sqYb = 0;
    const size_t pixels = static_cast<size_t>(size) * size;
    for (size_t i = 0; i < pixels; ++i) {
        const double r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
        const double rg = r - g, yb = 0.5 * (r + g) - b;
        sumRg += rg;
        sumYb += yb;
        sqRg += rg * rg;
        sqYb += yb * yb;
    }
    const double n = static_cast<double>(pixels);
    const double meanRg = sumRg / n, meanYb = sumYb / n;
    const double varRg = std::max(0.0, sqRg / n - meanRg * meanRg), varYb = std::max(0.0, sqYb / n - meanYb * meanYb);
    out[3] = static_cast<float>(std::sqrt(varRg + varYb) + 0.3 * std::sqrt(meanRg * meanRg + meanYb * meanYb));
    // BRISQUE on the face as OpenCV expects it (BGR).
    cv::Mat bgr;
    cv::cvtColor(face, bgr, cv::COLOR_RGB2BGR);
    out[4] = static_cast<float>(threadBrisque().compute(bgr)[0]);
    return out;
}

std::vector<float> measureQuality(const std::uint8_t* images, std::size_t count, int size, int threads,
                                  const CancelToken& cancel, const std::function<void(const JobProgress&)>& onProgress)
{
    brisqueModelFiles(); // a missing model is said once, before any thread starts
    std::vector<float> values(count * kQualityColumnCount, NAN);
    const size_t imageBytes = static_cast<size_t>(size) * size * 3;
    std::atomic<long long> done{0};
    std::atomic_bool cancelled{false};
    ProgressThrottle throttle(onProgress);
    parallelFor(
        count, threads,
        [&](size_t i) {
            if (cancelled.load(std::memory_order_relaxed) || cancel.isCancelled()) {
                cancelled = true;
                return;
            }
            const auto row = measureFaceQuality(images + i * imageBytes, size);
            std::copy(row.begin(), row.end(), values.begin() + static_cast<std::ptrdiff_t>(i * kQualityColumnCount));
            throttle("measuring quality", ++done, static_cast<long long>(count));
        },
        32);
    if (cancelled)
        return {};
    return values;
}

std::vector<std::size_t> applyQualitySteps(const std::vector<float>& values, const std::vector<std::size_t>& candidates,
                                           const QualityThresholds& thresholds, std::vector<StepReport>& steps)
{
    std::vector<std::size_t> kept = candidates;
    const auto& table = qualitySteps();
    for (size_t s = 0; s < table.size(); ++s) {
        const double threshold = thresholds.threshold[s];
        if (std::isnan(threshold))
            continue;
        const int column = qualityColumnIndex(table[s].column);
        StepReport report;
        report.name = table[s].name;
        std::vector<std::size_t> next;
        next.reserve(kept.size());
        for (const std::size_t i : kept) {
            const size_t at = i * kQualityColumnCount + static_cast<size_t>(column);
            const float v = at < values.size() ? values[at] : NAN;
            if (std::isnan(v)) {
                ++report.notApplicable;
                next.push_back(i);
                continue;
            }
            const bool remove = table[s].isMinimum ? v < threshold : v > threshold;
            if (remove)
                ++report.removed;
            else
                next.push_back(i);
        }
        kept.swap(next);
        report.remaining = kept.size();
        steps.push_back(report);
    }
    return kept;
}

} // namespace faceatlas
