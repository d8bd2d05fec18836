#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <QWidget>
#include <vector>

class QComboBox;
class QLabel;
class QListWidget;

namespace faceatlas {
class Codes;
} // namespace faceatlas

namespace faceatlas::ui {

class Session;
struct SearchSpace;

/**
 * "More like this": the nearest faces to a face of the dataset or to an image file, in the codes'
 * space or in the latest age model's feature space (computed once per run as a job, then kept), as
 * a strip of faces nearest first. Searches run on the interactive lane; the map marks the face asked
 * about and rings the answers through this panel's signals.
 */
class SimilarFacesPanel : public QWidget {
    Q_OBJECT
public:
    explicit SimilarFacesPanel(Session* session, QWidget* parent = nullptr);
    ~SimilarFacesPanel() override;

    /** The codes "by their codes" compares (the open map's); null: none, and that search says so. */
    void setCodes(std::shared_ptr<const Codes> codes);
    /** The nearest faces to face `row` in the chosen space (on the lane). */
    void similarTo(qint64 row);
    /** The nearest faces to an image file, encoded with the model of the chosen space (on the lane). */
    void similarToImage(const QString& file);
    /** The faces the strip shows, nearest first. */
    std::vector<qint64> similarFaces() const { return m_similar; }
    /** Forgets the codes, the features, the faces shown and the last question: the hint again. */
    void clear();

Q_SIGNALS:
    /** A search started from face `row` (-1: from an image file). */
    void queryMarked(qint64 row);
    /** The strip now shows these faces, nearest first. */
    void resultsShown(const std::vector<qint64>& rows);
    /** A face of the strip was clicked. */
    void faceClicked(qint64 row);
    /** A face of the strip was double-clicked: open it in the face panel. */
    void faceChosen(qint64 row);

private:
    /** What a search compares now; null (and a job started, then `retry`) while it is being made. */
    std::shared_ptr<const SearchSpace> searchSpace(const std::function<void()>& retry);
    /** The age model's features of every face, computed as a job, then `retry`. */
    void computeFeatures(const QString& run, const std::function<void()>& retry);
    void showSimilar(const std::vector<std::int64_t>& rows, const std::vector<float>& distances);
    Session* m_session;
    QLabel* m_similarLabel;
    QComboBox* m_space;
    QListWidget* m_similarList;
    std::shared_ptr<const Codes> m_codes;
    std::shared_ptr<const SearchSpace> m_features; // the latest age model's features of every face
    std::vector<qint64> m_similar;
    qint64 m_lastQueryRow = -1; // what was last asked about, to ask again in another space
    QString m_lastQueryFile;
};

} // namespace faceatlas::ui
