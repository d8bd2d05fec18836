#include "data/ImageCache.h"

#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/MappedFile.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"

#include <chrono>
#include <cstring>
#include <opencv2/core.hpp>
#include <unistd.h>

namespace faceatlas {

void configureOpenCvThreads()
{
    cv::setNumThreads(0);
}

ImageCacheResult buildImageCache(const std::vector<std::string>& paths, const std::filesystem::path& file,
                                 const ImageCacheOptions& options, const CancelToken& cancel,
                                 const std::function<void(const JobProgress&)>& onProgress)
{
    if (options.findings && options.findings->size() != paths.size())
        throw Error("internal: one face finding per image is required");
    if (options.size < 8 || options.size > 1024)
        throw Error("image size must be between 8 and 1024 pixels, got " + std::to_string(options.size));
    const auto start = std::chrono::steady_clock::now();
    const size_t imageBytes = static_cast<size_t>(options.size) * options.size * 3;
    MappedFile out = MappedFile::create(file, paths.size() * imageBytes);

    std::vector<std::string> problems(paths.size());
    std::vector<char> ok(paths.size(), 0);
    std::atomic<long long> done{0};
    ProgressThrottle throttle(onProgress);
    {
        parallelFor(paths.size(), options.threads, [&](size_t i) {
            if (cancel.isCancelled())
                return;
            std::string bytes;
            try {
                bytes = readFile(paths[i]);
            } catch (const Error& e) {
                problems[i] = "cannot read";
                throttle("decoding images", ++done, static_cast<long long>(paths.size()));
                return;
            }
            const FaceFinding* finding = options.findings ? &(*options.findings)[i] : nullptr;
            ok[i] = frameKnownFace(bytes, options.size, finding, out.mutableData() + i * imageBytes, problems[i]);
            throttle("decoding images", ++done, static_cast<long long>(paths.size()));
        });
    }
    ImageCacheResult result;
    if (cancel.isCancelled()) {
        result.cancelled = true;
        return result;
    }
    // Close the gaps failed images left, then shrink the file to the images kept.
    size_t write = 0;
    for (size_t i = 0; i < paths.size(); ++i) {
        if (!ok[i]) {
            result.failed.push_back(i);
            result.skipped.push_back({paths[i], problems[i]});
            continue;
        }
        if (write != i)
            std::memmove(out.mutableData() + write * imageBytes, out.data() + i * imageBytes, imageBytes);
        ++write;
    }
    result.stored = write;
    // On disk before returning: the manifest written next declares images.u8 finished.
    out.flush();
    out = MappedFile();
    if (!result.failed.empty())
        std::filesystem::resize_file(file, write * imageBytes);
    syncFile(file);
    if (file.has_parent_path())
        syncDirectory(file.parent_path());
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace faceatlas
