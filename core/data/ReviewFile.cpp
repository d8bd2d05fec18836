#include "data/ReviewFile.h"

#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string_view>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;

/** An age label as the readers accept it: a whole number of years, 0 to kMaxAge. */
bool parseWholeAge(const std::string& text, int& age)
{
    if (text.empty() || text.size() > 3
        || !std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }))
        return false;
    age = std::stoi(text);
    return age <= 116; // Readers.h kMaxAge; Readers.h is in the imaging library
}

/** Closes a descriptor at the end of a scope. */
struct Fd {
    int fd = -1;
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

void writeAll(int fd, const std::string& bytes, const std::string& what)
{
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw Error(what + ": cannot append the decision: " + errnoText(errno));
        done += static_cast<std::size_t>(n);
    }
}

} // namespace

const char* reviewActionName(ReviewAction action)
{
    switch (action) {
    case ReviewAction::Keep: return "keep";
    case ReviewAction::Age: return "age";
    case ReviewAction::Gender: return "gender";
    case ReviewAction::Exclude: return "exclude";
    case ReviewAction::Undo: return "undo";
    }
    return "?";
}

std::optional<ReviewAction> parseReviewAction(const std::string& name)
{
    for (ReviewAction a :
         {ReviewAction::Keep, ReviewAction::Age, ReviewAction::Gender, ReviewAction::Exclude, ReviewAction::Undo})
        if (name == reviewActionName(a))
            return a;
    return std::nullopt;
}

int ReviewDecision::newAge() const
{
    int age = 0;
    if (action != ReviewAction::Age || !parseWholeAge(newLabel, age))
        throw Error("review decision for " + path + ": not an age correction");
    return age;
}

Gender ReviewDecision::newGender() const
{
    if (action == ReviewAction::Gender && (newLabel == "M" || newLabel == "F"))
        return newLabel == "M" ? Gender::Male : Gender::Female;
    throw Error("review decision for " + path + ": not a gender correction");
}

std::string ReviewFile::check(const ReviewDecision& d)
{
    if (d.path.empty())
        return "empty path";
    for (const std::string* field : {&d.path, &d.oldLabel, &d.newLabel, &d.reason, &d.time})
        if (field->find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
            return "a field holds a line break or a NUL byte";
    if (d.path.size() + d.reason.size() + d.oldLabel.size() + d.newLabel.size() + d.time.size() > kMaxLine / 2)
        return "the row is longer than " + std::to_string(kMaxLine / 2) + " bytes";
    int age = 0;
    switch (d.action) {
    case ReviewAction::Age:
        if (!parseWholeAge(d.newLabel, age))
            return "corrected age '" + d.newLabel.substr(0, 16) + "' is not a whole number from 0 to 116";
        break;
    case ReviewAction::Gender:
        if (d.newLabel != "M" && d.newLabel != "F")
            return "corrected gender '" + d.newLabel.substr(0, 16) + "' is not M or F";
        break;
    case ReviewAction::Keep:
    case ReviewAction::Exclude:
    case ReviewAction::Undo:
        if (!d.newLabel.empty())
            return std::string("a ") + reviewActionName(d.action) + " decision has no new label";
        break;
    }
    return {};
}

void ReviewFile::add(ReviewDecision decision)
{
    const std::size_t row = m_rows++;
    const auto [it, isNew] = m_byPath.try_emplace(decision.path, m_latest.size());
    if (isNew)
        m_latest.push_back({std::move(decision), row});
    else
        m_latest[it->second] = {std::move(decision), row};
}

/**
 * Splits the bytes of a review file into lines, never holding more than kMaxLine (+ a byte order
 * mark and a CR) of one, a longer one only skipped, and makes each line a decision of the review
 * or one of its problems.
 */
class ReviewFile::LineReader {
public:
    LineReader(ReviewFile& review, const std::string& what, const Wanted& wanted)
        : m_review(review)
        , m_what(what)
        , m_wanted(wanted)
    {
    }
    // Takes the bytes [p, end): each line they complete, and the start of the next.
    void feed(const char* p, const char* end);
    // At the end of the file: checks the last line, which has no line break (a write cut short).
    void finish();

private:
    // One complete line, without its line break: the header check, or a decision row.
    void take();
    // One decision row that fits: its fields, action and check, then kept or only counted.
    void takeRow();
    // Lists a skipped row's problem, at most 1000 of them.
    void problem(const std::string& p);
    Error notReviewFile() const;

    static constexpr std::string_view kBom{"\xEF\xBB\xBF", 3};

    ReviewFile& m_review;
    const std::string& m_what;
    const Wanted& m_wanted;
    std::size_t m_lineNumber = 0;
    std::vector<std::string> m_fields;
    std::string m_line;
    bool m_overlong = false;
};

void ReviewFile::LineReader::problem(const std::string& p)
{
    if (m_review.m_problems.size() < 1000)
        m_review.m_problems.push_back(m_what + ":" + std::to_string(m_lineNumber) + ": " + p);
}

Error ReviewFile::LineReader::notReviewFile() const
{
    return Error(m_what + ": not a FaceAtlas review file (the first line is not '" + kHeader + "')");
}

void ReviewFile::LineReader::feed(const char* p, const char* const end)
{
    while (p < end) {
        const auto* newline = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* const stop = newline ? newline : end;
        const std::size_t piece = static_cast<std::size_t>(stop - p);
        if (!m_overlong && m_line.size() + piece > kMaxLine + kBom.size() + 1) {
            m_overlong = true;
            std::string().swap(m_line);
        } else if (!m_overlong) {
            m_line.append(p, piece);
        }
        if (!newline)
            break;
        take();
        m_line.clear();
        m_overlong = false;
        p = newline + 1;
    }
}

void ReviewFile::LineReader::take()
{
    ++m_lineNumber;
    if (m_lineNumber == 1 && m_line.compare(0, kBom.size(), kBom) == 0)
        m_line.erase(0, kBom.size());
    if (!m_overlong && !m_line.empty() && m_line.back() == '\r')
        m_line.pop_back();
    if (m_lineNumber == 1) {
        if (m_overlong || m_line != kHeader)
            throw notReviewFile();
        return;
    }
    if (m_line.empty() && !m_overlong)
        return;
    if (m_overlong || m_line.size() > kMaxLine) {
        problem("longer than " + std::to_string(kMaxLine) + " bytes");
        return;
    }
    takeRow();
}

void ReviewFile::LineReader::takeRow()
{
    if (!splitCsvLine(m_line, m_fields) || m_fields.size() != 6) {
        problem("expected 6 fields (" + std::string(kHeader) + ")");
        return;
    }
    const auto action = parseReviewAction(m_fields[1]);
    if (!action) {
        problem("unknown action '" + m_fields[1].substr(0, 16) + "' (keep, age, gender, exclude or undo)");
        return;
    }
    ReviewDecision d{std::move(m_fields[0]), *action,
                     std::move(m_fields[2]), std::move(m_fields[3]),
                     std::move(m_fields[4]), std::move(m_fields[5])};
    if (const std::string p = ReviewFile::check(d); !p.empty()) {
        problem(p);
        return;
    }
    if (m_wanted && !m_wanted(d.path)) {
        ++m_review.m_rows;
        ++m_review.m_otherRows;
        return;
    }
    m_review.add(std::move(d));
}

void ReviewFile::LineReader::finish()
{
    if (!m_line.empty() || m_overlong) { // a write cut short: never trust a prefix ("3" of "35")
        ++m_lineNumber;
        if (m_lineNumber == 1) {
            // Only the header itself can have been cut short while the file was being made.
            if (m_line.compare(0, kBom.size(), kBom) == 0)
                m_line.erase(0, kBom.size());
            if (m_overlong || std::string(kHeader).compare(0, m_line.size(), m_line) != 0)
                throw notReviewFile();
        }
        m_review.m_truncatedTail = true;
        problem("no line break at the end (a write cut short); ignored");
    }
}

ReviewFile ReviewFile::read(const ReadFn& readMore, const std::string& what, const Wanted& wanted)
{
    ReviewFile review;
    LineReader lines(review, what, wanted);
    std::vector<char> buffer(64 * 1024);
    for (;;) {
        const std::size_t n = readMore(buffer.data(), buffer.size());
        if (n == 0)
            break;
        lines.feed(buffer.data(), buffer.data() + std::min(n, buffer.size()));
    }
    lines.finish();
    return review;
}

ReviewFile ReviewFile::parse(const std::string& text, const std::string& what, const Wanted& wanted)
{
    std::size_t at = 0;
    return read(
        [&](char* buffer, std::size_t size) {
            const std::size_t n = std::min(size, text.size() - at);
            text.copy(buffer, n, at);
            at += n;
            return n;
        },
        what, wanted);
}

ReviewFile ReviewFile::load(const fs::path& file, const Wanted& wanted)
{
    const std::string what = displayPath(file);
    ReviewFile review;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            throw Error(what + ": cannot read the review file: " + errnoText(errno));
        review.m_file = file;
        return review;
    }
    // Checked before opening: a FIFO (or /dev/stdin, a pipe) could block or never end, and a
    // review file is read again and appended to, which a stream cannot be.
    if (!S_ISREG(st.st_mode))
        throw Error(what + ": is " + fileTypeName(st.st_mode)
                    + "; a review file must be a regular file (save the decisions to a file and name that)");
    if (static_cast<unsigned long long>(st.st_size) > kMaxBytes)
        throw Error(what + ": " + std::to_string(st.st_size) + " bytes is too large for a review file");
    Fd fd{openRegularFile(file)}; // refuses what was put in its place since, without blocking
    std::size_t total = 0;
    review = read(
        [&](char* buffer, std::size_t size) -> std::size_t {
            for (;;) {
                const ssize_t n = ::read(fd.fd, buffer, size);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0)
                    throw Error(what + ": read failed: " + errnoText(errno));
                total += static_cast<std::size_t>(n);
                if (total > kMaxBytes)
                    throw Error(what + ": grew beyond " + std::to_string(kMaxBytes) + " bytes while being read");
                return static_cast<std::size_t>(n);
            }
        },
        what, wanted);
    review.m_file = file;
    return review;
}

std::vector<ReviewDecision> ReviewFile::latest() const
{
    std::vector<const Latest*> rows;
    rows.reserve(m_latest.size());
    for (const Latest& entry : m_latest)
        rows.push_back(&entry);
    std::sort(rows.begin(), rows.end(), [](const Latest* a, const Latest* b) { return a->row < b->row; });
    std::vector<ReviewDecision> out;
    out.reserve(rows.size());
    for (const Latest* r : rows)
        if (r->decision.action != ReviewAction::Undo) // undone: no decision any more
            out.push_back(r->decision);
    return out;
}

const ReviewDecision* ReviewFile::latestFor(const std::string& path) const
{
    const auto it = m_byPath.find(path);
    if (it == m_byPath.end() || m_latest[it->second].decision.action == ReviewAction::Undo)
        return nullptr;
    return &m_latest[it->second].decision;
}

void ReviewFile::append(ReviewDecision d)
{
    const std::string what = displayPath(m_file);
    if (m_file.empty())
        throw Error("review: no file to append to (load one first)");
    if (d.time.empty())
        d.time = utcTimestamp();
    if (const std::string p = check(d); !p.empty())
        throw Error(what + ": cannot append the decision for " + d.path.substr(0, 200) + ": " + p);
    if (m_file.has_parent_path())
        fs::create_directories(m_file.parent_path());
    // O_NOFOLLOW: a link planted at the review file's name is never followed into another file.
    Fd fd{::open(m_file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)};
    if (fd.fd < 0)
        throw Error(what + ": cannot open for appending: " + errnoText(errno));
    // Two writers (the desktop application and a script) never interleave their lines.
    if (::flock(fd.fd, LOCK_EX) != 0)
        throw Error(what + ": cannot lock: " + errnoText(errno));
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode))
        throw Error(what + ": not a regular file");
    std::string bytes;
    if (st.st_size == 0) {
        bytes = std::string(kHeader) + "\n";
    } else {
        char last = '\n';
        if (::pread(fd.fd, &last, 1, st.st_size - 1) != 1)
            throw Error(what + ": cannot read its end: " + errnoText(errno));
        if (last != '\n')
            bytes = "\n"; // a line cut short by a crash stays a line of its own (and is skipped when read)
    }
    bytes += csvField(d.path) + "," + reviewActionName(d.action) + "," + csvField(d.oldLabel) + ","
             + csvField(d.newLabel) + "," + csvField(d.reason) + "," + csvField(d.time) + "\n";
    writeAll(fd.fd, bytes, what);
    if (::fsync(fd.fd) != 0)
        throw Error(what + ": cannot sync to disk: " + errnoText(errno));
    if (st.st_size == 0)
        syncDirectory(m_file.has_parent_path() ? m_file.parent_path() : fs::path("."));
    add(std::move(d));
}

std::vector<std::size_t> applyReview(const ReviewFile& review, std::vector<Record>& records, ReviewCounts& counts)
{
    counts = {};
    std::unordered_map<std::string, std::vector<std::size_t>> byKey, byPath;
    for (std::size_t i = 0; i < records.size(); ++i) {
        byKey[recordKey(records[i])].push_back(i);
        byPath[records[i].path].push_back(i);
    }
    // The records a decision names (see the header for the two fallbacks).
    const auto named = [&](const ReviewDecision& d) -> std::vector<std::size_t> {
        if (const auto it = byKey.find(d.path); it != byKey.end())
            return it->second;
        constexpr const char* kFirst = "#face1";
        const std::size_t cut = d.path.size() - std::strlen(kFirst);
        if (d.path.size() > std::strlen(kFirst) && d.path.compare(cut, std::string::npos, kFirst) == 0) {
            const auto it = byPath.find(d.path.substr(0, cut));
            std::vector<std::size_t> alone;
            if (it != byPath.end())
                for (std::size_t i : it->second)
                    if (records[i].faceIndex < 0)
                        alone.push_back(i);
            return alone;
        }
        const auto it = byPath.find(d.path);
        if (it == byPath.end())
            return {};
        if (d.action == ReviewAction::Exclude)
            return it->second;
        std::vector<std::size_t> best;
        for (std::size_t i : it->second)
            if (records[i].faceIndex <= 0)
                best.push_back(i);
        return best;
    };
    // Decisions the review was not read for name no record (decisionsAbout keeps every one that may).
    counts.decisions = counts.unmatched = review.otherRows();
    std::vector<std::size_t> excluded;
    for (const ReviewDecision& d : review.latest()) {
        ++counts.decisions;
        const std::vector<std::size_t> faces = named(d);
        if (faces.empty()) {
            ++counts.unmatched;
            continue;
        }
        for (std::size_t i : faces) {
            switch (d.action) {
            case ReviewAction::Keep: break;
            case ReviewAction::Age: records[i].age = d.newAge(); break;
            case ReviewAction::Gender: records[i].gender = d.newGender(); break;
            case ReviewAction::Exclude: excluded.push_back(i); break;
            case ReviewAction::Undo: break; // latest() leaves undone paths out
            }
        }
        switch (d.action) {
        case ReviewAction::Keep: ++counts.kept; break;
        case ReviewAction::Age: ++counts.ageCorrected; break;
        case ReviewAction::Gender: ++counts.genderCorrected; break;
        case ReviewAction::Exclude: ++counts.excluded; break;
        case ReviewAction::Undo: break;
        }
    }
    std::sort(excluded.begin(), excluded.end());
    excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
    return excluded;
}

ReviewFile::Wanted decisionsAbout(const std::vector<Record>& records)
{
    auto paths = std::make_shared<std::unordered_set<std::string>>();
    paths->reserve(records.size());
    for (const Record& r : records)
        paths->insert(r.path);
    return [paths](const std::string& path) {
        if (paths->count(path))
            return true;
        // "PATH#faceN": one face of a photo (recordKey)
        const std::size_t hash = path.rfind("#face");
        if (hash == std::string::npos || hash + 5 == path.size()
            || !std::all_of(path.begin() + static_cast<std::ptrdiff_t>(hash + 5), path.end(),
                            [](unsigned char c) { return c >= '0' && c <= '9'; }))
            return false;
        return paths->count(path.substr(0, hash)) > 0;
    };
}

ReviewFile::Wanted decisionsAboutFolders(const std::vector<Record>& records)
{
    auto folders = std::make_shared<std::unordered_set<std::string>>();
    for (const Record& r : records)
        folders->insert(fs::path(r.path).parent_path().string());
    return [about = decisionsAbout(records), folders](const std::string& path) {
        if (about(path))
            return true;
        const std::size_t hash = path.rfind("#face");
        const std::string photo = hash == std::string::npos ? path : path.substr(0, hash);
        return folders->count(fs::path(photo).parent_path().string()) > 0;
    };
}

} // namespace faceatlas
