#include "RunsPage.h"

#include "Charts.h"

#include "ml/Runs.h"
#include "Session.h"
#include "util/FileUtil.h"

#include <cmath>
#include <QChart>
#include <QChartView>
#include <QDir>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineSeries>
#include <QPushButton>
#include <QTableWidget>
#include <QValueAxis>
#include <QVBoxLayout>

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
    m_table = new QTableWidget(0, 10);
    m_table->setHorizontalHeaderLabels({tr("Model"), tr("Status"), tr("Size"), tr("Epochs"), tr("Best val MAE"),
                                        tr("Baseline MAE"), tr("Best PSNR"), tr("Folder"), tr("Data"), tr("Started")});
    m_table->horizontalHeader()->setSectionResizeMode(7, QHeaderView::Stretch);
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
    layout->addWidget(m_chart, 1);
    connect(refreshButton, &QPushButton::clicked, this, &RunsPage::refresh);
    // The chosen run becomes the latest of its model, which the other pages use.
    const auto chosen = [this]() -> QString {
        const int row = m_table->currentRow();
        if (row < 0)
            return {};
        const QString model = m_table->item(row, 0)->text();
        m_session->setLatestRun(model, m_table->item(row, 7)->text());
        return model;
    };
    connect(continueButton, &QPushButton::clicked, this, [this, chosen] {
        const QString model = chosen();
        if (!model.isEmpty())
            Q_EMIT continueRun(model);
    });
    connect(encodeButton, &QPushButton::clicked, this, [this, chosen] {
        if (chosen() == "autoencoder")
            Q_EMIT encodeWith();
    });
    connect(predictButton, &QPushButton::clicked, this, [this, chosen] {
        const QString model = chosen();
        if (model == "age" || model == "age-capstone")
            Q_EMIT predictWith();
    });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsPage::overlaySelected);
    connect(session, &Session::runsChanged, this, &RunsPage::refresh);
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
    const auto runs = listRuns(std::filesystem::path(QDir(m_session->workspace()).filePath("runs").toStdString()));
    m_table->setSortingEnabled(false);
    m_table->setRowCount(static_cast<int>(runs.size()));
    for (int i = 0; i < static_cast<int>(runs.size()); ++i) {
        const auto& r = runs[static_cast<size_t>(i)];
        m_table->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(r.model)));
        m_table->setItem(i, 1, new QTableWidgetItem(QString::fromStdString(r.status)));
        m_table->setItem(i, 2, numberItem(r.size, 0));
        m_table->setItem(i, 3, numberItem(r.epochs, 0));
        m_table->setItem(i, 4, numberItem(r.best ? r.best->valMae : NAN, 2));
        m_table->setItem(i, 5, numberItem(r.best ? r.best->baselineMae : NAN, 2));
        m_table->setItem(i, 6, numberItem(r.best ? r.best->valPsnr : NAN, 2));
        m_table->setItem(i, 7, new QTableWidgetItem(QString::fromStdString(r.dir.string())));
        m_table->setItem(i, 8, new QTableWidgetItem(QString::fromStdString(r.data)));
        m_table->setItem(i, 9, new QTableWidgetItem(QString::fromStdString(r.started)));
    }
    m_table->setSortingEnabled(true);
}

void RunsPage::overlaySelected()
{
    auto* chart = new QChart;
    chart->setTitle(tr("Validation curves of the selected runs (MAE for age models, PSNR for autoencoders)"));
    auto* x = new QValueAxis;
    x->setTitleText(tr("epoch"));
    x->setLabelFormat("%d");
    auto* y = new QValueAxis;
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    double top = 1, right = 1;
    QSet<int> rows;
    for (const auto* item : m_table->selectedItems())
        rows.insert(item->row());
    for (int row : rows) {
        const QString dir = m_table->item(row, 7)->text();
        const QString model = m_table->item(row, 0)->text();
        try {
            const auto history = parseMetricsCsv(readFile((dir + "/metrics.csv").toStdString()));
            auto* series = new QLineSeries;
            series->setName(QStringLiteral("%1 %2").arg(model, QFileInfo(dir).fileName()));
            for (const auto& m : history) {
                const double v = model == "autoencoder" ? m.valPsnr : m.valMae;
                if (std::isfinite(v)) {
                    series->append(m.epoch, v);
                    top = std::max(top, v);
                    right = std::max(right, static_cast<double>(m.epoch));
                }
            }
            chart->addSeries(series);
            series->attachAxis(x);
            series->attachAxis(y);
        } catch (const std::exception&) {
            continue; // a run without metrics yet
        }
    }
    x->setRange(0, right);
    y->setRange(0, top * 1.1);
    chart->legend()->setAlignment(Qt::AlignBottom);
    replaceChart(m_chart, chart);
}

} // namespace faceatlas::ui
