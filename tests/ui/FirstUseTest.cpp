// What a new user meets first (issue 26), on a virtual 1366x768 laptop screen: every page fits
// 1280x720, a geometry saved on a larger screen comes back inside this one with the controls a job
// needs (the status bar, Cancel, the match count) inside the window; the cleaning steps shown in
// full, problems summed up in one line; the face-score default of the command line.
#include "data/Cleaning.h"
#include "DatasetPage.h"
#include "GuardedApplication.h"
#include "JobRunner.h"
#include "MainWindow.h"
#include "ScreenFit.h"
#include "Session.h"
#include "WaitForJob.h"

#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using faceatlas::ui::MainWindow;

namespace {

QTemporaryDir& scratch()
{
    static QTemporaryDir dir;
    return dir;
}

/** The part of `widget` that the window shows, in the window's coordinates. */
QRect rectInWindow(const QWidget* widget, const QWidget* window)
{
    return QRect(widget->mapTo(window, QPoint(0, 0)), widget->size());
}

} // namespace

class FirstUseTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    /** Waits for the running job to end; true when it ended well. */
    static bool waitForJob(MainWindow& window, int seconds = 240)
    {
        return faceatlas::test::waitForJob(window, seconds);
    }

    /** Each page's key controls inside the window: the status bar, Cancel and (Dataset) the match count. */
    static void checkControlsInside(MainWindow& window)
    {
        const QRect inside = window.rect();
        auto* cancel = window.findChild<QPushButton*>("cancelJob");
        QVERIFY(cancel);
        cancel->show(); // as while a job runs
        for (int page = 0; page <= MainWindow::SlicesIndex; ++page) {
            window.showPage(page);
            QCoreApplication::processEvents();
            const QString where =
                QStringLiteral("page %1, window %2x%3").arg(page).arg(window.width()).arg(window.height());
            QVERIFY2(inside.contains(rectInWindow(window.statusBar(), &window)), qPrintable(where));
            QVERIFY2(inside.contains(rectInWindow(cancel, &window)), qPrintable(where));
        }
        window.showPage(MainWindow::DatasetIndex);
        QCoreApplication::processEvents();
        auto* match = window.datasetPage()->findChild<QLabel*>("matchCount");
        QVERIFY(match);
        QVERIFY2(inside.contains(rectInWindow(match, &window)),
                 qPrintable(QStringLiteral("match count at %1,%2 in %3x%4")
                                .arg(rectInWindow(match, &window).x())
                                .arg(rectInWindow(match, &window).bottom())
                                .arg(window.width())
                                .arg(window.height())));
        cancel->hide();
    }

    /** With FACEATLAS_SHOTS set (a folder), saves what the window shows, to look at. */
    static void shot(MainWindow& window, const char* name)
    {
        const QString dir = qEnvironmentVariable("FACEATLAS_SHOTS");
        if (!dir.isEmpty())
            window.grab().save(QDir(dir).filePath(QString::fromLatin1(name)));
    }

    /** A window that opens nothing remembered (each test opens what it needs). */
    std::unique_ptr<MainWindow> freshWindow()
    {
        QSettings().remove("prepared");
        QSettings().remove("source");
        auto window = std::make_unique<MainWindow>();
        window->setConfirmClose(false);
        window->session()->setWorkspace(m_dir.filePath("workspace"));
        window->show();
        return window;
    }

    /** Every header and number whole, every name within its row. */
    static void checkStepNamesFit(QTableWidget* steps)
    {
        const QFontMetrics metrics(steps->font());
        for (int column = 0; column < 3; ++column) {
            const QString header = steps->horizontalHeaderItem(column)->text();
            QVERIFY2(steps->columnWidth(column) > metrics.horizontalAdvance(header), qPrintable(header));
        }
        for (int row = 0; row < steps->rowCount(); ++row) {
            const QString name = steps->item(row, 0)->text();
            const QRect needed =
                metrics.boundingRect(QRect(0, 0, steps->columnWidth(0) - 8, 1000), Qt::TextWordWrap, name);
            QVERIFY2(needed.height() <= steps->rowHeight(row),
                     qPrintable(QStringLiteral("%1: %2 px high in a column of %3 px, row of %4 px")
                                    .arg(name)
                                    .arg(needed.height())
                                    .arg(steps->columnWidth(0))
                                    .arg(steps->rowHeight(row))));
            QVERIFY2(steps->columnWidth(2) > metrics.horizontalAdvance(steps->item(row, 2)->text()),
                     qPrintable(steps->item(row, 2)->text()));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        qputenv("FACEATLAS_CACHE_DIR", m_dir.filePath("cache").toLocal8Bit());
        QCoreApplication::setOrganizationName("FaceAtlasTest");
        QCoreApplication::setApplicationName("FaceAtlasFirstUseTest");
        QSettings().clear();
        QCOMPARE(QGuiApplication::primaryScreen()->geometry().size(), QSize(1366, 768));
    }

    void theClampKeepsAWindowInsideTheScreenItOpensOn()
    {
        using faceatlas::ui::fitToScreen;
        const QRect laptop(0, 0, 1366, 728); // 1366x768 less a 40 px panel
        const QMargins frame(4, 30, 4, 4);
        const QSize minimum(1100, 640);
        // Saved on a 1600x1000 screen: shrunk and moved so that its frame lies on the screen.
        QRect fitted = fitToScreen(QRect(60, 40, 1500, 950), frame, laptop, minimum);
        QVERIFY(laptop.contains(fitted.marginsAdded(frame)));
        QCOMPARE(fitted.size(), QSize(1366 - 8, 728 - 34));
        // Already inside: left as it was.
        QCOMPARE(fitToScreen(QRect(100, 40, 1200, 660), frame, laptop, minimum), QRect(100, 40, 1200, 660));
        // Off the screen's right edge (a second monitor gone): brought back, size kept.
        fitted = fitToScreen(QRect(1900, 200, 1200, 660), frame, laptop, minimum);
        QVERIFY(laptop.contains(fitted.marginsAdded(frame)));
        QCOMPARE(fitted.size(), QSize(1200, 660));
        // A screen smaller than the minimum: the minimum, at the screen's top left.
        fitted = fitToScreen(QRect(0, 0, 1500, 950), frame, QRect(0, 0, 1024, 600), minimum);
        QCOMPARE(fitted.size(), minimum);
        QCOMPARE(fitted.topLeft(), QPoint(4, 30));
    }

    void everyPageFitsA1280x720Screen()
    {
        MainWindow window;
        window.setConfirmClose(false);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QStringList tooLarge;
        for (int page = 0; page <= MainWindow::SlicesIndex; ++page) {
            window.showPage(page);
            QCoreApplication::processEvents();
            // The page's own minimum (the window's is the largest of them all: the pages share a stack).
            const QWidget* shown =
                qobject_cast<QScrollArea*>(window.findChild<QStackedWidget*>()->widget(page))->widget();
            qInfo("page %d (%s) alone: %dx%d", page, shown->metaObject()->className(), shown->minimumSizeHint().width(),
                  shown->minimumSizeHint().height());
            const QSize hint = window.minimumSizeHint(), minimum = window.minimumSize();
            const QString sizes = QStringLiteral("page %1: minimumSizeHint %2x%3, minimumSize %4x%5")
                                      .arg(page)
                                      .arg(hint.width())
                                      .arg(hint.height())
                                      .arg(minimum.width())
                                      .arg(minimum.height());
            qInfo("%s", qPrintable(sizes));
            if (hint.width() > 1280 || hint.height() > 720 || minimum.width() > 1280 || minimum.height() > 720)
                tooLarge << sizes;
        }
        QVERIFY2(tooLarge.isEmpty(), qPrintable(tooLarge.join("; ")));
        // Nor can it be shrunk to where no page shows its controls (a new user's walk found 222 x 200).
        QVERIFY2(
            window.minimumSize().width() >= 960 && window.minimumSize().height() >= 600,
            qPrintable(QStringLiteral("%1x%2").arg(window.minimumSize().width()).arg(window.minimumSize().height())));
    }

    void aGeometrySavedOnALargerScreenComesBackInsideThisOne()
    {
        {
            // As saved on a 1600x1000 screen.
            MainWindow big;
            big.setConfirmClose(false);
            big.setGeometry(40, 30, 1500, 950);
            QSettings().setValue("geometry", big.saveGeometry());
        }
        MainWindow window;
        window.setConfirmClose(false);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const QRect available = window.screen()->availableGeometry();
        const QString where = QStringLiteral("frame %1,%2 %3x%4 on %5x%6")
                                  .arg(window.frameGeometry().x())
                                  .arg(window.frameGeometry().y())
                                  .arg(window.frameGeometry().width())
                                  .arg(window.frameGeometry().height())
                                  .arg(available.width())
                                  .arg(available.height());
        QVERIFY2(available.contains(window.frameGeometry()), qPrintable(where));
        checkControlsInside(window);
        // With a dataset open (the grid, the match count, the step table filled).
        window.session()->setWorkspace(m_dir.filePath("workspace"));
        window.openPath("demo:120");
        QVERIFY(waitForJob(window));
        window.datasetPage()->prepare();
        QVERIFY(waitForJob(window));
        checkControlsInside(window);
    }

    void theStepTableShowsEveryStepInFull()
    {
        const auto owned = freshWindow();
        MainWindow& window = *owned;
        window.openPath("demo:120");
        QVERIFY(waitForJob(window));
        auto* steps = window.datasetPage()->findChild<QTableWidget*>("steps");
        QVERIFY(steps && steps->rowCount() >= 7);
        // Every row inside the table (no scrolling), every header and number whole, every name in its row.
        int rows = 0;
        for (int row = 0; row < steps->rowCount(); ++row)
            rows += steps->rowHeight(row);
        QVERIFY2(steps->viewport()->height() >= rows,
                 qPrintable(QString("%1 < %2").arg(steps->viewport()->height()).arg(rows)));
        checkStepNamesFit(steps);
    }

    void aMatWithoutItsImagesSaysWhereTheyBelong()
    {
        const QString mat = QStringLiteral(FACEATLAS_SHARED_DATA "/imdb-wiki-meta/wiki.mat");
        if (!QFileInfo::exists(mat))
            QSKIP("../shared/data/imdb-wiki-meta/wiki.mat is absent: the real IMDB-WIKI metadata is needed");
        const auto owned = freshWindow();
        MainWindow& window = *owned;
        window.openPath(mat);
        QVERIFY(waitForJob(window));
        faceatlas::ui::DatasetPage* page = window.datasetPage();
        // One line says what is wrong, with how many, and what to do.
        const QString summary = page->problemSummary();
        QVERIFY2(summary.contains("missing"), qPrintable(summary));
        QVERIFY2(summary.contains("None of the images were found next to wiki.mat: keep it inside wiki_crop/"),
                 qPrintable(summary));
        // Only the first problems are listed, then how many more.
        auto* list = page->findChild<QListWidget*>("problems");
        QVERIFY(list->count() <= faceatlas::ui::DatasetPage::kMaxProblemLines + 1);
        QVERIFY2(list->item(list->count() - 1)->text().startsWith("... and "),
                 qPrintable(list->item(list->count() - 1)->text()));
        shot(window, "wiki-mat-without-images.png");
        auto* header = page->findChild<QLabel*>("sourceLabel");
        QVERIFY(header);
        QVERIFY2(header->text().contains("none of their images found"), qPrintable(header->text()));
        // The face-score threshold on IMDB-WIKI's own scale starts at the command line's default.
        QCOMPARE(page->findChild<QDoubleSpinBox*>("minFaceScore")->value(), faceatlas::kDefaultMinFaceScore);
    }

    void aFolderWithoutImagesSaysWhatItHolds()
    {
        const auto owned = freshWindow();
        MainWindow& window = *owned;
        auto* header = window.datasetPage()->findChild<QLabel*>("sourceLabel");
        QTemporaryDir notImages;
        for (const char* name : {"a.jpg", "b.png", "notes.txt"}) {
            QFile file(notImages.filePath(name));
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write("not an image\n");
        }
        window.openPath("folder:" + notImages.path());
        QVERIFY(waitForJob(window));
        shot(window, "folder-of-non-images.png");
        QVERIFY2(header->text().contains("2 files, none of them an image"), qPrintable(header->text()));
        QVERIFY2(window.datasetPage()->problemSummary().contains("2 not an image"),
                 qPrintable(window.datasetPage()->problemSummary()));
        QTemporaryDir noImages;
        QFile text(noImages.filePath("readme.txt"));
        QVERIFY(text.open(QIODevice::WriteOnly));
        text.close();
        window.openPath("folder:" + noImages.path());
        QVERIFY(waitForJob(window));
        QVERIFY2(header->text().contains("no image files in it"), qPrintable(header->text()));
        // UTKFace opened one level too high (the images in a folder below): the header says where they are,
        // the grid does not advise loosening steps, and File > Recent does not keep it.
        QTemporaryDir above;
        QVERIFY(QDir(above.path()).mkpath("images"));
        QImage picture(64, 64, QImage::Format_RGB32);
        picture.fill(Qt::gray);
        for (const char* name : {"images/25_0_0_20170101.jpg", "images/30_1_2_20170102.jpg"})
            QVERIFY(picture.save(QDir(above.path()).filePath(name)));
        const QString spec = "utkface:" + above.path();
        window.openPath(spec);
        QVERIFY(waitForJob(window));
        QVERIFY2(header->text().contains("images/ below it holds 2 images: open that folder"),
                 qPrintable(header->text()));
        QVERIFY(!window.datasetPage()->findChild<QLabel*>("matchCount")->text().contains("loosen"));
        QVERIFY(!QSettings().value("recentSources").toStringList().contains(spec));
    }

    void photosStartWithTheCommandLinesDetectorScoreAndSayWhenItIsCounted()
    {
        const auto owned = freshWindow();
        MainWindow& window = *owned;
        QTemporaryDir photos;
        for (int i = 0; i < 3; ++i) {
            QImage picture(120, 120, QImage::Format_RGB32);
            picture.fill(QColor(40 * i, 120, 200));
            QVERIFY(picture.save(photos.filePath(QStringLiteral("photo%1.png").arg(i))));
        }
        window.openPath("folder:" + photos.path());
        QVERIFY(waitForJob(window));
        faceatlas::ui::DatasetPage* page = window.datasetPage();
        QCOMPARE(page->findChild<QDoubleSpinBox*>("minFaceScore")->value(), faceatlas::kDefaultMinDetectorScore);
        shot(window, "photos-before-prepare.png");
        // Before any detection nothing is known of the detector's steps: the table says how many photos
        // were not looked at, and such a step removes "?", instead of "0 removed".
        auto* steps = page->findChild<QTableWidget*>("steps");
        bool found = false;
        for (int row = 0; row < steps->rowCount(); ++row)
            if (steps->item(row, 0)->text().startsWith("face score below threshold")) {
                found = true;
                QCOMPARE(steps->item(row, 1)->text(), QStringLiteral("?"));
            }
        QVERIFY(found);
        const auto* note = page->findChild<QLabel*>("previewNote");
        QVERIFY2(note->isVisibleTo(page) && note->text().startsWith("None of the 3 photos looked at yet"),
                 qPrintable(note->text()));
        QVERIFY(page->findChild<QPushButton*>("detectNow")->isVisibleTo(page));
        checkStepNamesFit(steps);
        // The demo has face scores of its own: the other scale, with its own default.
        window.openPath("demo:120");
        QVERIFY2(waitForJob(window), qPrintable(page->findChild<QLabel*>("sourceLabel")->text()));
        QCOMPARE(page->findChild<QDoubleSpinBox*>("minFaceScore")->value(), faceatlas::kDefaultMinFaceScore);
    }

    void cleanupTestCase() { QSettings().clear(); }
};

int main(int argc, char** argv)
{
    // A virtual laptop screen: the offscreen platform with one 1366x768 screen.
    QTemporaryDir& dir = scratch();
    const QString config = dir.filePath("screen.json");
    QFile file(config);
    if (!file.open(QIODevice::WriteOnly))
        return 2;
    file.write(R"({"windowFrameMargins": false, "screens": [{"name": "laptop", "x": 0, "y": 0,
               "width": 1366, "height": 768, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]})");
    file.close();
    qputenv("QT_QPA_PLATFORM", ("offscreen:configfile=" + config).toLocal8Bit());
    qputenv("XDG_CONFIG_HOME", dir.filePath("config").toLocal8Bit());
    faceatlas::ui::GuardedApplication app(argc, argv);
    faceatlas::ui::GuardedApplication::setShowMessages(false);
    FirstUseTest test;
    return QTest::qExec(&test, argc, argv);
}
#include "FirstUseTest.moc"
