#include "data/ReviewFile.h"

#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
            throw Error(what + ": cannot append the decision: " + std::strerror(errno));
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
    }
    return "?";
}

std::optional<ReviewAction> parseReviewAction(const std::string& name)
{
    for (ReviewAction a : {ReviewAction::Keep, ReviewAction::Age, ReviewAction::Gender, ReviewAction::Exclude})
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
        if (!d.newLabel.empty())
            return std::string("a ") + reviewActionName(d.action) + " decision has no new label";
        break;
    }
    return {};
}

void ReviewFile::add(ReviewDecision decision)
{
    m_latest[decision.path] = m_decisions.size();
    m_decisions.push_back(std::move(decision));
}

ReviewFile ReviewFile::parse(const std::string& text, const std::string& what)
{
    ReviewFile review;
    std::size_t pos = 0, lineNumber = 0;
    std::vector<std::string> fields;
    const auto problem = [&](const std::string& p) {
        if (review.m_problems.size() < 1000)
            review.m_problems.push_back(what + ":" + std::to_string(lineNumber) + ": " + p);
    };
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        ++lineNumber;
        if (end == std::string::npos) { // a write cut short: never trust a prefix ("3" of "35")
            review.m_truncatedTail = true;
            problem("no line break at the end (a write cut short); ignored");
            break;
        }
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (lineNumber == 1) {
            if (line != kHeader)
                throw Error(what + ": not a FaceAtlas review file (the first line is not '" + kHeader + "')");
            continue;
        }
        if (line.empty())
            continue;
        if (line.size() > kMaxLine) {
            problem("longer than " + std::to_string(kMaxLine) + " bytes");
            continue;
        }
        if (!splitCsvLine(line, fields) || fields.size() != 6) {
            problem("expected 6 fields (" + std::string(kHeader) + ")");
            continue;
        }
        const auto action = parseReviewAction(fields[1]);
        if (!action) {
            problem("unknown action '" + fields[1].substr(0, 16) + "' (keep, age, gender or exclude)");
            continue;
        }
        ReviewDecision d{fields[0], *action, fields[2], fields[3], fields[4], fields[5]};
        if (const std::string p = check(d); !p.empty()) {
            problem(p);
            continue;
        }
        review.add(std::move(d));
    }
    if (lineNumber == 0 && !text.empty())
        throw Error(what + ": not a FaceAtlas review file");
    return review;
}

ReviewFile ReviewFile::load(const fs::path& file)
{
    std::error_code ec;
    ReviewFile review;
    if (!fs::exists(file, ec)) {
        review.m_file = file;
        return review;
    }
    if (fs::is_regular_file(file, ec) && fs::file_size(file, ec) > kMaxBytes)
        throw Error(displayPath(file) + ": " + std::to_string(fs::file_size(file))
                    + " bytes is too large for a review file");
    review = parse(readFile(file), displayPath(file));
    review.m_file = file;
    return review;
}

std::vector<ReviewDecision> ReviewFile::latest() const
{
    std::vector<std::size_t> rows;
    rows.reserve(m_latest.size());
    for (const auto& entry : m_latest)
        rows.push_back(entry.second);
    std::sort(rows.begin(), rows.end());
    std::vector<ReviewDecision> out;
    out.reserve(rows.size());
    for (std::size_t r : rows)
        out.push_back(m_decisions[r]);
    return out;
}

const ReviewDecision* ReviewFile::latestFor(const std::string& path) const
{
    const auto it = m_latest.find(path);
    return it == m_latest.end() ? nullptr : &m_decisions[it->second];
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
    Fd fd{::open(m_file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644)};
    if (fd.fd < 0)
        throw Error(what + ": cannot open for appending: " + std::strerror(errno));
    // Two writers (the desktop application and a script) never interleave their lines.
    if (::flock(fd.fd, LOCK_EX) != 0)
        throw Error(what + ": cannot lock: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode))
        throw Error(what + ": not a regular file");
    std::string bytes;
    if (st.st_size == 0) {
        bytes = std::string(kHeader) + "\n";
    } else {
        char last = '\n';
        if (::pread(fd.fd, &last, 1, st.st_size - 1) != 1)
            throw Error(what + ": cannot read its end: " + std::strerror(errno));
        if (last != '\n')
            bytes = "\n"; // a line cut short by a crash stays a line of its own (and is skipped when read)
    }
    bytes += csvField(d.path) + "," + reviewActionName(d.action) + "," + csvField(d.oldLabel) + ","
             + csvField(d.newLabel) + "," + csvField(d.reason) + "," + csvField(d.time) + "\n";
    writeAll(fd.fd, bytes, what);
    if (::fsync(fd.fd) != 0)
        throw Error(what + ": cannot sync to disk: " + std::strerror(errno));
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
            }
        }
        switch (d.action) {
        case ReviewAction::Keep: ++counts.kept; break;
        case ReviewAction::Age: ++counts.ageCorrected; break;
        case ReviewAction::Gender: ++counts.genderCorrected; break;
        case ReviewAction::Exclude: ++counts.excluded; break;
        }
    }
    std::sort(excluded.begin(), excluded.end());
    excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
    return excluded;
}

} // namespace faceatlas
