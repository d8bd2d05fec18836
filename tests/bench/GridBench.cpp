// The Dataset page's face grid (the same model, filter and view settings) on a large prepared
// dataset, 200,000 faces by default: time to show the first page and to lay out every cell, the
// longest the event loop is blocked meanwhile, the time to paint a page while scrolling (page by
// page, and by jumps), filtering and sorting, and the memory it takes. The faces are the demo's,
// repeated to the size asked for, in a folder under the temporary directory that later runs reuse.
// Usage: faceatlas_bench_grid [FACES]
#include "BenchSupport.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/RecordCache.h"
#include "ThumbnailModel.h"
#include "util/FileUtil.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <QApplication>
#include <QListView>
#include <QScrollBar>
#include <random>

using namespace faceatlas;
using namespace faceatlas::bench;
namespace fs = std::filesystem;

namespace {

/** A prepared dataset of `count` faces: the demo's 2,000 at 64 px, repeated. */
fs::path bigDataset(size_t count)
{
    const fs::path root = fs::temp_directory_path() / "faceatlas-grid-bench";
    const fs::path big = root / ("faces-" + std::to_string(count));
    if (fs::exists(big / PreparedDataset::kManifest))
        return big;
    PrepareParams prep;
    prep.source = "demo:2000";
    prep.outDir = root / "demo";
    PrepareJob(prep).run();
    const PreparedDataset small = PreparedDataset::open(prep.outDir);
    fs::create_directories(big);
    std::vector<Record> records;
    records.reserve(count);
    {
        std::ofstream images(big / PreparedDataset::kImages, std::ios::binary | std::ios::trunc);
        for (size_t i = 0; i < count; ++i) {
            const size_t from = i % small.count();
            records.push_back(small.records()[from]);
            images.write(reinterpret_cast<const char*>(small.image(from)),
                         static_cast<std::streamsize>(small.imageBytes()));
        }
        if (!images)
            throw std::runtime_error("cannot write " + (big / PreparedDataset::kImages).string());
    }
    writeFileAtomic(big / PreparedDataset::kRecords, RecordCache::serialize(records));
    std::vector<std::uint32_t> train(count);
    for (size_t i = 0; i < count; ++i)
        train[i] = static_cast<std::uint32_t>(i);
    PreparedDataset::writeSplit(big / PreparedDataset::kSplit, train, {});
    writeFileAtomic(big / PreparedDataset::kManifest, readFile(prep.outDir / PreparedDataset::kManifest));
    return big;
}

struct Percentiles {
    double median, p99, max;
};

Percentiles percentiles(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)], v.back()};
}

/** Runs the event loop until the view's scroll range has not changed for a while; returns the
 * longest single pass of the loop (ms) while it was laying out. */
double settle(QListView& view)
{
    double longest = 0;
    int stable = 0, last = -1;
    while (stable < 20) {
        const auto start = Clock::now();
        QCoreApplication::processEvents();
        longest = std::max(longest, 1000 * seconds(start));
        const int max = view.verticalScrollBar()->maximum();
        stable = max == last ? stable + 1 : 0;
        last = max;
    }
    return longest;
}

/** Paints the grid at each scroll position; milliseconds per position. */
Percentiles paintAt(QListView& view, const std::vector<int>& positions)
{
    std::vector<double> ms;
    for (const int position : positions) {
        const auto start = Clock::now();
        view.verticalScrollBar()->setValue(position);
        view.viewport()->repaint();
        ms.push_back(1000 * seconds(start));
    }
    return percentiles(ms);
}

void printScroll(const char* what, const Percentiles& p)
{
    std::printf("  %-34s median %6.2f ms, p99 %6.2f ms, max %6.2f ms per page\n", what, p.median, p.p99, p.max);
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    const auto prepareStart = Clock::now();
    const fs::path dir = bigDataset(count);
    std::printf("FaceAtlas grid benchmark: %zu faces of 64 x 64 (%s, ready in %.1f s)\n", count, dir.c_str(),
                seconds(prepareStart));

    const long rssBefore = usage().ru_maxrss;
    auto start = Clock::now();
    const auto data = std::make_shared<const PreparedDataset>(PreparedDataset::open(dir));
    const double openSeconds = seconds(start);
    ui::ThumbnailModel model;
    ui::FaceFilter filter;
    filter.setSourceModel(&model);
    QListView view;
    ui::configureFaceGrid(&view);
    view.setModel(&filter);
    view.resize(1000, 800); // about the grid's size in a 1600 x 1000 window: 11 x 8 cells
    view.show();
    QCoreApplication::processEvents();

    start = Clock::now();
    model.setDataset(data);
    // The first page: as soon as the batched layout has placed the top-left cell.
    while (!view.indexAt(QPoint(20, 20)).isValid())
        QCoreApplication::processEvents();
    view.viewport()->repaint();
    const double firstPage = 1000 * seconds(start);
    const double longestBlock = settle(view);
    const double layout = seconds(start);
    std::printf("open the prepared folder %.0f ms; first page painted %.1f ms after the model is set; every cell "
                "laid out in %.2f s, the event loop never blocked longer than %.1f ms\n",
                1000 * openSeconds, firstPage, layout, longestBlock);

    QScrollBar* bar = view.verticalScrollBar();
    const int pages = 300;
    std::vector<int> down, jumps;
    for (int i = 0; i < pages; ++i)
        down.push_back(std::min(bar->maximum(), i * bar->pageStep()));
    std::mt19937 random(1);
    for (int i = 0; i < pages; ++i)
        jumps.push_back(static_cast<int>(random() % static_cast<unsigned>(bar->maximum() + 1)));
    std::printf("scrolling (%d pages, thumbnails made as rows appear):\n", pages);
    printScroll("page down from the top:", paintAt(view, down));
    printScroll("random jumps:", paintAt(view, jumps));
    printScroll("the same jumps again (cached):", paintAt(view, jumps));

    start = Clock::now();
    filter.setAgeRange(20, 40);
    view.viewport()->repaint();
    const double filterMs = 1000 * seconds(start);
    settle(view);
    const int kept = filter.rowCount();
    start = Clock::now();
    filter.setSortRole(ui::ThumbnailModel::AgeRole, false);
    view.viewport()->repaint();
    const double sortMs = 1000 * seconds(start);
    settle(view);
    start = Clock::now();
    filter.setAgeRange(0, 120);
    filter.setSortRole(0, false);
    view.viewport()->repaint();
    const double resetMs = 1000 * seconds(start);
    settle(view);
    start = Clock::now();
    filter.setSortRole(ui::ThumbnailModel::FaceScoreRole, true);
    view.viewport()->repaint();
    const double sortAllMs = 1000 * seconds(start);
    settle(view);
    std::printf("filter to ages 20-40 (%d faces) %.0f ms; sort them by age %.0f ms; back to all, unsorted %.0f ms; "
                "sort all %zu by face score %.0f ms\n",
                kept, filterMs, sortMs, resetMs, data->count(), sortAllMs);
    std::printf("peak resident memory %.0f MB (%.0f MB before the dataset was opened; the images are %.0f MB, "
                "memory-mapped)\n",
                usage().ru_maxrss / 1024.0, rssBefore / 1024.0,
                static_cast<double>(data->count() * data->imageBytes()) / 1e6);
    return 0;
}
