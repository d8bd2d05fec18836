// The Map page's point view at IMDB-WIKI scale and beyond: 1,000,000 points by default, in
// clusters like a neighbour map's. Prints the time of a full redraw of the points (what every pan
// and zoom step costs) with the whole map in view, zoomed in, and with a selection drawn over the
// rest; the time of a lasso selection over every point; and of finding the point under the cursor.
// Usage: faceatlas_bench_mapview [POINTS] [WIDTH HEIGHT]
#include "MapColoring.h"
#include "PointMapView.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <QApplication>
#include <random>

using namespace faceatlas::ui;

namespace {

using Clock = std::chrono::steady_clock;

/** Median milliseconds of `runs` calls of f. */
template <typename F>
double medianMs(int runs, F&& f)
{
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto start = Clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const long points = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    const int width = argc > 3 ? std::atoi(argv[2]) : 1200, height = argc > 3 ? std::atoi(argv[3]) : 800;
    if (points < 1 || width < 100 || height < 100) {
        std::fprintf(stderr, "usage: faceatlas_bench_mapview [POINTS] [WIDTH HEIGHT]\n");
        return 2;
    }
    // Points in 40 Gaussian clusters of different sizes, coloured by a continuous value.
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> uniform(-10, 10);
    std::vector<float> centres;
    for (int c = 0; c < 40; ++c)
        centres.insert(centres.end(), {uniform(rng), uniform(rng), 0.2f + std::abs(normal(rng))});
    auto xy = std::make_shared<std::vector<float>>();
    xy->reserve(static_cast<size_t>(points) * 2);
    std::vector<QRgb> colors;
    colors.reserve(static_cast<size_t>(points));
    for (long i = 0; i < points; ++i) {
        const int c = static_cast<int>(rng() % 40);
        xy->push_back(centres[3 * c] + centres[3 * c + 2] * normal(rng));
        xy->push_back(centres[3 * c + 1] + centres[3 * c + 2] * normal(rng));
        colors.push_back(viridis((c % 10) / 9.0).rgb());
    }
    PointMapView view;
    view.resize(width, height);
    auto start = Clock::now();
    PointLayout layout = PointMapView::layoutPoints(xy); // once per map, on the lane: bounds and Z-order
    const double lay = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    start = Clock::now();
    view.setPoints(std::move(layout)); // on the GUI thread
    const double load = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    start = Clock::now();
    view.setColors(colors, {}); // once per "Colour by"
    const double colour = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    QImage target(width, height, QImage::Format_RGB32);
    const int runs = 15;
    view.renderPoints(target); // warm the caches (and size the dot from the count in view)
    const double whole = medianMs(runs, [&] { view.renderPoints(target); });
    const qint64 visibleWhole = view.visibleCount();
    const bool densityWhole = view.showingDensity();
    const qint64 peakWhole = view.densityPeak();
    // A lasso around a third of the map: the time to select, then a redraw with the selection on top.
    QPolygonF lasso;
    for (int i = 0; i < 64; ++i) {
        const double a = 2 * M_PI * i / 64;
        lasso << QPointF(width * (0.4 + 0.3 * std::cos(a)), height * (0.5 + 0.35 * std::sin(a)));
    }
    const double select = medianMs(5, [&] { view.selectPolygon(lasso); });
    const qint64 selected = view.selectedCount();
    const double withSelection = medianMs(runs, [&] { view.renderPoints(target); });
    view.clearSelection();
    // Zoomed in 8x about the centre: most points fall outside and are skipped.
    view.zoomBy(8, QPointF(width / 2.0, height / 2.0));
    view.renderPoints(target);
    const double zoomed = medianMs(runs, [&] { view.renderPoints(target); });
    const qint64 visibleZoomed = view.visibleCount();
    const bool densityZoomed = view.showingDensity();
    view.fitAll();
    view.renderPoints(target);
    std::mt19937 cursor(2);
    const double pick = medianMs(1001, [&] {
        volatile qint64 i =
            view.pointAt(QPoint(static_cast<int>(cursor() % width), static_cast<int>(cursor() % height)));
        (void)i;
    });
    std::printf("map view, %ld points, %dx%d px (medians of %d runs)\n", points, width, height, runs);
    std::printf("  a new map: laid out (bounds, Z-order; on the lane) %.0f ms, shown %.1f ms; new colours %.1f ms\n",
                lay, load, colour);
    std::printf("  full redraw, whole map in view (%lld points drawn, %s): %7.1f ms  (aim < 50 ms)\n",
                static_cast<long long>(visibleWhole),
                densityWhole ? qPrintable(QString("density layer, up to %1 on a pixel").arg(peakWhole)) : "dots",
                whole);
    std::printf("  full redraw with a selection of %lld drawn over the rest: %7.1f ms\n",
                static_cast<long long>(selected), withSelection);
    std::printf("  full redraw zoomed in 8x (%lld points in view, %s):           %7.1f ms\n",
                static_cast<long long>(visibleZoomed), densityZoomed ? "density layer" : "dots", zoomed);
    std::printf("  lasso selection over every point (64-sided):              %7.1f ms\n", select);
    std::printf("  the point under the cursor:                               %7.2f us\n", pick * 1000);
    return 0;
}
