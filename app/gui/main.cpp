// faceatlas: the desktop application.
#include "data/ImageCache.h"
#include "GuardedApplication.h"
#include "MainWindow.h"
#include "ml/Runtime.h"
#include "Session.h"
#include "StallProbe.h"
#include "Tour.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QMessageBox>
#include <QPainter>
#include <QSettings>
#include <QSvgRenderer>

#include <cstdio>
#include <cstring>
#include <memory>

namespace {

/** The id of the desktop entry, the icon and the AppStream metainfo (packaging/). */
constexpr const char* kAppId = "io.github.faceatlas.FaceAtlas";

/** The installed theme icon; when running from a build tree, the same SVG built into the program. */
QIcon applicationIcon()
{
    QIcon icon = QIcon::fromTheme(QString::fromLatin1(kAppId));
    if (!icon.isNull())
        return icon;
    QSvgRenderer svg(QStringLiteral(":/faceatlas/icon.svg"));
    for (const int size : {16, 32, 48, 64, 128, 256}) {
        QPixmap pixmap(size, size);
        pixmap.fill(Qt::transparent);
        QPainter painter(&pixmap);
        painter.setRenderHint(QPainter::Antialiasing);
        svg.render(&painter);
        painter.end();
        icon.addPixmap(pixmap);
    }
    return icon;
}

/** --version and --help print text and need no display, so they run without a window system. */
bool printsTextOnly(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i)
        for (const char* option : {"--version", "-v", "--help", "-h", "--help-all", "-?"})
            if (std::strcmp(argv[i], option) == 0)
                return true;
    return false;
}

} // namespace

int main(int argc, char** argv)
{
    faceatlas::configureAllocator();
    std::unique_ptr<QCoreApplication> app;
    if (printsTextOnly(argc, argv))
        app = std::make_unique<QCoreApplication>(argc, argv);
    else
        app = std::make_unique<faceatlas::ui::GuardedApplication>(argc, argv);
    QCoreApplication::setOrganizationName("FaceAtlas");
    QCoreApplication::setApplicationName("FaceAtlas");
    QCoreApplication::setApplicationVersion(
        QStringLiteral(FACEATLAS_VERSION ", %1").arg(QString::fromStdString(faceatlas::torchDescription())));
    QCommandLineParser parser;
    parser.setApplicationDescription("Explore face-image datasets with deep learning.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption demo("demo", "Open the built-in demo dataset.");
    QCommandLineOption tour("tour", "Walk every page on the demo and save screenshots into DIR, then quit.", "DIR");
    QCommandLineOption workspace("workspace", "Workspace folder for prepared data, runs and clusters.", "DIR");
    QCommandLineOption probe("probe",
                             "Measure how late the window answers (a 20 ms timer) and print the 99th percentile and "
                             "the maximum when it closes (also with FACEATLAS_STALL_PROBE=1).");
    QCommandLineOption threads("threads", "Threads for LibTorch (default: every core; OpenBLAS runs single-threaded).",
                               "N", "0");
    parser.addOptions({demo, tour, workspace, threads, probe});
    parser.process(*app);
    // The compute budget, set once before any worker starts; no worker changes it afterwards.
    bool threadsOk = false;
    const int threadCount = parser.value(threads).toInt(&threadsOk);
    if (!threadsOk || threadCount < 0) {
        std::fprintf(stderr, "faceatlas: --threads takes a number of threads (0: every core)\n");
        return 2;
    }
    faceatlas::configureTorchThreads(threadCount);
    faceatlas::configureOpenCvThreads();

    QGuiApplication::setDesktopFileName(QString::fromLatin1(kAppId));
    QApplication::setWindowIcon(applicationIcon());
    faceatlas::ui::MainWindow window;
    if (parser.isSet(workspace))
        window.session()->setWorkspace(parser.value(workspace));
    window.show();
    Tour walk(window, parser.value(tour));
    if (parser.isSet(probe))
        window.stallProbe()->start();
    if (parser.isSet(tour))
        walk.start();
    else if (parser.isSet(demo))
        window.openPath("demo");
    else if (!QSettings().contains("source") && !window.session()->dataset()) {
        // First start with nothing open: offer the demo.
        const auto answer =
            QMessageBox::question(&window, QObject::tr("Welcome to FaceAtlas"),
                                  QObject::tr("No dataset is open yet. Open the built-in demo faces to try "
                                              "every page? (File > Open takes IMDB-WIKI, UTKFace, a CSV or "
                                              "a folder.)"));
        if (answer == QMessageBox::Yes)
            window.openPath("demo");
    }
    const int status = QApplication::exec();
    if (const auto* stalls = window.stallProbe(); stalls->taken() > 0 && !parser.isSet(tour))
        std::printf("faceatlas: the window answered late by p99 %.1f ms, max %.0f ms, over %llu samples\n",
                    stalls->p99(), stalls->max(), static_cast<unsigned long long>(stalls->taken()));
    return status;
}
