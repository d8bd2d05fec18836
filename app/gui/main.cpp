// faceatlas: the desktop application.
#include "MainWindow.h"
#include "ml/Runtime.h"
#include "Session.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>
#include <QSettings>

int main(int argc, char** argv)
{
    faceatlas::configureAllocator();
    QApplication app(argc, argv);
    QApplication::setOrganizationName("FaceAtlas");
    QApplication::setApplicationName("FaceAtlas");
    QApplication::setApplicationVersion(FACEATLAS_VERSION);
    QCommandLineParser parser;
    parser.setApplicationDescription("Explore face-image datasets with deep learning.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption demo("demo", "Open the built-in demo dataset.");
    QCommandLineOption tour("tour", "Walk every page on the demo and save screenshots into DIR, then quit.", "DIR");
    QCommandLineOption workspace("workspace", "Workspace folder for prepared data, runs and clusters.", "DIR");
    parser.addOptions({demo, tour, workspace});
    parser.process(app);
    faceatlas::configureTorchThreads();

    faceatlas::ui::MainWindow window;
    if (parser.isSet(workspace))
        window.session()->setWorkspace(parser.value(workspace));
    window.show();
    if (parser.isSet(tour))
        window.startTour(parser.value(tour));
    else if (parser.isSet(demo))
        window.openPath("demo");
    else if (!QSettings().contains("source")) {
        // First start with nothing open: offer the demo.
        const auto answer =
            QMessageBox::question(&window, QObject::tr("Welcome to FaceAtlas"),
                                  QObject::tr("No dataset is open yet. Open the built-in demo faces to try "
                                              "every page? (File > Open takes IMDB-WIKI, UTKFace, a CSV or "
                                              "a folder.)"));
        if (answer == QMessageBox::Yes)
            window.openPath("demo");
    }
    return QApplication::exec();
}
