// Dataset-layer benchmark: image-cache build rate against the raw single-core JPEG decode rate,
// the quality columns' cost per stored face (issue 29), and metadata load times (the real wiki.mat,
// and a synthetic file of imdb.mat's size). `faceatlas_bench_data [REPEATS] [quality]`: with
// "quality", the quality columns' figures alone.
#include "BenchSupport.h"
#include "data/ImageCache.h"
#include "data/ImageIO.h"
#include "data/QualityMetrics.h"
#include "data/Readers.h"
#include "TestSupport.h"
#include "util/FileUtil.h"
#include "util/MappedFile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>
#include <string>
#include <thread>

using namespace faceatlas;
using namespace faceatlas::bench;

namespace {

/** Single-core cv::imdecode (full size, BGR) over bytes already in memory: the practical limit per core. */
double rawDecodeRate(const std::vector<std::string>& files)
{
    cv::setNumThreads(0);
    const auto start = Clock::now();
    size_t n = 0;
    for (const auto& bytes : files) {
        const cv::Mat img =
            cv::imdecode(cv::_InputArray(reinterpret_cast<const uchar*>(bytes.data()), static_cast<int>(bytes.size())),
                         cv::IMREAD_COLOR);
        n += !img.empty();
    }
    return static_cast<double>(n) / seconds(start);
}

/**
 * How close decodeSquareRgb's pictures are to the reference (cv::imdecode at full size, area resize, RGB),
 * over `count` faces spread across the set: mean and lowest PSNR.
 */
void printPsnr(const std::vector<std::string>& files, int size, size_t count)
{
    std::vector<double> db;
    std::vector<std::uint8_t> out(static_cast<size_t>(size) * size * 3);
    for (size_t k = 0; k < count && !files.empty(); ++k) {
        const std::string& bytes = files[k * files.size() / count];
        std::string problem;
        if (decodeSquareRgb(bytes, size, out.data(), problem))
            db.push_back(test::psnr(out.data(), test::referenceSquareRgb(bytes, size).data(), out.size()));
    }
    if (db.empty())
        return;
    double sum = 0;
    for (double v : db)
        sum += v;
    std::printf("S=%-3d against full decode + area resize, %zu faces: PSNR mean %.1f dB, lowest %.1f dB\n", size,
                db.size(), sum / db.size(), *std::min_element(db.begin(), db.end()));
}

/**
 * The quality columns' cost (data/QualityMetrics) per stored face at sizes 64 and 150: every column
 * on one thread and on every core, and BRISQUE alone on one thread (the rest is the difference), as
 * Prepare runs them after the image cache is built.
 */
void printQualityCost(const std::vector<std::string>& paths, const test::TempDir& tmp, int cores, int repeats)
{
    std::printf("quality columns (sharpness, brightness, contrast, colourfulness, BRISQUE) on the stored faces\n");
    for (const int size : {64, 150}) {
        ImageCacheOptions options;
        options.size = size;
        options.threads = cores;
        std::filesystem::remove(tmp / "quality-images.u8"); // the cache of the size before
        const auto cache = buildImageCache(paths, tmp / "quality-images.u8", options);
        const MappedFile images = MappedFile::openReadOnly(tmp / "quality-images.u8");
        const size_t n = cache.stored, imageBytes = static_cast<size_t>(size) * size * 3;
        for (const int threads : {1, cores}) {
            std::vector<double> rates;
            for (int r = 0; r < repeats; ++r) {
                const auto start = Clock::now();
                const auto values = measureQuality(images.data(), n, size, threads);
                rates.push_back(static_cast<double>(values.size() / kQualityColumnCount) / seconds(start));
            }
            std::printf("S=%-3d every column, %d thread%s %8.0f faces/s  (cache build: %.0f images/s on %d cores)\n",
                        size, threads, threads == 1 ? ": " : "s:", median(rates), cache.stored / cache.seconds, cores);
        }
        const BrisqueModel model = brisqueModelFiles();
        const auto brisque = cv::quality::QualityBRISQUE::create(model.model, model.range);
        std::vector<double> rates;
        for (int r = 0; r < repeats; ++r) {
            const auto start = Clock::now();
            for (size_t i = 0; i < n; ++i) {
                const cv::Mat face(size, size, CV_8UC3, const_cast<std::uint8_t*>(images.data() + i * imageBytes));
                cv::Mat bgr;
                cv::cvtColor(face, bgr, cv::COLOR_RGB2BGR);
                brisque->compute(bgr);
            }
            rates.push_back(static_cast<double>(n) / seconds(start));
        }
        std::printf("S=%-3d BRISQUE alone, 1 thread:  %8.0f faces/s\n", size, median(rates));
        std::fflush(stdout);
    }
}

} // namespace

int main(int argc, char** argv)
{
    test::TempDir tmp;
    ::setenv("FACEATLAS_CACHE_DIR", (tmp / "cache").c_str(), 1);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 3;

    const LoadedDataset utk = readUtkFace(test::sharedData() / "utkface" / "images");
    std::vector<std::string> paths, bytes;
    for (const auto& r : utk.records) {
        paths.push_back(r.path);
        bytes.push_back(readFile(r.path)); // also warms the page cache for the timed runs
    }
    std::printf("FaceAtlas data benchmark: %zu UTKFace JPEGs (200x200), %d cores, median of %d runs\n\n", paths.size(),
                cores, repeats);
    if (argc > 2 && std::string(argv[2]) == "quality") {
        printQualityCost(paths, tmp, cores, repeats);
        return 0;
    }

    std::vector<double> raw;
    for (int r = 0; r < repeats; ++r)
        raw.push_back(rawDecodeRate(bytes));
    const double rawRate = median(raw);
    std::printf("raw cv::imdecode, 1 core, full size:        %8.0f images/s\n", rawRate);
    std::printf("practical limit (cores x raw):              %8.0f images/s\n\n", cores * rawRate);

    for (const int size : {64, 150}) {
        for (const int threads : {1, cores}) {
            std::vector<double> rates;
            for (int r = 0; r < repeats; ++r) {
                ImageCacheOptions options;
                options.size = size;
                options.threads = threads;
                const auto result = buildImageCache(paths, tmp / "images.u8", options);
                rates.push_back(result.stored / result.seconds);
                if (!result.skipped.empty())
                    std::printf("S=%d: %zu of %zu not decoded, e.g. %s: %s\n", size, result.skipped.size(),
                                paths.size(), result.skipped[0].path.c_str(), result.skipped[0].problem.c_str());
            }
            const double rate = median(rates);
            std::printf("cache build S=%-3d %d thread%s  %8.0f images/s  (%.0f%% of cores x raw)\n", size, threads,
                        threads == 1 ? ": " : "s:", rate, 100.0 * rate / (cores * rawRate));
        }
    }

    std::printf("\n");
    for (const int size : {64, 150})
        printPsnr(bytes, size, 200);
    std::printf("\n");
    printQualityCost(paths, tmp, cores, repeats);

    std::printf("\nmetadata\n");
    const auto wiki = test::sharedData() / "imdb-wiki-meta" / "wiki.mat";
    std::vector<double> parse, cached;
    for (int r = 0; r < repeats; ++r) {
        auto start = Clock::now();
        const auto a = readImdbWiki(wiki, /*useCache=*/false);
        parse.push_back(seconds(start));
        readImdbWiki(wiki); // fills the cache
        start = Clock::now();
        const auto b = readImdbWiki(wiki);
        cached.push_back(seconds(start));
    }
    std::printf("real wiki.mat (62,328 records): parse %.3f s, from record cache %.3f s\n", median(parse),
                median(cached));

    const size_t imdbSize = 460723;
    auto start = Clock::now();
    test::writeImdbLikeMat(tmp / "imdb.mat", imdbSize, /*compressed=*/true);
    const double writeSeconds = seconds(start);
    start = Clock::now();
    const auto big = readImdbWiki(tmp / "imdb.mat");
    const double bigParse = seconds(start);
    start = Clock::now();
    const auto bigAgain = readImdbWiki(tmp / "imdb.mat");
    const double bigCached = seconds(start);
    std::printf(
        "synthetic imdb.mat (%zu records, written by matio in %.1f s): parse %.3f s, from record cache %.3f s%s\n",
        big.records.size(), writeSeconds, bigParse, bigCached, bigAgain.fromCache ? "" : " (cache missed!)");
    return 0;
}
