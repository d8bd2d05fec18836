#include "RunsPage.h"

#include "RunStatus.h"

#include "Charts.h"
#include "CrossDatasetTable.h"

#include "ml/ModelKinds.h"
#include "ml/Runs.h"
#include "Session.h"
#include "util/FileUtil.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <QChart>
#include <QChartView>
#include <QDir>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineSeries>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QTabWidget>
#include <QValueAxis>
#include <QVBoxLayout>
#include <utility>
#include <vector>

namespace faceatlas::ui {

namespace {

QTableWidgetItem* numberItem(double v, int decimals)
{
    auto* item = new QTableWidgetItem;
    if (std::isfinite(v))
        item->setData(Qt::DisplayRole, QString::number(v, 'f', decimals).toDouble());
    return item;
}

} // namespace

RunsPage::RunsPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    m_table = new QTableWidget(0, kColumns);
    m_table->setHorizontalHeaderLabels({tr("Model"), tr("Status"), tr("Data"), tr("Size"), tr("Epochs"), tr("Batch"),
                                        tr("Learning rate"), tr("Weight decay"), tr("Seed"), tr("Last val MAE"),
                                        tr("Best val MAE"), tr("Baseline MAE"), tr("Last PSNR"), tr("Best PSNR"),
                                        tr("Started"), tr("Folder")});
    m_table->horizontalHeader()->setSectionResizeMode(kDirColumn, QHeaderView::Stretch);
    m_table->setWordWrap(false);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSortingEnabled(true);
    m_table->verticalHeader()->hide();
    m_chart = new QChartView;
    m_chart->setRenderHint(QPainter::Antialiasing);
    auto* refreshButton = new QPushButton(tr("Refresh"));
    auto* continueButton = new QPushButton(tr("Continue training"));
    auto* encodeButton = new QPushButton(tr("Encode with it"));
    auto* predictButton = new QPushButton(tr("Predict with it"));
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {refreshButton, continueButton, encodeButton, predictButton})
        buttons->addWidget(b);
    buttons->addStretch();
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(buttons);
    layout->addWidget(m_table, 1);
    // The selected runs' curves, or every age run against every dataset: one tab each, so the
    // table of runs keeps its half of the page at 1366x768.
    m_matrix = new CrossDatasetTable(m_session);
    m_tabs = new QTabWidget;
    m_tabs->addTab(m_chart, tr("Curves of the selected runs"));
    m_tabs->addTab(m_matrix, tr("Compare across datasets"));
    layout->addWidget(m_tabs, 1);
    connect(refreshButton, &QPushButton::clicked, this, &RunsPage::refresh);
    // The chosen run becomes the latest of its model, which the other pages use.
    const auto chosen = [this]() -> QString {
        const int row = m_table->currentRow();
        if (row < 0)
            return {};
        const QString model = m_table->item(row, 0)->text();
        m_session->setLatestRun(model, m_table->item(row, kDirColumn)->text());
        return model;
    };
    connect(continueButton, &QPushButton::clicked, this, [this, chosen] {
        const QString model = chosen();
        if (!model.isEmpty())
            Q_EMIT continueRun(model);
    });
    connect(encodeButton, &QPushButton::clicked, this, [this, chosen] {
        if (modelHasRole(chosen().toStdString(), ModelRole::Autoencoder))
            Q_EMIT encodeWith();
    });
    connect(predictButton, &QPushButton::clicked, this, [this, chosen] {
        const QString model = chosen();
        if (modelHasRole(model.toStdString(), ModelRole::AgeModel))
            Q_EMIT predictWith();
    });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsPage::overlaySelected);
    connect(session, &Session::runsChanged, this, &RunsPage::refreshSoon);
    refresh();
}

void RunsPage::showCrossDatasets()
{
    m_tabs->setCurrentWidget(m_matrix);
}

void RunsPage::refreshSoon()
{
    // Reading every run's files is work: done now when the page is on screen, else when it is shown.
    if (isVisible())
        refresh();
    else
        m_stale = true;
}

void RunsPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (m_stale)
        refresh();
}

void RunsPage::selectAll()
{
    m_table->selectAll();
}

int RunsPage::runCount() const
{
    return m_table->rowCount();
}

void RunsPage::refresh()
{
    m_stale = false;
    // The selection survives a refresh, so the highlighted rows and the plotted curves agree.
    QSet<QString> selected;
    for (const auto* item : m_table->selectedItems())
        if (const auto* dir = m_table->item(item->row(), kDirColumn))
            selected.insert(dir->text());
    const auto runs = listRuns(std::filesystem::path(QDir(m_session->workspace()).filePath("runs").toStdString()),
                               m_session->workspace().toStdString());
    const QSignalBlocker block(m_table);
    m_table->clearSelection();
    m_table->setSortingEnabled(false);
    m_table->setRowCount(static_cast<int>(runs.size()));
    for (int i = 0; i < static_cast<int>(runs.size()); ++i) {
        const auto& r = runs[static_cast<size_t>(i)];
        const QString dir = QString::fromStdString(r.dir.string());
        // Settings and provenance from run.json; a damaged file leaves those cells empty.
        nlohmann::json run = nlohmann::json::object();
        try {
            run = nlohmann::json::parse(readFile(r.dir / "run.json"));
        } catch (const std::exception&) {
        }
        const auto number = [&](const char* key) {
            return run.contains(key) && run.at(key).is_number() ? run.at(key).get<double>() : NAN;
        };
        QString status = runStatusText(r, dir == m_activeRun);
        const bool autoencoderRun = modelHasRole(r.model, ModelRole::Autoencoder);
        const bool nanFigures = r.last
                                && ((autoencoderRun && !std::isfinite(r.last->valPsnr))
                                    || (!autoencoderRun && !std::isfinite(r.last->valMae)));
        if (nanFigures)
            status += tr(", no validation figure (NaN)");
        QString data = QString::fromStdString(run.value("source", r.data));
        if (run.contains("cleaning") && run.at("cleaning").is_object()) {
            const auto& c = run.at("cleaning");
            if (c.contains("age_min") && c.contains("age_max") && c.at("age_min").is_number()
                && c.at("age_max").is_number())
                data += tr(", ages %1-%2").arg(c.at("age_min").get<int>()).arg(c.at("age_max").get<int>());
            if (c.contains("min_face_score") && c.at("min_face_score").is_number())
                data += tr(", face score >= %1").arg(c.at("min_face_score").get<double>());
        }
        auto* dataItem = new QTableWidgetItem(data);
        dataItem->setToolTip(QString::fromStdString(r.data));
        auto* statusItem = new QTableWidgetItem(status);
        if (nanFigures || status != QString::fromStdString(r.status))
            statusItem->setForeground(QColor(180, 60, 0));
        m_table->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(r.model)));
        m_table->setItem(i, 1, statusItem);
        m_table->setItem(i, 2, dataItem);
        m_table->setItem(i, 3, numberItem(r.size, 0));
        m_table->setItem(i, 4, numberItem(r.epochs, 0));
        m_table->setItem(i, 5, numberItem(number("batch"), 0));
        m_table->setItem(i, 6, numberItem(number("learning_rate"), 5));
        m_table->setItem(i, 7, numberItem(number("weight_decay"), 5));
        m_table->setItem(i, 8, numberItem(number("seed"), 0));
        m_table->setItem(i, 9, numberItem(r.last ? r.last->valMae : NAN, 2));
        m_table->setItem(i, 10, numberItem(r.best ? r.best->valMae : NAN, 2));
        m_table->setItem(i, 11, numberItem(r.best ? r.best->baselineMae : NAN, 2));
        m_table->setItem(i, 12, numberItem(r.last ? r.last->valPsnr : NAN, 2));
        m_table->setItem(i, 13, numberItem(r.best ? r.best->valPsnr : NAN, 2));
        m_table->setItem(i, 14, new QTableWidgetItem(QString::fromStdString(r.started)));
        m_table->setItem(i, kDirColumn, new QTableWidgetItem(dir));
    }
    m_table->setSortingEnabled(true);
    m_table->resizeColumnsToContents(); // once, not on every cell change
    for (int row = 0; row < m_table->rowCount(); ++row)
        if (selected.contains(m_table->item(row, kDirColumn)->text()))
            m_table->selectionModel()->select(m_table->model()->index(row, 0),
                                              QItemSelectionModel::Select | QItemSelectionModel::Rows);
    overlaySelected();
}

void RunsPage::setActiveRun(const QString& dir)
{
    m_activeRun = dir;
}

QStringList RunsPage::plottedRuns() const
{
    return m_plotted;
}

QStringList RunsPage::selectedRuns() const
{
    QStringList dirs;
    for (const auto& index : m_table->selectionModel()->selectedRows())
        dirs << m_table->item(index.row(), kDirColumn)->text();
    return dirs;
}

void RunsPage::overlaySelected()
{
    // Age models in years on the left, autoencoders in dB on the right: never one unlabelled axis.
    auto* chart = new QChart;
    chart->setTitle(tr("Validation curves of the selected runs"));
    auto* x = new QValueAxis;
    x->setTitleText(tr("epoch"));
    auto* mae = new QValueAxis;
    mae->setTitleText(tr("validation MAE (years)"));
    auto* psnr = new QValueAxis;
    psnr->setTitleText(tr("validation PSNR (dB)"));
    chart->addAxis(x, Qt::AlignBottom);
    double maeTop = 1, psnrTop = 1, right = 1;
    bool anyAge = false, anyAutoencoder = false;
    QSet<int> rows;
    for (const auto* item : m_table->selectedItems())
        rows.insert(item->row());
    m_plotted.clear();
    std::vector<std::pair<QLineSeries*, bool>> pending; // attached once the axes are in place
    for (int row : rows) {
        const QString dir = m_table->item(row, kDirColumn)->text();
        const QString model = m_table->item(row, 0)->text();
        const bool autoencoder = modelHasRole(model.toStdString(), ModelRole::Autoencoder);
        try {
            const auto history = parseMetricsCsv(readFile((dir + "/metrics.csv").toStdString()));
            auto* series = new QLineSeries;
            series->setName(QStringLiteral("%1 %2").arg(model, QFileInfo(dir).fileName()));
            for (const auto& m : history) {
                const double v = autoencoder ? m.valPsnr : m.valMae;
                if (std::isfinite(v)) {
                    series->append(m.epoch, v);
                    (autoencoder ? psnrTop : maeTop) = std::max(autoencoder ? psnrTop : maeTop, v);
                    right = std::max(right, static_cast<double>(m.epoch));
                }
            }
            showPoints(series);
            chart->addSeries(series);
            anyAge |= !autoencoder;
            anyAutoencoder |= autoencoder;
            pending.push_back({series, autoencoder});
            m_plotted << dir;
        } catch (const std::exception&) {
            continue; // a run without metrics yet
        }
    }
    // MAE on the left; PSNR on the right when both are shown, else on the left.
    if (anyAge)
        chart->addAxis(mae, Qt::AlignLeft);
    else
        delete mae;
    if (anyAutoencoder)
        chart->addAxis(psnr, anyAge ? Qt::AlignRight : Qt::AlignLeft);
    else
        delete psnr;
    for (const auto& [series, autoencoder] : pending) {
        series->attachAxis(x);
        series->attachAxis(autoencoder ? psnr : mae);
        if (anyAge && anyAutoencoder) // which axis a curve is read on, in its name
            series->setName(series->name() + (autoencoder ? tr(" (PSNR, right)") : tr(" (MAE, left)")));
    }
    setIntegerAxis(x, 0, right);
    if (anyAge) {
        mae->setRange(0, maeTop * 1.1);
        mae->applyNiceNumbers();
    }
    if (anyAutoencoder) {
        psnr->setRange(0, psnrTop * 1.1);
        psnr->applyNiceNumbers();
    }
    chart->legend()->setAlignment(Qt::AlignBottom);
    replaceChart(m_chart, chart);
}

} // namespace faceatlas::ui
