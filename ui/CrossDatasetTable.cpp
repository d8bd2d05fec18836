#include "CrossDatasetTable.h"

#include "data/PreparedDataset.h"
#include "data/WorkspaceIndex.h"
#include "JobRunner.h"
#include "ml/AgeMatrix.h"
#include "ml/ModelKinds.h"
#include "Session.h"
#include "util/Error.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <QColor>
#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace fs = std::filesystem;

namespace {

/** An age-model run of the workspace as the job needs it (read on the GUI thread from the index). */
struct RunInput {
    fs::path dir, data;
    int imageSize = 0; // 0: unknown, measured on every preparation
    QString label;
};

/** What the job hands back: the preparations measured (as columns) and the cells, runs-major. */
struct MatrixOutput {
    QStringList columns, columnTips;
    std::vector<fs::path> columnDirs;
    std::vector<AgeMatrixCell> cells;
    int unreadable = 0; // prepared folders that could not be opened (left out)
};

fs::path normal(const fs::path& p)
{
    return fs::absolute(p).lexically_normal();
}

/** The workspace's preparations (the folders in prepared/), then the runs' own ones that lie elsewhere; each once. */
std::vector<fs::path> preparationDirs(const fs::path& workspace, const std::vector<RunInput>& runs)
{
    std::vector<fs::path> dirs;
    std::error_code ec;
    for (fs::directory_iterator it(workspace / "prepared", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] != '.' && fs::is_regular_file(it->path() / PreparedDataset::kManifest, ec))
            dirs.push_back(normal(it->path()));
    }
    std::sort(dirs.begin(), dirs.end());
    for (const RunInput& run : runs)
        if (!run.data.empty() && fs::is_regular_file(run.data / PreparedDataset::kManifest, ec)
            && std::find(dirs.begin(), dirs.end(), normal(run.data)) == dirs.end())
            dirs.push_back(normal(run.data));
    return dirs;
}

/** "utkface UTKFace · 64 px" from a source SPEC ("kind:path"). */
QString columnLabel(const PreparedDataset& data)
{
    const QString spec = QString::fromStdString(data.sourceSpec());
    const int colon = spec.indexOf(QLatin1Char(':'));
    QString name = spec;
    if (colon > 0) {
        const QString path = spec.mid(colon + 1);
        const QString base = QFileInfo(path.endsWith(QLatin1Char('/')) ? path.chopped(1) : path).fileName();
        name = spec.left(colon) + (base.isEmpty() ? QString() : QLatin1Char(' ') + base);
    }
    return QStringLiteral("%1\n%2 px").arg(name).arg(data.imageSize());
}

/** The workspace's age-model runs that can be measured, from the index (finished, usable, a known kind). */
std::vector<RunInput> ageModelRuns(const WorkspaceIndex& index)
{
    std::vector<RunInput> runs;
    for (const Artifact& a : index.artifacts()) {
        if (a.kind != OutputKind::Run || !a.usable() || a.status == "running")
            continue;
        if (!modelHasRole(a.model, ModelRole::AgeModel))
            continue; // the autoencoder, or a model kind this FaceAtlas does not know
        runs.push_back({a.dir, a.data, a.imageSize,
                        QStringLiteral("%1 · %2").arg(QString::fromStdString(a.model),
                                                      QString::fromStdString(a.dir.filename().string()))});
    }
    return runs;
}

/** Opens every preparation to measure on; one that cannot be opened is counted in `out.unreadable`. */
std::vector<std::unique_ptr<PreparedDataset>> openPreparations(const fs::path& workspace,
                                                               const std::vector<RunInput>& runs, MatrixOutput& out)
{
    std::vector<std::unique_ptr<PreparedDataset>> opened;
    for (const fs::path& dir : preparationDirs(workspace, runs)) {
        try {
            opened.push_back(std::make_unique<PreparedDataset>(PreparedDataset::open(dir)));
        } catch (const std::exception&) {
            ++out.unreadable; // damaged or being written: not a column
        }
    }
    return opened;
}

/** The columns: the preparations at least one run can be measured on (its image size), named in `out`. */
std::vector<const PreparedDataset*> matrixColumns(const std::vector<std::unique_ptr<PreparedDataset>>& opened,
                                                  const std::vector<RunInput>& runs, MatrixOutput& out)
{
    std::vector<const PreparedDataset*> columns;
    for (const auto& data : opened)
        if (std::any_of(runs.begin(), runs.end(),
                        [&](const RunInput& r) { return r.imageSize == 0 || r.imageSize == data->imageSize(); }))
            columns.push_back(data.get());
    for (const PreparedDataset* data : columns) {
        out.columns << columnLabel(*data);
        out.columnTips << QString::fromStdString(data->dir().string());
        out.columnDirs.push_back(normal(data->dir()));
    }
    return columns;
}

/** The cell of a run not measured on a preparation: the run's load error, or the image sizes that differ. */
AgeMatrixCell unmeasuredCell(const RunInput& run, const PreparedDataset& data, const std::string& runError)
{
    AgeMatrixCell cell;
    cell.run = run.dir;
    cell.data = data.dir();
    cell.error = !runError.empty()
                     ? runError
                     : "the run was trained at " + std::to_string(run.imageSize) + " px and this preparation holds "
                           + std::to_string(data.imageSize()) + " px images";
    return cell;
}

/** Measures run `r` on every column of its image size and appends its row of cells to `out`; false when cancelled. */
bool measureRun(size_t r, const std::vector<RunInput>& runs, const std::vector<const PreparedDataset*>& columns,
                Split split, const CancelToken& cancel, const JobRunner::Report& report, MatrixOutput& out)
{
    const qint64 total = static_cast<qint64>(runs.size()) * static_cast<qint64>(columns.size());
    std::vector<const PreparedDataset*> measurable;
    for (const PreparedDataset* data : columns)
        if (runs[r].imageSize == 0 || runs[r].imageSize == data->imageSize())
            measurable.push_back(data);
    std::vector<AgeMatrixCell> measured;
    std::string runError;
    bool stopped = false;
    try {
        const qint64 before = static_cast<qint64>(r) * static_cast<qint64>(columns.size());
        measured = evaluateAgeMatrix(
            {runs[r].dir}, measurable, split, "auto", cancel,
            [&](const JobProgress& p) {
                report(QStringLiteral("run %1 of %2").arg(r + 1).arg(runs.size()), before + p.done, total);
            },
            &stopped);
    } catch (const std::exception& e) {
        runError = e.what(); // a run that cannot be loaded: said in each of its cells
    }
    if (stopped || cancel.isCancelled())
        return false;
    size_t next = 0;
    for (const PreparedDataset* data : columns) {
        const bool sameSize = runs[r].imageSize == 0 || runs[r].imageSize == data->imageSize();
        if (sameSize && runError.empty() && next < measured.size()) {
            out.cells.push_back(measured[next++]);
            continue;
        }
        out.cells.push_back(unmeasuredCell(runs[r], *data, runError));
    }
    return true;
}

/** The job: every run measured on every preparation of the workspace it fits, into `out`; false when cancelled. */
bool computeMatrix(const std::vector<RunInput>& runs, const fs::path& workspace, Split split, const CancelToken& cancel,
                   const JobRunner::Report& report, MatrixOutput& out)
{
    const auto opened = openPreparations(workspace, runs, out);
    const auto columns = matrixColumns(opened, runs, out);
    for (size_t r = 0; r < runs.size(); ++r)
        if (!measureRun(r, runs, columns, split, cancel, report, out))
            return false;
    return true;
}

/** The table's item for one cell: MAE (n) and bias coloured against the baseline, or a dash saying why not. */
QTableWidgetItem* cellItem(const AgeMatrixCell& cell, bool ownData)
{
    auto* item = new QTableWidgetItem;
    item->setTextAlignment(Qt::AlignCenter);
    if (!cell.measured()) {
        item->setText(QStringLiteral("—"));
        item->setForeground(Qt::gray);
        item->setToolTip(QString::fromStdString(cell.error));
        return item;
    }
    item->setText(CrossDatasetTable::tr("%1 (%2)\nbias %3")
                      .arg(QString::number(cell.mae, 'f', 2))
                      .arg(cell.n)
                      .arg(QString::number(cell.bias, 'f', 2)));
    item->setBackground(CrossDatasetTable::colourAgainstBaseline(cell.mae, cell.baselineMae));
    item->setForeground(Qt::black);
    QString tip = CrossDatasetTable::tr("MAE %1 years on %2 faces, bias %3 (predicted - true); always guessing the "
                                        "run's training median age: MAE %4")
                      .arg(QString::number(cell.mae, 'f', 2))
                      .arg(cell.n)
                      .arg(QString::number(cell.bias, 'f', 2), QString::number(cell.baselineMae, 'f', 2));
    if (cell.modelFraming != cell.dataFraming)
        tip += CrossDatasetTable::tr("\nThe model was trained on faces framed '%1'; these are framed '%2'.")
                   .arg(QString::fromStdString(cell.modelFraming), QString::fromStdString(cell.dataFraming));
    if (ownData) {
        QFont bold = item->font();
        bold.setBold(true);
        item->setFont(bold);
        tip += CrossDatasetTable::tr("\nThe run's own preparation.");
    }
    item->setToolTip(tip);
    return item;
}

/** Fills `table` with the matrix: a row per run, a column per preparation (its folder as tooltip). */
void fillTable(QTableWidget* table, const MatrixOutput& out, const QStringList& runLabels,
               const std::vector<fs::path>& ownData)
{
    table->clear();
    table->setRowCount(runLabels.size());
    table->setColumnCount(out.columns.size());
    table->setVerticalHeaderLabels(runLabels);
    table->setHorizontalHeaderLabels(out.columns);
    for (int c = 0; c < out.columns.size(); ++c)
        table->horizontalHeaderItem(c)->setToolTip(out.columnTips[c]);
    for (int r = 0; r < runLabels.size(); ++r)
        for (int c = 0; c < out.columns.size(); ++c) {
            const AgeMatrixCell& cell = out.cells[static_cast<size_t>(r * out.columns.size() + c)];
            const bool own = out.columnDirs[static_cast<size_t>(c)] == ownData[static_cast<size_t>(r)];
            table->setItem(r, c, cellItem(cell, own));
        }
    table->resizeColumnsToContents();
    for (int c = 0; c < table->columnCount(); ++c) // room to read a cell at a glance
        table->setColumnWidth(c, std::max(table->columnWidth(c), 120));
    table->resizeRowsToContents();
}

} // namespace

QColor CrossDatasetTable::colourAgainstBaseline(double mae, double baseline)
{
    const double ratio = baseline > 0 ? mae / baseline : 1.0;
    const double t = std::clamp((ratio - 0.6) / 0.4, 0.0, 1.0);
    const QColor green(183, 228, 183), yellow(245, 230, 168), red(242, 176, 176);
    const QColor& from = t < 0.5 ? green : yellow;
    const QColor& to = t < 0.5 ? yellow : red;
    const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    return QColor::fromRgbF(static_cast<float>(from.redF() + (to.redF() - from.redF()) * u),
                            static_cast<float>(from.greenF() + (to.greenF() - from.greenF()) * u),
                            static_cast<float>(from.blueF() + (to.blueF() - from.blueF()) * u));
}

CrossDatasetTable::CrossDatasetTable(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
    , m_cells(std::make_shared<const std::vector<AgeMatrixCell>>())
{
    m_split = new QComboBox;
    m_split->setObjectName("matrixSplit");
    m_split->addItem(tr("validation faces (not trained on)"), false);
    m_split->addItem(tr("all labelled faces"), true);
    m_compute = new QPushButton(tr("Compare across datasets"));
    m_compute->setObjectName("matrixCompute");
    m_compute->setToolTip(tr("Every age model's run on every preparation of the workspace at its image size "
                             "(as faceatlas-cli evaluate --run R1,R2 --data P1,P2)"));
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setEnabled(false);
    m_status = new QLabel(tr("Each age model's error on each dataset, coloured against that dataset's baseline: "
                             "press Compare across datasets."));
    m_status->setObjectName("matrixStatus");
    m_status->setWordWrap(true);
    m_table = new QTableWidget;
    m_table->setObjectName("matrixTable");
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setWordWrap(true);
    m_table->horizontalHeader()->setDefaultAlignment(Qt::AlignCenter);
    auto* controls = new QHBoxLayout;
    controls->addWidget(m_compute);
    controls->addWidget(new QLabel(tr("on")));
    controls->addWidget(m_split);
    controls->addWidget(m_cancel);
    controls->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_status);
    layout->addWidget(m_table, 1);
    connect(m_compute, &QPushButton::clicked, this, &CrossDatasetTable::compute);
    connect(m_cancel, &QPushButton::clicked, this, &CrossDatasetTable::cancel);
}

void CrossDatasetTable::setAllFaces(bool all)
{
    m_split->setCurrentIndex(all ? 1 : 0);
}

const std::vector<AgeMatrixCell>& CrossDatasetTable::cells() const
{
    return *m_cells;
}

QString CrossDatasetTable::statusText() const
{
    return m_status->text();
}

void CrossDatasetTable::cancel()
{
    if (m_job != 0)
        m_session->jobs()->cancelJob(m_job);
}

void CrossDatasetTable::compute()
{
    // The runs come from the index (the GUI thread's); every file is read on the worker.
    const std::vector<RunInput> runs = ageModelRuns(m_session->index());
    if (runs.empty()) {
        m_status->setText(tr("The workspace has no age model's run yet: train one on the Train page (model \"age\")."));
        return;
    }
    const fs::path workspace = m_session->workspace().toStdString();
    const Split split = m_split->currentData().toBool() ? Split::All : Split::Val;
    QStringList runLabels;
    for (const RunInput& r : runs)
        runLabels << r.label;
    auto out = std::make_shared<MatrixOutput>();
    const auto job = [runs, workspace, split, out](const CancelToken& cancel, const JobRunner::Report& report) {
        return computeMatrix(runs, workspace, split, cancel, report, *out);
    };
    std::vector<fs::path> ownData;
    for (const RunInput& r : runs)
        ownData.push_back(r.data.empty() ? fs::path() : normal(r.data));
    const auto done = [this, out, runLabels, ownData](bool ok, bool cancelled, const QString& error) {
        m_job = 0;
        m_cancel->setEnabled(false);
        m_compute->setEnabled(true);
        if (!ok) {
            m_status->setText(tr("The matrix could not be computed: %1").arg(error));
            return;
        }
        if (cancelled) {
            m_status->setText(tr("Cancelled: nothing was computed. Press Compare across datasets to start again."));
            return;
        }
        m_cells = std::make_shared<const std::vector<AgeMatrixCell>>(out->cells);
        fillTable(m_table, *out, runLabels, ownData);
        QString text = out->columns.isEmpty()
                           ? tr("No preparation of the workspace has the image size of an age model's run.")
                           : tr("MAE in years (n faces) and bias, green well under the baseline (always guessing the "
                                "run's training median age), red at or above it; bold: the run's own data. Hover a "
                                "cell for its figures.");
        if (out->unreadable > 0)
            text += tr(" %1 prepared folders could not be opened and are left out.").arg(out->unreadable);
        m_status->setText(text);
    };
    m_job = m_session->jobs()->start(tr("Comparing the age models across datasets"), job, done);
    if (m_job == 0) {
        m_status->setText(tr("Cannot compare now. %1").arg(m_session->jobs()->busyReason()));
        return;
    }
    m_compute->setEnabled(false);
    m_cancel->setEnabled(true);
    m_status->setText(tr("Predicting every run's ages on every preparation..."));
}

} // namespace faceatlas::ui
