#include "Session.h"

#include "data/PreparedDataset.h"
#include "JobRunner.h"
#include "ml/Runs.h"
#include "util/FileUtil.h"

#include <opencv2/core.hpp>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QSettings>
#include <QStandardPaths>

namespace faceatlas::ui {

Session::Session(QObject* parent)
    : QObject(parent)
    , m_jobs(new JobRunner(this))
{
    QSettings settings;
    // The same default as the CLI's, so both see the same runs.
    const QString fallback = QString::fromStdString(workspaceDir().string());
    setWorkspace(settings.value("workspace", fallback).toString());
    m_codesDir = settings.value("codes").toString();
    m_clustersDir = settings.value("clusters").toString();
}

Session::~Session() = default;

void Session::setWorkspace(const QString& dir)
{
    m_workspace = dir;
    QDir().mkpath(dir);
    // The CLI finds the same runs when it is pointed at the same workspace.
    qputenv("FACEATLAS_WORKSPACE", dir.toLocal8Bit());
    QSettings().setValue("workspace", dir);
}

void Session::setSource(const QString& spec)
{
    m_source = spec;
    QSettings settings;
    QStringList recent = settings.value("recentSources").toStringList();
    recent.removeAll(spec);
    recent.prepend(spec);
    while (recent.size() > 8)
        recent.removeLast();
    settings.setValue("recentSources", recent);
    settings.setValue("source", spec);
    Q_EMIT sourceChanged(spec);
}

QString Session::preparedDirFor(const QString& spec, int size) const
{
    const QString key = QString::fromStdString(hexKey(fnv1a64(spec.toStdString())));
    return QDir(m_workspace).filePath(QStringLiteral("prepared/%1-%2").arg(key).arg(size));
}

void Session::openPrepared(const QString& dir)
{
    m_dataset = std::make_unique<PreparedDataset>(PreparedDataset::open(dir.toStdString()));
    m_datasetDir = dir;
    m_predictions.clear();
    loadClusterLabels();
    QSettings().setValue("prepared", dir);
    Q_EMIT datasetChanged();
}

QString Session::newRunDir(const QString& model) const
{
    return QDir(m_workspace)
        .filePath(QStringLiteral("runs/%1-%2").arg(model, QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss")));
}

QString Session::latestRun(const QString& model) const
{
    return QSettings().value("latestRun/" + model).toString();
}

void Session::setLatestRun(const QString& model, const QString& dir)
{
    QSettings().setValue("latestRun/" + model, dir);
    Q_EMIT runsChanged();
}

void Session::setCodesDir(const QString& dir)
{
    m_codesDir = dir;
    QSettings().setValue("codes", dir);
    Q_EMIT codesChanged();
}

void Session::setClustersDir(const QString& dir)
{
    m_clustersDir = dir;
    QSettings().setValue("clusters", dir);
    loadClusterLabels();
    Q_EMIT clustersChanged();
}

void Session::loadClusterLabels()
{
    // assignments.csv lists path,cluster in the order of the encoded dataset; it describes the open
    // dataset when its paths match the dataset's records one for one.
    m_clusterLabels.clear();
    if (!m_dataset || m_clustersDir.isEmpty())
        return;
    QFile file(QDir(m_clustersDir).filePath("assignments.csv"));
    if (!file.open(QIODevice::ReadOnly))
        return;
    file.readLine();
    std::vector<int> labels;
    labels.reserve(m_dataset->count());
    while (!file.atEnd()) {
        const QByteArray line = file.readLine().trimmed();
        const int comma = line.lastIndexOf(',');
        if (comma < 0)
            continue;
        const size_t row = labels.size();
        if (row >= m_dataset->count() || line.left(comma).toStdString() != m_dataset->records()[row].path)
            return;
        labels.push_back(line.mid(comma + 1).toInt());
    }
    if (labels.size() == m_dataset->count())
        m_clusterLabels = std::move(labels);
}

void Session::setPredictions(std::vector<float> predictions)
{
    m_predictions = std::move(predictions);
    Q_EMIT predictionsChanged();
}

std::vector<qint64> Session::clusterMembers(int cluster) const
{
    std::vector<qint64> members;
    for (size_t i = 0; i < m_clusterLabels.size(); ++i)
        if (m_clusterLabels[i] == cluster)
            members.push_back(static_cast<qint64>(i));
    return members;
}

QImage Session::face(qint64 index) const
{
    if (!m_dataset || index < 0 || static_cast<size_t>(index) >= m_dataset->count())
        return {};
    return rgbImage(m_dataset->image(static_cast<size_t>(index)), m_dataset->imageSize(), m_dataset->imageSize());
}

QImage rgbImage(const unsigned char* rgb, int width, int height)
{
    return QImage(rgb, width, height, width * 3, QImage::Format_RGB888).copy();
}

QImage overlayImage(const QImage& face, int side, const float* map, int mapSize, bool isSigned, double opacity,
                    Colormap colormap)
{
    const QImage scaled =
        face.scaled(side, side, Qt::IgnoreAspectRatio, Qt::SmoothTransformation).convertToFormat(QImage::Format_RGB888);
    const cv::Mat rgb(side, side, CV_8UC3, const_cast<uchar*>(scaled.constBits()),
                      static_cast<size_t>(scaled.bytesPerLine()));
    const cv::Mat out = renderOverlay(rgb, map, mapSize, isSigned, opacity, colormap);
    return QImage(out.data, out.cols, out.rows, static_cast<int>(out.step), QImage::Format_RGB888).copy();
}

} // namespace faceatlas::ui
