#pragma once

#include <QString>
#include <QVariant>
#include <QWidget>

class QImage;
class QLabel;

namespace faceatlas {
struct FaceQuality;
struct Record;
} // namespace faceatlas

namespace faceatlas::ui {

/** What the face panel says about one face, gathered by the Dataset page from the session and the grid. */
struct FaceDetails {
    qint64 row = -1;                      // the face's row in the open dataset
    const Record* record = nullptr;       // its record (never null when shown)
    bool validation = false;              // in the validation set, else in the training set
    QString predictedAge;                 // the session's predicted age ("" before predicting)
    QVariant cluster;                     // the grid's cluster: invalid when none was made, -1 in none
    QString clusterTitle;                 // the cluster's title (number and name) when it is in one
    const FaceQuality* quality = nullptr; // the preparation's quality columns, when it has them
};

/**
 * The Dataset page's face panel: one face's picture (with the landmarks it was aligned by), the stored
 * face under it, what is known about it, and the latest age model's Grad-CAM over it. It only shows:
 * the page reads what it shows (on the interactive lane) and hands it over.
 */
class FacePanel : public QWidget {
    Q_OBJECT
public:
    explicit FacePanel(QWidget* parent = nullptr);
    /** No face: no picture, no overlay, and the invitation to click one. */
    void clear();
    /** A new face: its stored face (what the models see) in the picture's place and under it, no overlay yet. */
    void showStoredFace(const QImage& stored);
    /** The face's picture, decoded on the lane, in place of the stored face; `aligned`: its landmarks are drawn. */
    void showPicture(const QImage& picture, bool aligned);
    /** What is known about the face: its file, labels, framing, split, prediction, cluster and quality. */
    void showDetails(const FaceDetails& face);
    /** Adds to what showDetails shows (the source's further columns, read on the lane). */
    void appendDetails(const QString& html);
    /** A message where the details go (why ages cannot be predicted). */
    void showMessage(const QString& text);
    /** The latest age model's Grad-CAM over the face, with its caption (also its tooltip). */
    void showOverlay(const QImage& overlay, const QString& caption);
    /** No Grad-CAM overlay (an unreadable run). */
    void clearOverlay();

private:
    QLabel* m_faceImage;
    QLabel* m_faceCrop; // the stored face, under the picture
    QLabel* m_faceInfo;
    QLabel* m_faceOverlay;
    QLabel* m_overlayCaption;
};

} // namespace faceatlas::ui
