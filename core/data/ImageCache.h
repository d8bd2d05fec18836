#pragma once

#include "data/Cleaning.h"
#include "data/FaceAlign.h"
#include "data/ImageIO.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace faceatlas {

/** Settings for building the uint8 image cache. */
struct ImageCacheOptions {
    int size = 64;   // images are stored size x size x 3 (RGB)
    int threads = 0; // 0 = all cores
    /**
     * Where each input's face is (detectFaces' findings, one per input, in original pixels): found
     * faces are aligned to the template, the rest centre-cropped. Null: every image centre-cropped.
     * Borrowed: it must outlive the build.
     */
    const std::vector<FaceFinding>* findings = nullptr;
};

/** What a cache build did: which inputs failed to decode (their slots are removed) and how fast. */
struct ImageCacheResult {
    std::vector<size_t> failed;       // indices into the input list, ascending
    std::vector<SkippedFile> skipped; // the same, with the problem
    size_t stored = 0;
    double seconds = 0;
    bool cancelled = false;
};

/**
 * Turns OpenCV's own thread pool off for the whole process, once at start-up, before any worker
 * starts (part of the compute budget, with configureTorchThreads): FaceAtlas decodes, frames and
 * finds faces one image per core, so parallel loops inside OpenCV would only compete with them.
 */
void configureOpenCvThreads();

/**
 * Decodes and frames `paths` on all cores into `file`: stored.size() images of size x size x 3 bytes, in input
 * order with failures left out. A corrupt, truncated or missing file is skipped and listed; the build
 * goes on.
 */
ImageCacheResult buildImageCache(const std::vector<std::string>& paths, const std::filesystem::path& file,
                                 const ImageCacheOptions& options, const CancelToken& cancel = {},
                                 const std::function<void(const JobProgress&)>& onProgress = {});

} // namespace faceatlas
