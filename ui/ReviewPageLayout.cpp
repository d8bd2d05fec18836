// The Review page's construction: the audit controls, the queue with the shown face and its
// decision buttons, the keyboard and the signals from the session (ReviewPage.cpp holds what they do).
#include "PredictionBar.h"
#include "ReviewPage.h"
#include "Session.h"

#include <functional>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QShortcut>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace faceatlas::ui {

ReviewPage::ReviewPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    QHBoxLayout* controls = buildAuditControls();
    QWidget* decidedView = makeDecidedView(); // makes the Queue | Decided switch too
    controls->addWidget(m_queueTab);
    controls->addWidget(m_decidedTab);
    buildStatusLines();
    QWidget* queueView = buildQueueView();
    m_views = new QStackedWidget;
    m_views->addWidget(queueView);
    m_views->addWidget(decidedView);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_status);
    layout->addWidget(m_saved);
    layout->addWidget(m_views, 1);

    connectQueue();
    addDecisionKeys();
    connectSession();
    rememberAuditSettings();
    findLatestAudit();
    refreshDecisions();
}

QHBoxLayout* ReviewPage::buildAuditControls()
{
    m_audit = new QPushButton(tr("Audit the labels"));
    m_audit->setToolTip(tr("Trains an age model per fold so every face gets a prediction from a model that never "
                           "saw it; finds duplicates, conflicts, split leaks and impossible metadata"));
    m_folds = new QSpinBox;
    m_folds->setObjectName("folds");
    m_folds->setRange(2, 20);
    m_folds->setValue(5);
    m_epochs = new QSpinBox;
    m_epochs->setObjectName("epochs");
    m_epochs->setRange(1, 200);
    m_epochs->setValue(10);
    m_reason = new QComboBox;
    m_reason->setObjectName("reasonFilter");
    m_reason->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    auto* controls = new QHBoxLayout;
    controls->addWidget(m_audit);
    controls->addWidget(new QLabel(tr("folds")));
    controls->addWidget(m_folds);
    controls->addWidget(new QLabel(tr("epochs")));
    controls->addWidget(m_epochs);
    controls->addSpacing(20);
    controls->addWidget(new QLabel(tr("Show")));
    controls->addWidget(m_reason);
    controls->addStretch();
    return controls;
}

void ReviewPage::buildStatusLines()
{
    m_status = new QLabel;
    m_status->setObjectName("reviewStatus");
    m_status->setWordWrap(true);
    m_saved = new QLabel;
    m_saved->setObjectName("reviewSaved");
    m_queueWarning = new QLabel;
    m_queueWarning->setObjectName("queueWarning");
    m_queueWarning->setWordWrap(true);
    m_queueWarning->setStyleSheet("color: #b03000");
    m_queueWarning->hide();
}

QWidget* ReviewPage::buildQueueView()
{
    m_queue = new QListWidget;
    m_queue->setObjectName("queue");
    m_queue->setIconSize(QSize(40, 40));
    m_queue->setMinimumWidth(420);
    buildFaceWidgets();
    QGridLayout* actions = buildDecisionButtons();
    auto* top = new QHBoxLayout;
    top->addWidget(m_face);
    top->addWidget(m_detail, 1);
    auto* right = new QVBoxLayout;
    right->addLayout(top);
    // The decisions right under the face, so at 1366 x 768 the age box and its buttons are on screen
    // (below the copies they were off it); the evidence follows.
    right->addLayout(actions);
    right->addWidget(new QLabel(tr("<b>Out-of-fold prediction</b> (blue) against the label (red)")));
    right->addWidget(m_prediction);
    right->addWidget(new QLabel(tr("<b>Its copies</b> (exact or near duplicates)")));
    right->addWidget(m_copies);
    right->addStretch();
    auto* queueColumn = new QVBoxLayout;
    queueColumn->addLayout(makeOrderControls());
    queueColumn->addWidget(m_queueWarning);
    queueColumn->addWidget(m_queue, 1);
    auto* queueView = new QWidget;
    auto* body = new QHBoxLayout(queueView);
    body->setContentsMargins(0, 0, 0, 0);
    body->addLayout(queueColumn, 1);
    body->addLayout(right, 1);
    return queueView;
}

void ReviewPage::buildFaceWidgets()
{
    m_face = new QLabel;
    m_face->setFixedSize(256, 256);
    m_face->setAlignment(Qt::AlignCenter);
    m_face->setStyleSheet("background: #eee");
    m_detail = new QLabel;
    m_detail->setObjectName("reviewDetail");
    m_detail->setWordWrap(true);
    m_detail->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_prediction = new PredictionBar;
    m_prediction->setFixedHeight(90);
    m_prediction->setToolTip(tr("Blue: the out-of-fold prediction and its spread; red: the label"));
    m_copies = new QListWidget;
    m_copies->setObjectName("copies");
    m_copies->setViewMode(QListView::IconMode);
    m_copies->setIconSize(QSize(72, 72));
    m_copies->setFixedHeight(120);
    m_copies->setFlow(QListView::LeftToRight);
    m_copies->setWrapping(false);
}

QGridLayout* ReviewPage::buildDecisionButtons()
{
    m_age = new QSpinBox;
    m_age->setRange(0, 116);
    m_age->setObjectName("correctedAge");
    auto* keepButton = new QPushButton(tr("Keep (K)"));
    auto* excludeButton = new QPushButton(tr("Exclude (X)"));
    auto* ageButton = new QPushButton(tr("Set age (Enter)"));
    auto* maleButton = new QPushButton(tr("Male (M)"));
    auto* femaleButton = new QPushButton(tr("Female (F)"));
    auto* copyButton = new QPushButton(tr("Keep this copy only (D)"));
    copyButton->setToolTip(tr("Keeps this face and excludes its other copies"));
    auto* actions = new QGridLayout;
    actions->addWidget(keepButton, 0, 0);
    actions->addWidget(excludeButton, 0, 1);
    actions->addWidget(copyButton, 0, 2);
    actions->addWidget(m_age, 1, 0);
    actions->addWidget(ageButton, 1, 1);
    auto* genders = new QHBoxLayout;
    genders->addWidget(maleButton);
    genders->addWidget(femaleButton);
    actions->addLayout(genders, 1, 2);
    m_decisionButtons = {keepButton, excludeButton, ageButton, maleButton, femaleButton, copyButton};
    keepButton->setObjectName("keep");
    excludeButton->setObjectName("exclude");
    ageButton->setObjectName("setAge");
    connect(keepButton, &QPushButton::clicked, this, &ReviewPage::keep);
    connect(excludeButton, &QPushButton::clicked, this, &ReviewPage::exclude);
    connect(copyButton, &QPushButton::clicked, this, &ReviewPage::keepOnlyThisCopy);
    connect(ageButton, &QPushButton::clicked, this, [this] { correctAge(m_age->value()); });
    connect(m_age, &QSpinBox::editingFinished, this, [this] {
        if (m_age->hasFocus())
            correctAge(m_age->value());
    });
    connect(maleButton, &QPushButton::clicked, this, [this] { correctGender(true); });
    connect(femaleButton, &QPushButton::clicked, this, [this] { correctGender(false); });
    return actions;
}

void ReviewPage::connectQueue()
{
    connect(m_audit, &QPushButton::clicked, this, &ReviewPage::audit);
    connect(m_reason, &QComboBox::currentIndexChanged, this, &ReviewPage::fillQueue);
    connect(m_queue, &QListWidget::currentRowChanged, this, &ReviewPage::showCurrent);
    connect(m_queue, &QListWidget::itemDoubleClicked, this, [this] {
        if (m_current >= 0)
            Q_EMIT faceChosen(m_current);
    });
    connect(m_copies, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
        const qint64 row = item->data(Qt::UserRole).toLongLong();
        for (int i = 0; i < m_queue->count(); ++i)
            if (m_queue->item(i)->data(Qt::UserRole).toLongLong() == row) {
                m_queue->setCurrentRow(i);
                return;
            }
    });
}

void ReviewPage::addDecisionKeys()
{
    // The keyboard: one key per decision, while the page has the focus (not while typing an age).
    const auto key = [this](const QString& k, const QString& what, const std::function<void()>& act) {
        auto* s = new QShortcut(QKeySequence(k), this);
        s->setContext(Qt::WidgetWithChildrenShortcut);
        s->setWhatsThis(what); // Help > Keyboard shortcuts lists it
        connect(s, &QShortcut::activated, this, act);
    };
    key(QStringLiteral("K"), tr("Keep the face"), [this] { keep(); });
    key(QStringLiteral("X"), tr("Exclude the face"), [this] { exclude(); });
    key(QStringLiteral("D"), tr("Keep this copy only"), [this] { keepOnlyThisCopy(); });
    key(QStringLiteral("M"), tr("Gender: male"), [this] { correctGender(true); });
    key(QStringLiteral("F"), tr("Gender: female"), [this] { correctGender(false); });
    key(QStringLiteral("A"), tr("Type a corrected age (Enter sets it)"), [this] {
        m_age->setFocus();
        m_age->selectAll();
    });
}

void ReviewPage::connectSession()
{
    connect(m_session, &Session::datasetAboutToChange, this, [this] { clear(tr("No dataset open.")); });
    connect(m_session, &Session::datasetChanged, this, &ReviewPage::findLatestAudit);
    connect(m_session, &Session::datasetChanged, this, &ReviewPage::refreshDecisions);
    connect(m_session, &Session::newestAuditChanged, this, &ReviewPage::findLatestAudit);
}

} // namespace faceatlas::ui
