// The Dataset page's framing groups and face panel pieces, on real faces (skipped, saying why,
// without ../shared/data or Debian's landmark model): the faces the detector aligned and those it
// did not find are one choice away, and the panel draws the landmarks the face was aligned by.
#include "data/FaceAlign.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "FacePicture.h"
#include "ThumbnailModel.h"

#include <algorithm>
#include <filesystem>
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

using namespace faceatlas;
using namespace faceatlas::ui;
namespace fs = std::filesystem;

class FacePanelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void framingGroupsAndLandmarks();
};

void FacePanelTest::framingGroupsAndLandmarks()
{
    const fs::path faces = fs::path(FACEATLAS_SHARED_DATA) / "utkface" / "images";
    if (!fs::is_directory(faces))
        QSKIP("../shared/data/utkface/images is absent: these tests need real faces");
    if (!fs::is_regular_file(landmarkModelPath()))
        QSKIP("the landmark model is absent (Debian's libdlib-data installs it)");
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    fs::create_directories(dir / "photos");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(faces))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (size_t i = 0; i < 4; ++i)
        fs::copy_file(files[i * 97], dir / "photos" / files[i * 97].filename());
    // A picture with no face: grey, large enough for the size step.
    QImage grey(160, 160, QImage::Format_RGB32);
    grey.fill(QColor(120, 120, 120));
    QVERIFY(grey.save(QString::fromStdString((dir / "photos" / "wall.jpg").string())));

    PrepareParams params;
    params.source = "folder:" + (dir / "photos").string();
    params.outDir = dir / "prepared";
    params.size = 32;
    params.cleaning.filterFaceScore = false; // keep the picture with no face: centre-cropped
    params.cleaning.valCount = 1;
    params.cleaning.balanceAges = false;
    PrepareJob(params).run();
    const auto data = std::make_shared<const PreparedDataset>(PreparedDataset::open(params.outDir));
    QCOMPARE(data->count(), size_t(5));

    ThumbnailModel model;
    model.setDataset(data);
    FaceFilter filter;
    filter.setSourceModel(&model);
    QCOMPARE(filter.rowCount(), 5);
    filter.setFraming(FaceFilter::Framing::NotFound);
    QCOMPARE(filter.rowCount(), 1);
    const int wall = filter.mapToSource(filter.index(0, 0)).row();
    QCOMPARE(fs::path(data->records()[static_cast<size_t>(wall)].path).filename().string(), std::string("wall.jpg"));
    filter.setFraming(FaceFilter::Framing::Aligned);
    QCOMPARE(filter.rowCount(), 4);
    filter.setFraming(FaceFilter::Framing::Several);
    QCOMPARE(filter.rowCount(), 0);

    const int found = wall == 0 ? 1 : 0;
    QVERIFY(faceLandmarks(*data, static_cast<size_t>(wall)).empty());
    const std::vector<float> points = faceLandmarks(*data, static_cast<size_t>(found));
    QCOMPARE(points.size(), size_t(136));
    const QImage picture =
        pictureWithFace(QString::fromStdString(data->records()[static_cast<size_t>(found)].path), points, 220);
    QCOMPARE(std::max(picture.width(), picture.height()), 220);
    // The landmarks are drawn in green, inside the picture: the pixels that differ from the picture
    // drawn without them are green, and there are dots' worth of them.
    const QImage plain =
        pictureWithFace(QString::fromStdString(data->records()[static_cast<size_t>(found)].path), {}, 220)
            .convertToFormat(picture.format());
    QCOMPARE(plain.size(), picture.size());
    int changed = 0, green = 0;
    for (int y = 0; y < picture.height(); ++y)
        for (int x = 0; x < picture.width(); ++x) {
            if (picture.pixel(x, y) == plain.pixel(x, y))
                continue;
            ++changed;
            const QColor c = picture.pixelColor(x, y);
            green += c.green() > c.red() + 40 && c.green() > c.blue() + 40;
        }
    QVERIFY2(green >= 68 && green * 2 >= changed, // a dot's antialiased rim blends with the picture
             qPrintable(QString("%1 of %2 changed pixels green").arg(green).arg(changed)));

    // A landmarks file of the wrong size is not read at all; the open dataset keeps what it mapped.
    fs::resize_file(params.outDir / PreparedDataset::kLandmarks, 100);
    QCOMPARE(faceLandmarks(*data, static_cast<size_t>(found)).size(), size_t(136));
    QVERIFY(faceLandmarks(PreparedDataset::open(params.outDir), static_cast<size_t>(found)).empty());
    QVERIFY(pictureWithFace(QString::fromStdString((dir / "missing.jpg").string()), {}, 220).isNull());
}

QTEST_MAIN(FacePanelTest)
#include "FacePanelTest.moc"
