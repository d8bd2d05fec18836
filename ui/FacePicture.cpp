#include "FacePicture.h"

#include "data/FaceAlign.h"
#include "data/PreparedDataset.h"

#include <cmath>
#include <QImageIOHandler>
#include <QImageReader>
#include <QPainter>

namespace faceatlas::ui {

std::vector<float> faceLandmarks(const PreparedDataset& data, size_t row)
{
    const float* points = data.landmarks(row);
    return points ? std::vector<float>(points, points + 2 * kLandmarkPoints) : std::vector<float>();
}

QImage pictureWithFace(const QString& path, const std::vector<float>& landmarks, int side)
{
    QImageReader reader(path);
    reader.setAutoTransform(true); // upright, as the detector decoded it (EXIF orientation)
    const QSize stored = reader.size();
    if (!stored.isValid() || static_cast<qint64>(stored.width()) * stored.height() > 50'000'000)
        return {};
    reader.setScaledSize(stored.scaled(side, side, Qt::KeepAspectRatio));
    QImage image = reader.read();
    if (image.isNull())
        return {};
    const bool turned = reader.transformation() & QImageIOHandler::TransformationRotate90;
    const double scale = image.width() / static_cast<double>(turned ? stored.height() : stored.width());
    image = image.convertToFormat(QImage::Format_RGB32);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    if (landmarks.size() == 2 * kLandmarkPoints) {
        painter.setPen(Qt::NoPen);
        painter.setBrush(QColor(0, 230, 90));
        const double dot = std::max(1.2, side / 150.0);
        for (int i = 0; i < kLandmarkPoints; ++i) // pixel centres: (x + 0.5) * scale - 0.5
            painter.drawEllipse(
                QPointF((landmarks[2 * i] + 0.5) * scale - 0.5, (landmarks[2 * i + 1] + 0.5) * scale - 0.5), dot, dot);
    }
    return image;
}

} // namespace faceatlas::ui
