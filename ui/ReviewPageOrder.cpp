// The Review page's order: the combo above the queue (the audit's score, the model's uncertainty,
// most informative), the order made on the lane by core's orderReviewQueue, and the line that says
// which order the queue is in and why, when the one chosen is not available.
#include "ReviewPage.h"

#include "analysis/AuditJob.h"
#include "analysis/ReviewOrder.h"
#include "data/PreparedDataset.h"
#include "InteractiveLane.h"
#include "ml/Inference.h"
#include "Session.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>
#include <unordered_set>

namespace faceatlas::ui {

namespace {

QString orderTitle(ReviewOrder order)
{
    switch (order) {
    case ReviewOrder::Score: return ReviewPage::tr("the audit's score");
    case ReviewOrder::Uncertainty: return ReviewPage::tr("the model's uncertainty");
    case ReviewOrder::Informative: return ReviewPage::tr("most informative");
    }
    return {};
}

/** What the lane needs to order an audit's suspects, taken on the GUI thread. */
struct OrderRequest {
    std::shared_ptr<const AuditResult> result;
    std::shared_ptr<const PreparedDataset> data;
    QString codesDir; // the codes the informative order reads; empty when not asked for, or none
    bool informative = false;
    std::vector<std::string> fingerprints; // the open preparation's (codes of another are not used)
    std::shared_ptr<const std::unordered_set<std::string>> decided; // keys of the faces decided so far
    ReviewOrder asked = ReviewOrder::Score;
};

/** The order made on the lane. */
struct MadeOrder {
    std::shared_ptr<const ReviewQueue> queue;
    QString codesNote; // why the codes could not be used; empty when they were, or not asked for
};

// Opens the codes of `request` into `codes`, or leaves it empty and says why in `note`: none yet,
// unreadable, of another preparation, or of another count of faces. On the lane.
void openOrderCodes(const OrderRequest& request, std::optional<Codes>& codes, QString& note)
{
    if (request.codesDir.isEmpty()) {
        note = ReviewPage::tr("this preparation has no autoencoder codes yet: encode the faces "
                              "(Clusters page, Encode)");
        return;
    }
    const std::string where = displayPath(request.codesDir.toStdString());
    try {
        codes.emplace(Codes::open(request.codesDir.toStdString()));
    } catch (const std::exception& e) {
        note = ReviewPage::tr("the codes cannot be read: %1").arg(QString::fromUtf8(e.what()));
    }
    const std::vector<std::string>& fingerprints = request.fingerprints;
    if (codes && !codes->dataFingerprint().empty()
        && std::find(fingerprints.begin(), fingerprints.end(), codes->dataFingerprint()) == fingerprints.end()) {
        note = ReviewPage::tr("the codes in %1 are of another preparation: encode the faces "
                              "again (Clusters page)")
                   .arg(QString::fromStdString(where));
        codes.reset();
    } else if (codes && codes->count() != request.data->count()) {
        note = ReviewPage::tr("the codes in %1 hold %2 faces, the dataset %3: encode the "
                              "faces again (Clusters page)")
                   .arg(QString::fromStdString(where))
                   .arg(codes->count())
                   .arg(request.data->count());
        codes.reset();
    }
}

// Orders the audit's suspects as asked (core's orderReviewQueue), the decided faces counted as
// reviewed when the codes can be used. On the lane.
MadeOrder makeOrder(const OrderRequest& request, const CancelToken& cancel)
{
    MadeOrder made;
    std::optional<Codes> codes;
    if (request.informative)
        openOrderCodes(request, codes, made.codesNote);
    const PreparedDataset& data = *request.data;
    std::vector<std::uint32_t> reviewed;
    if (codes)
        for (size_t r = 0; r < data.count(); ++r)
            if (request.decided->count(recordKey(data.records()[r])))
                reviewed.push_back(static_cast<std::uint32_t>(r));
    made.queue = std::make_shared<const ReviewQueue>(
        orderReviewQueue(*request.result, request.asked, codes ? &*codes : nullptr, reviewed, cancel));
    return made;
}

} // namespace

QLayout* ReviewPage::makeOrderControls()
{
    m_order = new QComboBox;
    m_order->setObjectName("reviewOrder");
    m_order->addItem(tr("Audit score (most suspect first)"), QString::fromUtf8(reviewOrderName(ReviewOrder::Score)));
    m_order->addItem(tr("Uncertainty (largest spread first)"),
                     QString::fromUtf8(reviewOrderName(ReviewOrder::Uncertainty)));
    m_order->addItem(tr("Most informative (uncertain and unlike the reviewed)"),
                     QString::fromUtf8(reviewOrderName(ReviewOrder::Informative)));
    m_order->setToolTip(tr("The order of the queue; the line below says which order it is in"));
    const int saved = m_order->findData(QSettings().value("review/order").toString());
    if (saved >= 0)
        m_order->setCurrentIndex(saved);
    m_reorder = new QPushButton(tr("Reorder"));
    m_reorder->setObjectName("reorder");
    m_reorder->setToolTip(tr("Orders the queue again, counting the faces decided since as reviewed"));
    m_orderNote = new QLabel;
    m_orderNote->setObjectName("orderNote");
    m_orderNote->setWordWrap(true);
    connect(m_order, &QComboBox::currentIndexChanged, this, [this] {
        QSettings().setValue("review/order", m_order->currentData().toString());
        requestOrder();
    });
    connect(m_reorder, &QPushButton::clicked, this, &ReviewPage::requestOrder);
    // New codes of the open preparation: the informative order can use them (or must drop the old).
    connect(m_session, &Session::codesChanged, this, [this] {
        if (m_result && order() == ReviewOrder::Informative)
            requestOrder();
    });
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Order")));
    row->addWidget(m_order, 1);
    row->addWidget(m_reorder);
    auto* column = new QVBoxLayout;
    column->addLayout(row);
    column->addWidget(m_orderNote);
    showOrderNote();
    return column;
}

ReviewOrder ReviewPage::order() const
{
    return parseReviewOrder(m_order->currentData().toString().toStdString()).value_or(ReviewOrder::Score);
}

void ReviewPage::setOrder(ReviewOrder order)
{
    const int at = m_order->findData(QString::fromUtf8(reviewOrderName(order)));
    if (at >= 0)
        m_order->setCurrentIndex(at);
}

QString ReviewPage::orderText() const
{
    return m_orderNote->text();
}

std::vector<size_t> ReviewPage::queueSequence() const
{
    if (m_ordered && m_orderedFor == m_result.get())
        return m_ordered->suspects;
    std::vector<size_t> all(m_result ? m_result->suspects.size() : 0);
    std::iota(all.begin(), all.end(), size_t{0});
    return all;
}

void ReviewPage::requestOrder()
{
    m_orderError.clear();
    m_orderFallback.clear();
    m_reorder->setVisible(order() == ReviewOrder::Informative);
    const auto data = m_session->sharedDataset();
    if (!m_result || !data) {
        m_ordering = false;
        showOrderNote();
        return;
    }
    const ReviewOrder asked = order();
    if (asked == ReviewOrder::Score) {
        showAuditOrder();
        return;
    }
    OrderRequest request;
    request.result = m_result;
    request.data = data;
    request.codesDir = asked == ReviewOrder::Informative ? m_session->codesDir() : QString();
    request.informative = asked == ReviewOrder::Informative;
    request.fingerprints = m_session->openFingerprints();
    // The faces decided so far (their keys; the rows are found on the lane): the informative order
    // counts them as reviewed.
    auto decided = std::make_shared<std::unordered_set<std::string>>();
    for (const auto& [path, mark] : m_decisions)
        decided->insert(path);
    request.decided = decided;
    request.asked = asked;
    m_ordering = true;
    showOrderNote();
    // On the lane: the codes are read and compared with thousands of faces' (greedy), never on the
    // GUI thread. Newest request wins; a switch of order or dataset drops the older one.
    const std::shared_ptr<const AuditResult> result = m_result;
    const QString codesDir = request.codesDir;
    m_session->lane()->submit<MadeOrder>(
        QStringLiteral("review-order"), this,
        [request](const CancelToken& cancel) { return makeOrder(request, cancel); },
        [this, result, asked, codesDir](MadeOrder made) {
            if (result != m_result || asked != order() || made.queue->cancelled)
                return; // another audit or another order since: its own request follows
            m_ordering = false;
            m_ordered = made.queue;
            m_orderedFor = result.get();
            m_orderCodes = made.queue->used == ReviewOrder::Informative ? codesDir : QString();
            if (made.queue->used != made.queue->asked)
                m_orderFallback =
                    made.codesNote.isEmpty() ? QString::fromStdString(made.queue->fallback) : made.codesNote;
            fillQueue();
            showOrderNote();
        },
        [this, result](const QString& error) {
            if (result != m_result)
                return;
            m_ordering = false;
            m_orderError = error;
            showOrderNote();
        });
}

void ReviewPage::showAuditOrder()
{
    // The audit's own order: nothing to make. An order still on the lane is dropped when it comes
    // back (apply checks what is asked now).
    m_ordering = false;
    const bool wasOrdered = m_ordered != nullptr;
    m_ordered.reset();
    m_orderedFor = nullptr;
    if (wasOrdered)
        fillQueue();
    showOrderNote();
}

void ReviewPage::showOrderNote()
{
    const ReviewOrder asked = order();
    m_reorder->setVisible(asked == ReviewOrder::Informative);
    m_reorder->setEnabled(m_result && !m_ordering);
    const bool made = m_ordered && m_orderedFor == m_result.get();
    const ReviewOrder used = asked == ReviewOrder::Score || !made ? ReviewOrder::Score : m_ordered->used;
    QString text;
    bool warn = false;
    if (!m_result)
        text = tr("The queue's order applies to an audit's suspects.");
    else if (m_ordering)
        text = tr("Ordering the queue by %1 on the lane; it shows the audit's order meanwhile.").arg(orderTitle(asked));
    else if (!m_orderError.isEmpty()) {
        text = tr("The queue cannot be ordered by %1: %2. It is in the audit's order.")
                   .arg(orderTitle(asked), m_orderError.toHtmlEscaped());
        warn = true;
    } else {
        switch (used) {
        case ReviewOrder::Score:
            text = tr("Ordered by the audit's score: the label that the face's out-of-fold prediction finds least "
                      "likely first, then the faces flagged for copies or metadata.");
            break;
        case ReviewOrder::Uncertainty:
            text = tr("Ordered by the model's uncertainty: the largest calibrated out-of-fold spread first, the "
                      "faces the age model is least sure of.");
            break;
        case ReviewOrder::Informative:
            text = tr("Most informative first: the spread times the novelty, a face's distance in code space (%1) to "
                      "the nearest of the %2 faces reviewed and those above it; near-copies of decided faces wait. "
                      "Reorder counts decisions made since.")
                       .arg(QFileInfo(m_orderCodes).fileName())
                       .arg(m_ordered->reviewedWithCodes);
            break;
        }
        if (made && m_ordered->used != asked) {
            text =
                tr("<b>%1 is not available</b>: %2. ").arg(orderTitle(asked), m_orderFallback.toHtmlEscaped()) + text;
            text[3] = text[3].toUpper(); // after "<b>": "The model's ...", "Most ..."
            warn = true;
        }
    }
    m_orderNote->setText(text);
    m_orderNote->setStyleSheet(warn ? QStringLiteral("color: #b03000") : QString());
}

} // namespace faceatlas::ui
