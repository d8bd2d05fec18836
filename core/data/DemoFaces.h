#pragma once

#include "data/Record.h"
#include "util/CancelToken.h"

#include <cstdint>
#include <filesystem>
#include <functional>

namespace cv {
class Mat;
}

namespace faceatlas {

/** What one synthetic face looks like; drawn from (seed, index) alone, so any face can be redrawn. */
struct DemoFace {
    int age = 30;
    Gender gender = Gender::Unknown;
    double faceScore = 3.0;
    double secondFaceScore = Record::kNaN;
    std::uint64_t styleSeed = 0; // drives skin, hair, lighting, background and pose
};

DemoFace demoFace(std::uint64_t seed, std::uint64_t index);

/** Draws a face as an 8-bit BGR image of size x size; age shows in wrinkles, grey hair, eyes and jaw. */
cv::Mat drawDemoFace(const DemoFace& face, int size);

/**
 * The built-in demo dataset: `count` synthetic faces written as JPEG files into `folder` (skipped
 * when a previous run completed there), returned as records with age and gender labels.
 */
LoadedDataset makeDemoDataset(int count, std::uint64_t seed, const std::filesystem::path& folder,
                              const CancelToken& cancel = {},
                              const std::function<void(const JobProgress&)>& onProgress = {});

constexpr int kDemoImageSize = 160;
constexpr std::uint64_t kDemoSeed = 20161;

} // namespace faceatlas
