// faceatlas: the desktop application.
#include "MainWindow.h"
#include "ml/Runtime.h"
#include "Session.h"

#include <QApplication>
#include <QCommandLineParser>

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
    return QApplication::exec();
}
