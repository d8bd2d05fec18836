// Face detection, landmarks and alignment on real faces (the UTKFace sample in ../shared/data):
//   faceatlas_bench_align [N]                 detection rate and faces per second (1 thread, all cores)
//   faceatlas_bench_align --template [N]      the mean landmark positions that data/FaceAlign.cpp's template holds
//   faceatlas_bench_align --reframe DIR       splits the sample into DIR/train and DIR/test (about 1 in 5, by a
//                                             hash of the file name), writes DIR/test-reframed (each test face
//                                             padded to head and shoulders, made non-square, turned by up to 20
//                                             degrees and shifted) and reports detection on it and the landmarks'
//                                             error against the originals' landmarks carried by the same transform.
//   faceatlas_bench_align --groups DIR [N]    writes N group photos (default 200) to DIR, each of 2-5 sample faces
//                                             side by side at 0.7-1.3 their size on a noisy ground, then reports
//                                             how many of the faces placed were found (by box centre), how many
//                                             found were not placed, and photos and faces per second on all cores.
//                                             `faceatlas-cli prepare --source folder:DIR --faces every` then
//                                             measures the whole preparation.
//   faceatlas_bench_align --preview [RUNS]    the Dataset page's step preview (previewSteps) of the whole sample at
//                                             the window's defaults: once with the detector (filling the findings
//                                             cache), then RUNS times (default 5) from the warm cache; the median.
#include "BenchSupport.h"
#include "data/FaceAlign.h"
#include "data/ImageIO.h"
#include "data/PrepareSteps.h"
#include "data/Readers.h"
#include "TestSupport.h"
#include "util/FileUtil.h"
#include "util/Parallel.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

using namespace faceatlas;
using namespace faceatlas::bench;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> sampleFiles()
{
    const fs::path dir = test::sharedDataFolder("utkface/images");
    if (dir.empty()) {
        std::printf("real data folder %s is absent: nothing to measure\n",
                    (test::sharedData() / "utkface/images").string().c_str());
        std::exit(0);
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file())
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

bool isTestFace(const fs::path& file)
{
    return fnv1a64(file.filename().string()) % 5 == 0;
}

FaceFinding detect(const std::string& bytes, cv::Mat& rgb)
{
    double scale = 1;
    std::string problem;
    if (!decodeRgb(bytes, 0, rgb, scale, problem))
        return {};
    const auto faces = findFaces(rgb);
    return faces.empty() ? FaceFinding() : faces.front();
}

double interOcular(const FaceFinding& f)
{
    double lx = 0, ly = 0, rx = 0, ry = 0;
    for (int i = 36; i <= 41; ++i) {
        lx += f.landmarks[2 * i] / 6;
        ly += f.landmarks[2 * i + 1] / 6;
        rx += f.landmarks[2 * i + 12] / 6;
        ry += f.landmarks[2 * i + 13] / 6;
    }
    return std::hypot(rx - lx, ry - ly);
}

int rateAndSpeed(const std::vector<fs::path>& files, size_t n)
{
    n = std::min(n, files.size());
    std::vector<std::string> bytes(n);
    for (size_t i = 0; i < n; ++i)
        bytes[i] = readFile(files[i * files.size() / n]);
    std::vector<std::uint8_t> out(150 * 150 * 3);
    std::string problem;
    FaceFinding warm;
    decodeFramedFace(bytes[0], 150, Framing::Aligned, out.data(), &warm, problem); // loads the landmark model
    for (int threads : {1, 0}) {
        std::atomic<size_t> found{0}, several{0};
        const auto start = Clock::now();
        parallelFor(n, threads, [&](size_t i) {
            std::vector<std::uint8_t> face(150 * 150 * 3);
            std::string why;
            FaceFinding f;
            if (decodeFramedFace(bytes[i], 150, Framing::Aligned, face.data(), &f, why)) {
                found += f.found();
                several += f.faces > 1;
            }
        });
        const double s = seconds(start);
        std::printf("%zu UTKFace faces, aligned at 150 px on %d thread(s): %.1f faces/s; face found in %.1f%%, "
                    "more than one in %.1f%%\n",
                    n, resolveThreadCount(threads), n / s, 100.0 * found / n, 100.0 * several / n);
        std::fflush(stdout);
    }
    for (int threads : {0}) {
        const auto start = Clock::now();
        parallelFor(n, threads, [&](size_t i) {
            std::vector<std::uint8_t> face(150 * 150 * 3);
            std::string why;
            decodeFramedFace(bytes[i], 150, Framing::CentreCrop, face.data(), nullptr, why);
        });
        std::printf("  the same centre-cropped (no detection) on %d threads: %.1f faces/s\n",
                    resolveThreadCount(threads), n / seconds(start));
    }
    return 0;
}

int meanTemplate(const std::vector<fs::path>& files, size_t n)
{
    n = std::min(n, files.size());
    std::vector<std::array<double, 10>> points(n);
    std::vector<char> ok(n, 0);
    parallelFor(n, 0, [&](size_t i) {
        cv::Mat rgb;
        const FaceFinding f = detect(readFile(files[i * files.size() / n]), rgb);
        if (!f.found())
            return;
        const int groups[5][2] = {{36, 41}, {42, 47}, {30, 30}, {48, 48}, {54, 54}};
        for (int k = 0; k < 5; ++k) {
            double x = 0, y = 0;
            const int count = groups[k][1] - groups[k][0] + 1;
            for (int p = groups[k][0]; p <= groups[k][1]; ++p) {
                x += f.landmarks[2 * p];
                y += f.landmarks[2 * p + 1];
            }
            points[i][2 * k] = (x / count + 0.5) / rgb.cols;
            points[i][2 * k + 1] = (y / count + 0.5) / rgb.rows;
        }
        ok[i] = 1;
    });
    std::array<double, 10> mean{};
    size_t found = 0;
    for (size_t i = 0; i < n; ++i)
        if (ok[i]) {
            ++found;
            for (int k = 0; k < 10; ++k)
                mean[k] += points[i][k];
        }
    std::printf("faces found: %zu of %zu\nmean (x, y) as fractions of the image: left eye, right eye, nose tip, mouth "
                "corners:\n",
                found, n);
    for (int k = 0; k < 10; ++k)
        std::printf("%.4f%s", found ? mean[k] / found : 0.0, k < 9 ? ", " : "\n");
    // The template is symmetric about the vertical centre line: the mean of each left/right pair.
    if (found) {
        for (int k = 0; k < 10; ++k)
            mean[k] /= found;
        std::printf("made symmetric: %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f\n",
                    (mean[0] + 1 - mean[2]) / 2, (mean[1] + mean[3]) / 2, 1 - (mean[0] + 1 - mean[2]) / 2,
                    (mean[1] + mean[3]) / 2, 0.5, mean[5], (mean[6] + 1 - mean[8]) / 2, (mean[7] + mean[9]) / 2,
                    1 - (mean[6] + 1 - mean[8]) / 2, (mean[7] + mean[9]) / 2);
    }
    return 0;
}

int reframe(const std::vector<fs::path>& files, const fs::path& out)
{
    for (const char* sub : {"train", "test", "test-reframed"}) {
        fs::remove_all(out / sub);
        fs::create_directories(out / sub);
    }
    std::vector<fs::path> test;
    for (const auto& f : files) {
        fs::create_symlink(fs::absolute(f), out / (isTestFace(f) ? "test" : "train") / f.filename());
        if (isTestFace(f))
            test.push_back(f);
    }
    const size_t n = test.size();
    std::vector<double> errors(n, -1);
    std::vector<char> foundOriginal(n, 0), foundReframed(n, 0);
    std::vector<double> rolls(n, 0);
    const auto start = Clock::now();
    parallelFor(n, 0, [&](size_t i) {
        const std::string bytes = readFile(test[i]);
        cv::Mat rgb;
        const FaceFinding original = detect(bytes, rgb);
        foundOriginal[i] = original.found();
        // A head-and-shoulders picture about 1.55 x 1.95 the face crop (UTKFace's 200 px crop in a
        // 310 x 390 canvas), the face turned by up to 20 degrees, scaled 0.85-1.15 and shifted.
        SplitMix rng(fnv1a64(test[i].filename().string()));
        const double angle = (rng.uniform() * 2 - 1) * 20, scale = 0.85 + 0.3 * rng.uniform();
        const int width = static_cast<int>(std::lround(rgb.cols * 1.55)),
                  height = static_cast<int>(std::lround(rgb.rows * 1.95));
        const cv::Point2f centre(width * (0.4f + 0.2f * static_cast<float>(rng.uniform())),
                                 height * (0.33f + 0.12f * static_cast<float>(rng.uniform())));
        cv::Matx23d t = cv::getRotationMatrix2D(cv::Point2f(rgb.cols / 2.0f, rgb.rows / 2.0f), angle, scale);
        t(0, 2) += centre.x - rgb.cols / 2.0;
        t(1, 2) += centre.y - rgb.rows / 2.0;
        cv::Mat framed;
        cv::warpAffine(rgb, framed, t, cv::Size(width, height), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        cv::Mat bgr;
        cv::cvtColor(framed, bgr, cv::COLOR_RGB2BGR);
        cv::imwrite((out / "test-reframed" / test[i].filename()).string(), bgr, {cv::IMWRITE_JPEG_QUALITY, 92});
        cv::Mat again;
        const FaceFinding moved = detect(readFile(out / "test-reframed" / test[i].filename()), again);
        foundReframed[i] = moved.found();
        rolls[i] = moved.found() ? moved.roll + angle : 0; // the picture turned anticlockwise by `angle`
        if (!original.found() || !moved.found())
            return;
        double sum = 0;
        for (int p = 0; p < kLandmarkPoints; ++p) {
            const double x = original.landmarks[2 * p], y = original.landmarks[2 * p + 1];
            const double ex = t(0, 0) * x + t(0, 1) * y + t(0, 2), ey = t(1, 0) * x + t(1, 1) * y + t(1, 2);
            sum += std::hypot(moved.landmarks[2 * p] - ex, moved.landmarks[2 * p + 1] - ey);
        }
        errors[i] = sum / kLandmarkPoints / interOcular(moved);
    });
    std::vector<double> e, r;
    size_t fo = 0, fr = 0;
    for (size_t i = 0; i < n; ++i) {
        fo += foundOriginal[i];
        fr += foundReframed[i];
        if (errors[i] >= 0) {
            e.push_back(errors[i]);
            r.push_back(std::abs(rolls[i]));
        }
    }
    std::sort(e.begin(), e.end());
    std::sort(r.begin(), r.end());
    std::printf("%zu training faces and %zu test faces linked under %s; %zu re-framed test faces written in %.1f s\n",
                files.size() - n, n, out.string().c_str(), n, seconds(start));
    std::printf("face found: originals %.1f%%, re-framed %.1f%%\n", 100.0 * fo / n, 100.0 * fr / n);
    if (!e.empty())
        std::printf(
            "landmarks on the re-framed faces against the originals' carried over (%zu faces): mean error "
            "%.3f of the eye distance, median %.3f, 95th percentile %.3f; roll error median %.1f, 95th "
            "percentile %.1f degrees\n",
            e.size(),
            [&] {
                double s = 0;
                for (double v : e)
                    s += v;
                return s / e.size();
            }(),
            e[e.size() / 2], e[e.size() * 95 / 100], r[r.size() / 2], r[r.size() * 95 / 100]);
    return 0;
}

int groups(const std::vector<fs::path>& files, const fs::path& out, size_t n)
{
    fs::create_directories(out);
    struct Placed {
        std::vector<cv::Rect> faces;
    };
    std::vector<Placed> placed(n);
    size_t next = 0;
    for (size_t g = 0; g < n; ++g) {
        SplitMix rng(1000 + g);
        const int k = 2 + static_cast<int>(rng.below(4));
        std::vector<cv::Mat> people;
        int width = 40, height = 0;
        for (int p = 0; p < k; ++p) {
            cv::Mat face = cv::imread(files[next++ % files.size()].string());
            const double scale = 0.7 + 0.6 * rng.uniform();
            cv::resize(face, face, cv::Size(), scale, scale, cv::INTER_AREA);
            people.push_back(face);
            width += face.cols + 40;
            height = std::max(height, face.rows);
        }
        height += 120;
        cv::Mat photo(height, width, CV_8UC3);
        cv::randu(photo, cv::Scalar(60, 60, 60), cv::Scalar(190, 190, 190));
        cv::GaussianBlur(photo, photo, cv::Size(0, 0), 6);
        int x = 40;
        for (const cv::Mat& face : people) {
            const int y = 30 + static_cast<int>(rng.below(static_cast<std::uint64_t>(height - face.rows - 30 + 1)));
            face.copyTo(photo(cv::Rect(x, y, face.cols, face.rows)));
            placed[g].faces.emplace_back(x, y, face.cols, face.rows);
            x += face.cols + 40;
        }
        char name[32];
        std::snprintf(name, sizeof name, "group-%04zu.jpg", g);
        cv::imwrite((out / name).string(), photo, {cv::IMWRITE_JPEG_QUALITY, 92});
    }
    size_t facesPlaced = 0;
    for (const auto& p : placed)
        facesPlaced += p.faces.size();
    std::vector<size_t> hits(n, 0), extra(n, 0);
    const auto start = Clock::now();
    parallelFor(n, 0, [&](size_t g) {
        char name[32];
        std::snprintf(name, sizeof name, "group-%04zu.jpg", g);
        cv::Mat rgb;
        double scale = 1;
        std::string problem;
        if (!decodeRgb(readFile(out / name), 0, rgb, scale, problem))
            return;
        std::vector<char> matched(placed[g].faces.size(), 0);
        for (const FaceFinding& f : facesInOriginal(rgb, scale)) {
            const cv::Point2f centre((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2);
            bool hit = false;
            for (size_t p = 0; p < matched.size(); ++p)
                if (!matched[p] && placed[g].faces[p].contains(cv::Point(centre))) {
                    matched[p] = 1;
                    hit = true;
                    break;
                }
            (hit ? hits[g] : extra[g])++;
        }
    });
    const double s = seconds(start);
    size_t found = 0, spurious = 0;
    for (size_t g = 0; g < n; ++g) {
        found += hits[g];
        spurious += extra[g];
    }
    std::printf("%zu group photos of %zu faces (2-5 each) written to %s\n", n, facesPlaced, out.string().c_str());
    std::printf("faces found: %zu of %zu placed (%.1f%%), %zu found where none was placed\n", found, facesPlaced,
                100.0 * found / facesPlaced, spurious);
    std::printf("detection and landmarks on %d threads: %.1f s, %.1f photos/s, %.1f faces/s\n", resolveThreadCount(0),
                s, n / s, found / s);
    return 0;
}

/** The step preview's time on the sample with a warm findings cache (what the Dataset page waits for). */
int previewTime(int runs)
{
    PrepareParams params;
    params.source = "utkface:" + (test::sharedData() / "utkface/images").string();
    const auto started = Clock::now();
    const LoadedDataset dataset = openSource(params.source);
    std::vector<ImageProbe> probes(dataset.records.size());
    parallelFor(
        probes.size(), 0, [&](size_t i) { probes[i] = probeImage(dataset.records[i].path); }, 64);
    std::printf("read and probed %zu records: %.2f s\n", probes.size(), seconds(started));
    const auto detectStart = Clock::now();
    const StepPreview detected = previewSteps(dataset, probes, params, FindFaces::Detect);
    std::printf("with the detector (cache filled): %.1f s, %zu pictures needed findings\n", seconds(detectStart),
                detected.needDetection);
    std::vector<double> times;
    StepPreview warm;
    for (int r = 0; r < runs; ++r) {
        const auto t = Clock::now();
        warm = previewSteps(dataset, probes, params);
        times.push_back(seconds(t));
    }
    std::printf("warm cache: median %.1f ms over %d runs (not looked at: %zu)\n", 1000 * median(times), runs,
                warm.notLooked);
    for (const auto& s : warm.steps)
        std::printf("  %-28s removed %6zu remaining %6zu\n", s.name.c_str(), s.removed, s.remaining);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        if (argc >= 2 && std::strcmp(argv[1], "--preview") == 0)
            return previewTime(argc >= 3 ? std::stoi(argv[2]) : 5);
        const auto files = sampleFiles();
        if (argc >= 2 && std::strcmp(argv[1], "--template") == 0)
            return meanTemplate(files, argc >= 3 ? std::stoul(argv[2]) : files.size());
        if (argc >= 3 && std::strcmp(argv[1], "--groups") == 0)
            return groups(files, argv[2], argc >= 4 ? std::stoul(argv[3]) : 200);
        if (argc >= 3 && std::strcmp(argv[1], "--reframe") == 0)
            return reframe(files, argv[2]);
        return rateAndSpeed(files, argc >= 2 ? std::stoul(argv[1]) : 1000);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "faceatlas_bench_align: %s\n", e.what());
        return 1;
    }
}
