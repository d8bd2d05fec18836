// The Dataset page's face panel: the picture, the stored face, the details and the Grad-CAM of one face.
#include "FacePanel.h"

#include "data/FaceQuality.h"
#include "data/Record.h"

#include <cmath>
#include <QImage>
#include <QLabel>
#include <QPixmap>
#include <QStringList>
#include <QVBoxLayout>

namespace faceatlas::ui {

FacePanel::FacePanel(QWidget* parent)
    : QWidget(parent)
{
    m_faceImage = new QLabel;
    m_faceImage->setMinimumSize(200, 200);
    m_faceImage->setAlignment(Qt::AlignCenter);
    m_faceCrop = new QLabel;
    m_faceCrop->setObjectName("faceCrop");
    m_faceCrop->setAlignment(Qt::AlignCenter);
    m_faceInfo = new QLabel(tr("Click a face to see it here."));
    m_faceInfo->setObjectName("faceInfo");
    m_faceInfo->setWordWrap(true);
    m_faceInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_faceOverlay = new QLabel;
    m_faceOverlay->setAlignment(Qt::AlignCenter);
    m_overlayCaption = new QLabel;
    m_overlayCaption->setObjectName("overlayCaption");
    m_overlayCaption->setWordWrap(true);
    auto* right = new QVBoxLayout;
    right->addWidget(m_faceImage);
    right->addWidget(m_faceCrop);
    right->addWidget(m_faceInfo);
    right->addWidget(m_faceOverlay);
    right->addWidget(m_overlayCaption);
    right->addStretch();
    setLayout(right);
}

void FacePanel::clear()
{
    m_faceImage->clear();
    m_faceCrop->clear();
    m_faceOverlay->clear();
    m_faceOverlay->setToolTip({});
    m_overlayCaption->clear();
    m_faceInfo->setText(tr("Click a face to see it here."));
}

void FacePanel::showStoredFace(const QImage& stored)
{
    m_overlayCaption->clear();
    m_faceOverlay->clear();
    m_faceOverlay->setToolTip({});
    const QPixmap face = QPixmap::fromImage(stored);
    m_faceImage->setPixmap(face.scaled(220, 220, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    m_faceImage->setToolTip(tr("The stored face, as the models see it"));
    m_faceCrop->setPixmap(face.scaled(96, 96, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    m_faceCrop->setToolTip(tr("The stored face, as the models see it"));
}

void FacePanel::showPicture(const QImage& picture, bool aligned)
{
    m_faceImage->setPixmap(QPixmap::fromImage(picture));
    m_faceImage->setToolTip(aligned ? tr("The picture, with the 68 landmarks the face was aligned by (green); "
                                         "the stored face is below")
                                    : tr("The picture; the stored face is below"));
}

void FacePanel::showDetails(const FaceDetails& face)
{
    const Record& r = *face.record;
    const qint64 row = face.row;
    QString info = tr("<b>Face %1</b><br>%2<br>").arg(row).arg(QString::fromStdString(r.path).toHtmlEscaped());
    info += tr("Age: %1<br>Gender: %2<br>")
                .arg(r.age ? QString::number(*r.age) : tr("unknown"),
                     r.gender == Gender::Unknown ? tr("unknown") : QString::fromUtf8(genderName(r.gender)));
    if (!std::isnan(r.faceScore))
        info += tr("Face score: %1<br>").arg(r.faceScore);
    if (r.facesFound == 0)
        info += tr("No face found: centre-cropped<br>");
    else if (r.facesFound > 0)
        info += (r.faceIndex >= 0   ? tr("Aligned: face %1 of %2 in the picture").arg(r.faceIndex + 1).arg(r.facesFound)
                 : r.facesFound > 1 ? tr("Aligned: the best of %1 faces in the picture").arg(r.facesFound)
                                    : tr("Aligned"))
                + tr(" (turned %1°, yaw about %2°)<br>")
                      .arg(std::lround(r.roll)) // whole degrees, never "-0"
                      .arg(std::lround(r.yaw));
    info += face.validation ? tr("Validation set") : tr("Training set");
    if (!face.predictedAge.isEmpty())
        info += tr("<br>Predicted age: %1").arg(face.predictedAge.toHtmlEscaped());
    const QVariant& cluster = face.cluster;
    if (cluster.isValid() && cluster.toInt() >= 0)
        info += tr("<br>Cluster %1").arg(face.clusterTitle.toHtmlEscaped());
    else if (cluster.isValid())
        info += tr("<br>In no cluster (only a selection was clustered)");
    // The quality columns measured on the stored face at Prepare, when the preparation has them.
    if (const FaceQuality* quality = face.quality; quality && static_cast<size_t>(row) < quality->rows) {
        QStringList parts;
        for (size_t k = 0; k < quality->names.size(); ++k)
            parts << tr("%1 %2")
                         .arg(QString::fromStdString(quality->names[k]))
                         .arg(quality->at(static_cast<size_t>(row), k), 0, 'f', 1);
        info += tr("<br>Quality: %1").arg(parts.join(QStringLiteral(", ")));
    }
    m_faceInfo->setText(info);
}

void FacePanel::appendDetails(const QString& html)
{
    m_faceInfo->setText(m_faceInfo->text() + html);
}

void FacePanel::showMessage(const QString& text)
{
    m_faceInfo->setText(text);
}

void FacePanel::showOverlay(const QImage& overlay, const QString& caption)
{
    m_faceOverlay->setPixmap(QPixmap::fromImage(overlay));
    m_overlayCaption->setText(caption);
    m_faceOverlay->setToolTip(caption);
}

void FacePanel::clearOverlay()
{
    m_faceOverlay->clear();
}

} // namespace faceatlas::ui
