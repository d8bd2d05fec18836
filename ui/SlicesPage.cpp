#include "SlicesPage.h"

#include "analysis/SliceJob.h"
#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "data/Slices.h"
#include "data/SourceColumns.h"
#include "ForestPlot.h"
#include "JobRunner.h"
#include "ml/ModelKinds.h"
#include "Session.h"
#include "util/FileUtil.h"
#include "WriteQueue.h"

#include <algorithm>
#include <optional>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

/** Whether a run's model kind predicts ages (every kind but the autoencoder; unknown kinds are left out). */
bool isAgeModel(const std::string& model)
{
    return modelHasRole(model, ModelRole::AgeModel);
}

/** A combo of the slice attributes (the one table of their names: never listed here), "(none)" first when asked. */
QComboBox* attributeCombo(const char* objectName, bool withNone)
{
    auto* combo = new QComboBox;
    combo->setObjectName(QString::fromLatin1(objectName));
    if (withNone)
        combo->addItem(QObject::tr("(none)"), QString());
    for (const SliceAttribute& a : sliceAttributes()) {
        combo->addItem(QString::fromUtf8(a.name), QString::fromUtf8(a.name));
        combo->setItemData(combo->count() - 1, QString::fromUtf8(a.description), Qt::ToolTipRole);
    }
    return combo;
}

/** Marks the combo items refreshExtraAttributes adds (a clustering, face sets): they come and go with the dataset. */
constexpr int kExtraRole = Qt::UserRole + 7;

QString fixed(double v)
{
    return QString::number(v, 'f', 2);
}

/** The CSV and quality columns a grouping names, read from the preparation (a worker's part). */
void addColumnAttributes(const PreparedDataset& data, const std::vector<std::string>& names, SliceJobParams& params)
{
    if (names.empty())
        return;
    const SourceColumns columns = readPreparedColumns(data);
    std::optional<FaceQuality> quality; // read when a quality column is named
    for (const std::string& name : names)
        if (const int k = columns.find(name); k >= 0) {
            params.extraAttributes.emplace_back(name, columns.values(static_cast<size_t>(k)));
        } else if (qualityColumnIndex(name) >= 0) {
            if (!quality)
                quality = readPreparedQuality(data);
            if (const int q = quality->find(name); q >= 0)
                params.extraAttributes.emplace_back(name, qualityQuartiles(quality->column(static_cast<size_t>(q))));
        }
}

} // namespace

SlicesPage::SlicesPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    m_run = new QComboBox;
    m_run->setObjectName("sliceRun");
    m_run->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_run->setMinimumContentsLength(28);
    m_by = attributeCombo("sliceBy", /*withNone=*/false);
    m_and = attributeCombo("sliceAnd", /*withNone=*/true);
    m_split = new QComboBox;
    m_split->setObjectName("sliceSplit");
    m_split->addItem(tr("validation faces (not trained on)"), false);
    m_split->addItem(tr("all labelled faces"), true);
    m_compute = new QPushButton(tr("Compute"));
    m_compute->setObjectName("sliceCompute");
    m_compute->setToolTip(tr("Predicts the run's ages and bootstraps each slice's intervals (1,000 resamples)"));
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Age model run")));
    controls->addWidget(m_run, 1);
    controls->addWidget(new QLabel(tr("Group by")));
    controls->addWidget(m_by);
    controls->addWidget(new QLabel(tr("and")));
    controls->addWidget(m_and);
    controls->addWidget(new QLabel(tr("on")));
    controls->addWidget(m_split);
    controls->addWidget(m_compute);

    m_sort = new QComboBox;
    m_sort->setObjectName("sliceSort");
    m_sort->addItem(tr("by MAE (worst first)"), static_cast<int>(ForestPlot::Order::Mae));
    m_sort->addItem(tr("by size"), static_cast<int>(ForestPlot::Order::Size));
    m_sort->addItem(tr("by name"), static_cast<int>(ForestPlot::Order::Name));
    m_exportCsv = new QPushButton(tr("Export CSV..."));
    m_exportCsv->setObjectName("sliceExportCsv");
    m_savePng = new QPushButton(tr("Save PNG..."));
    m_savePng->setObjectName("sliceSavePng");
    auto* below = new QHBoxLayout;
    below->addWidget(new QLabel(tr("Sort")));
    below->addWidget(m_sort);
    below->addStretch(1);
    below->addWidget(new QLabel(tr("Click a slice to see its faces in the Dataset page's grid.")));
    below->addStretch(1);
    below->addWidget(m_exportCsv);
    below->addWidget(m_savePng);

    m_status = new QLabel;
    m_status->setObjectName("sliceStatus");
    m_status->setWordWrap(true);
    m_summary = new QLabel;
    m_summary->setObjectName("sliceSummary");
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_plot = new ForestPlot;
    m_plot->setObjectName("forestPlot");
    auto* scroll = new QScrollArea; // many slices (two attributes) scroll here, the controls stay
    scroll->setWidget(m_plot);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumHeight(260);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_status);
    layout->addWidget(m_summary);
    layout->addWidget(scroll, 1);
    layout->addLayout(below);
    connectControls();
    refreshRuns();
    refreshExtraAttributes();
    clear(whyNot().isEmpty() ? tr("Choose a grouping and press Compute.") : whyNot());
}

SlicesPage::~SlicesPage() = default;

void SlicesPage::connectControls()
{
    connect(m_compute, &QPushButton::clicked, this, &SlicesPage::compute);
    connect(m_sort, &QComboBox::currentIndexChanged, this,
            [this] { m_plot->setOrder(static_cast<ForestPlot::Order>(m_sort->currentData().toInt())); });
    connect(m_plot, &ForestPlot::rowClicked, this, &SlicesPage::showSlice);
    connect(m_run, &QComboBox::activated, this, [this] { m_runPicked = true; });
    connect(m_run, &QComboBox::currentIndexChanged, this, [this] {
        if (m_result)
            return; // what is drawn says which run it is of
        const QString why = whyNot();
        m_status->setText(why.isEmpty() ? tr("Choose a grouping and press Compute.") : why);
    });
    connect(m_exportCsv, &QPushButton::clicked, this, [this] {
        if (!m_result) {
            m_status->setText(tr("Compute the slices first."));
            return;
        }
        const QString file = QFileDialog::getSaveFileName(this, tr("Export the slices"), QStringLiteral("slices.csv"),
                                                          tr("CSV (*.csv)"));
        if (!file.isEmpty())
            exportCsv(file);
    });
    connect(m_savePng, &QPushButton::clicked, this, [this] {
        if (!m_result) {
            m_status->setText(tr("Compute the slices first."));
            return;
        }
        const QString file =
            QFileDialog::getSaveFileName(this, tr("Save the plot"), QStringLiteral("slices.png"), tr("PNG (*.png)"));
        if (!file.isEmpty())
            savePng(file);
    });
    // The order of a switch (see Session): drop what was derived from the old dataset first.
    connect(m_session, &Session::datasetAboutToChange, this, [this] { clear(tr("No dataset open.")); });
    connect(m_session, &Session::datasetChanged, this, [this] {
        m_runPicked = false; // the new dataset's own run when it has one
        refreshRuns();
        setRun(m_session->latestAgeRun());
        clear(whyNot().isEmpty() ? tr("Choose a grouping and press Compute.") : whyNot());
    });
    connect(m_session, &Session::runsChanged, this, &SlicesPage::refreshRuns);
    // The face sets and the clustering are of one preparation: dropped or listed again with it.
    connect(m_session, &Session::datasetAboutToChange, this, [this] {
        m_faceSets.clear();
        refreshExtraAttributes();
    });
    connect(m_session, &Session::datasetChanged, this, &SlicesPage::refreshExtraAttributes);
    connect(m_session, &Session::clustersChanged, this, &SlicesPage::refreshExtraAttributes);
}

void SlicesPage::refreshExtraAttributes()
{
    const auto data = m_session->sharedDataset();
    // The session keeps cluster labels only when the clustering's fingerprint and paths are the open
    // preparation's; the size is checked again here, so labels of other faces are never offered.
    const bool clustered = data && !m_session->clustersDir().isEmpty() && m_session->clusterMismatch().isEmpty()
                           && m_session->clusterLabels().size() == data->count();
    std::vector<std::pair<QString, QString>> extra; // name, tooltip
    if (clustered)
        extra.emplace_back(QStringLiteral("cluster"),
                           tr("The face's cluster in %1").arg(QFileInfo(m_session->clustersDir()).fileName()));
    for (const auto& set : m_faceSets)
        extra.emplace_back(QString::fromStdString(set.first), tr("These faces (selected) against everyone (others)"));
    // The CSV source's further columns the preparation kept: their names are in its prepared.json
    // (in memory); the values are read from columns.csv with the job, on the worker.
    if (data)
        for (const std::string& name : preparedColumnNames(*data))
            extra.emplace_back(QString::fromStdString(name), tr("A column of the CSV source, as text"));
    // The quality columns Prepare measured (named in prepared.json), by their quartiles; read with the job.
    if (data)
        for (const std::string& name : preparedQualityNames(*data))
            if (std::none_of(extra.begin(), extra.end(), [&](const auto& e) { return e.first.toStdString() == name; }))
                extra.emplace_back(QString::fromStdString(name),
                                   tr("The face's quartile of %1 among this preparation's faces (measured on the "
                                      "stored face at Prepare)")
                                       .arg(QString::fromStdString(name)));
    for (QComboBox* combo : {m_by, m_and}) {
        const QString chosen = combo->currentData().toString();
        const QSignalBlocker block(combo);
        for (int i = combo->count() - 1; i >= 0; --i)
            if (combo->itemData(i, kExtraRole).toBool())
                combo->removeItem(i);
        for (const auto& [name, tip] : extra) {
            combo->addItem(name, name);
            combo->setItemData(combo->count() - 1, tip, Qt::ToolTipRole);
            combo->setItemData(combo->count() - 1, true, kExtraRole);
        }
        const int i = combo->findData(chosen);
        combo->setCurrentIndex(std::max(0, i));
    }
}

bool SlicesPage::addFacesSlice(const QString& name, std::shared_ptr<const std::vector<char>> faces)
{
    const auto data = m_session->sharedDataset();
    if (!data || !faces || faces->size() != data->count()) {
        m_status->setText(tr("Those faces are not of the open dataset: select them again on its map."));
        return false;
    }
    std::vector<std::string> values(faces->size());
    for (size_t i = 0; i < faces->size(); ++i)
        values[i] = (*faces)[i] ? "selected" : "others";
    const std::string key = name.toStdString();
    const auto same = std::find_if(m_faceSets.begin(), m_faceSets.end(), [&](const auto& s) { return s.first == key; });
    if (same != m_faceSets.end())
        same->second = std::move(values); // the same name again: its newest faces
    else
        m_faceSets.emplace_back(key, std::move(values));
    refreshExtraAttributes();
    setGrouping(name);
    compute();
    return true;
}

void SlicesPage::refreshRuns()
{
    // The run the user picked stays chosen; otherwise the newest age run (a run trained meanwhile).
    const QString chosen = m_runPicked && m_run->count() > 0 ? run() : m_session->latestAgeRun();
    const QSignalBlocker block(m_run);
    m_run->clear();
    for (const Artifact& a : m_session->index().artifacts()) {
        if (a.kind != OutputKind::Run || !a.usable() || !isAgeModel(a.model))
            continue;
        const QString dir = QString::fromStdString(a.dir.string());
        if (!QFileInfo::exists(dir + "/best.pt") && !QFileInfo::exists(dir + "/last.pt"))
            continue; // being trained: no checkpoint yet
        QString text = QStringLiteral("%1 · %2").arg(QString::fromStdString(a.model), QFileInfo(dir).fileName());
        const QString note = m_session->runSourceNote(dir);
        if (!note.isEmpty())
            text += QStringLiteral(" (%1)").arg(note);
        else if (!m_session->runMismatch(dir).isEmpty() && m_session->dataset())
            text += tr(" (another image size)");
        m_run->addItem(text, dir);
        m_run->setItemData(m_run->count() - 1, dir, Qt::ToolTipRole);
    }
    if (!setRun(chosen))
        setRun(m_session->latestAgeRun());
    if (!m_result) { // what to do now, never a message about runs from before this one
        const QString why = whyNot();
        m_status->setText(why.isEmpty() ? tr("Choose a grouping and press Compute.") : why);
    }
}

bool SlicesPage::setRun(const QString& dir)
{
    const int i = dir.isEmpty() ? -1 : m_run->findData(dir);
    if (i >= 0)
        m_run->setCurrentIndex(i);
    return i >= 0;
}

QString SlicesPage::run() const
{
    return m_run->currentData().toString();
}

void SlicesPage::setGrouping(const QString& by, const QString& andBy)
{
    m_by->setCurrentIndex(std::max(0, m_by->findData(by)));
    m_and->setCurrentIndex(std::max(0, m_and->findData(andBy)));
}

void SlicesPage::setAllFaces(bool all)
{
    m_split->setCurrentIndex(all ? 1 : 0);
}

QString SlicesPage::statusText() const
{
    return m_status->text();
}

QString SlicesPage::whyNot() const
{
    if (!m_session->dataset())
        return tr("Open and prepare a dataset first: the slices are of the open preparation's faces.");
    if (run().isEmpty())
        return tr("The workspace has no age model's run yet: train one on the Train page (model \"age\").");
    return m_session->runMismatch(run());
}

void SlicesPage::clear(const QString& why)
{
    m_result.reset();
    m_plot->setRows({});
    m_summary->clear();
    m_status->setText(why);
}

std::vector<std::string> SlicesPage::addPageAttributes(const std::vector<std::string>& grouping,
                                                       SliceJobParams& params) const
{
    std::vector<std::string> columnNames;
    for (const std::string& name : grouping) {
        // Attributes the table does not know: the clustering's labels, the face sets added here, the CSV columns.
        const int i = m_by->findData(QString::fromStdString(name));
        if (i < 0 || !m_by->itemData(i, kExtraRole).toBool())
            continue;
        if (name == "cluster") {
            const auto labels = m_session->sharedClusterLabels();
            std::vector<std::string> values(labels->size());
            for (size_t k = 0; k < labels->size(); ++k)
                values[k] = (*labels)[k] < 0 ? std::string() : std::to_string((*labels)[k]);
            params.extraAttributes.emplace_back(name, std::move(values));
        }
        bool given = name == "cluster";
        for (const auto& set : m_faceSets)
            if (set.first == name) {
                params.extraAttributes.push_back(set);
                given = true;
            }
        if (!given)
            columnNames.push_back(name); // a CSV column: read on the worker
    }
    return columnNames;
}

void SlicesPage::compute()
{
    const QString why = whyNot();
    if (!why.isEmpty()) {
        m_status->setText(why);
        return;
    }
    std::vector<std::string> grouping{m_by->currentData().toString().toStdString()};
    const std::string second = m_and->currentData().toString().toStdString();
    if (second == grouping.front()) {
        m_status->setText(tr("Choose two different attributes, or (none) for the second."));
        return;
    }
    if (!second.empty())
        grouping.push_back(second);
    const auto data = m_session->sharedDataset();
    SliceJobParams params;
    params.run = run().toStdString();
    params.groupings = {grouping};
    params.allFaces = m_split->currentData().toBool();
    params.settings.boot = 1000;
    const std::vector<std::string> columnNames = addPageAttributes(grouping, params);
    // The newest audit of the open preparation (the index ties it by fingerprint): its flags per slice.
    const std::string audit = m_session->newest(OutputKind::Audit).toStdString();
    // The job fills the result on the worker; `done` hands it to the page on the GUI thread.
    auto out = std::make_shared<SliceJobResult>();
    const auto job = [data, params, out, columnNames, audit](const CancelToken& cancel,
                                                             const JobRunner::Report& report) mutable {
        addColumnAttributes(*data, columnNames, params);
        *out = runSliceJob(*data, params, cancel,
                           [&](const JobProgress& p) { report(QString::fromUtf8(p.stage), p.done, p.total); });
        if (!out->cancelled && !audit.empty()) {
            // The audit only adds a column: one that cannot be read is said beside the figures.
            try {
                countSliceAuditFlags(*out, auditFlaggedRows(audit, *data));
            } catch (const std::exception& e) {
                out->note +=
                    (out->note.empty() ? "" : "; ") + std::string("the audit's flags are not counted: ") + e.what();
            }
        }
        return !out->cancelled;
    };
    const QString what =
        tr("%1 · %2 on %3")
            .arg(m_run->currentText().section(QStringLiteral(" ("), 0, 0),
                 QString::fromStdString(grouping.size() == 1 ? grouping[0] : grouping[0] + " x " + grouping[1]),
                 m_split->currentText());
    const auto done = [this, out, data, what](bool ok, bool cancelled, const QString& error) {
        if (m_session->dataset() != data.get())
            return; // another dataset was opened meanwhile: this report is not of it
        if (!ok)
            m_status->setText(tr("The slices could not be computed: %1").arg(error));
        else if (cancelled)
            m_status->setText(tr("Cancelled: nothing was computed. Press Compute to start again."));
        else
            showResult(out, what);
    };
    if (m_session->jobs()->start(tr("Computing the error by slice"), job, done))
        m_status->setText(tr("Predicting the ages, then bootstrapping each slice's intervals (1,000 resamples)..."));
    else
        m_status->setText(tr("Cannot compute now. %1").arg(m_session->jobs()->busyReason()));
}

void SlicesPage::showResult(std::shared_ptr<const SliceJobResult> result, const QString& what)
{
    m_result = std::move(result);
    const SliceReport& report = m_result->report;
    m_plot->setRows(report.rows);
    m_status->setText(tr("Error by slice: %1.").arg(what));
    QStringList lines;
    if (!report.rows.empty()) {
        const SliceRow& all = report.rows.front();
        lines << tr("All %1 faces: MAE %2 years [%3, %4], bias %5; always guessing the median age: MAE %6.")
                     .arg(all.n)
                     .arg(fixed(all.mae), fixed(all.maeLo), fixed(all.maeHi), fixed(all.bias), fixed(all.baselineMae));
    }
    if (!report.rows.empty() && report.rows.front().auditFlagged >= 0)
        lines << tr("The newest label audit of this preparation flags %1 of these faces: a slice with many flagged "
                    "faces may owe its error to its labels rather than to the model (\"flagged by audit\").")
                     .arg(report.rows.front().auditFlagged);
    for (const SliceGap& gap : report.gaps)
        lines << tr("Worst slice %1, best %2: %3 years more error [%4, %5].")
                     .arg(QString::fromStdString(gap.worst), QString::fromStdString(gap.best), fixed(gap.gap),
                          fixed(gap.gapLo), fixed(gap.gapHi));
    const auto small =
        std::count_if(report.rows.begin(), report.rows.end(), [](const SliceRow& row) { return row.flag == "small"; });
    if (small > 0)
        lines << tr("%1 slices have fewer than %2 faces: grey and marked (small), their intervals are wide.")
                     .arg(small)
                     .arg(SliceSettings().minN);
    for (const auto& [by, count] : report.unknown)
        if (count > 0)
            lines
                << tr("%1 faces have no %2 and are left out of its slices.").arg(count).arg(QString::fromStdString(by));
    if (!m_result->note.empty())
        lines << tr("Note: %1.").arg(QString::fromStdString(m_result->note));
    m_summary->setText(lines.join('\n'));
}

void SlicesPage::showSlice(const QString& by, const QString& slice)
{
    const auto data = m_session->sharedDataset();
    if (!m_result || !data)
        return;
    const auto members = sliceMembers(*m_result, by.toStdString(), slice.toStdString());
    auto mask = std::make_shared<std::vector<char>>(data->count(), 0);
    for (const auto row : members)
        if (row < mask->size())
            (*mask)[row] = 1;
    const QString what =
        by == QLatin1String("all") ? tr("every face measured") : tr("the slice %1 = %2").arg(by, slice);
    Q_EMIT showFaces(mask, static_cast<qint64>(members.size()), what);
}

void SlicesPage::exportCsv(const QString& file)
{
    if (!m_result) {
        m_status->setText(tr("Compute the slices first."));
        return;
    }
    const auto result = m_result;
    m_status->setText(tr("Exporting %1 slices to %2 ...").arg(result->report.rows.size()).arg(file));
    m_session->writer()->submit<size_t>(
        this,
        [result, file] {
            writeFileAtomic(file.toStdString(), slicesCsv(result->report));
            return result->report.rows.size();
        },
        [this, file](size_t written) { m_status->setText(tr("Exported %1 slices to %2").arg(written).arg(file)); },
        [this](const QString& error) { m_status->setText(tr("Export failed: %1").arg(error)); });
}

bool SlicesPage::savePng(const QString& file)
{
    const bool saved = m_plot->grab().save(file, "PNG");
    m_status->setText(saved ? tr("Saved the plot to %1").arg(file) : tr("Could not write %1").arg(file));
    return saved;
}

} // namespace faceatlas::ui
