#pragma once

#include "data/Record.h"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace faceatlas {

/**
 * What a reviewer decided about one face. `Undo` cancels the face's earlier decision: the face has
 * no decision any more (the file only grows, so taking a decision back is a row of its own).
 */
enum class ReviewAction { Keep, Age, Gender, Exclude, Undo };

/** "keep", "age", "gender", "exclude", "undo". */
const char* reviewActionName(ReviewAction action);
/** The action of a name; nullopt for anything else. */
std::optional<ReviewAction> parseReviewAction(const std::string& name);

/** One decision: a row of the review file. */
struct ReviewDecision {
    std::string path; // the face's path exactly as the prepared records hold it
    ReviewAction action = ReviewAction::Keep;
    std::string oldLabel; // the label before: an age or M/F (informational, may be empty)
    std::string newLabel; // age: the corrected age (0-116); gender: M or F; empty for keep, exclude and undo
    std::string reason;   // why the face was looked at (the audit's reasons) or a note
    std::string time;     // UTC, ISO 8601; append() fills it in when empty

    /** The corrected age of an `age` decision (checked when it was read or appended). */
    int newAge() const;
    /** The corrected gender of a `gender` decision. */
    Gender newGender() const;
};

/**
 * The review decisions of a workspace: a plain CSV file (`path,action,old,new,reason,time`) that
 * grows by one durable line per decision (append + fsync), so it survives restarts and crashes.
 * The last decision for a path wins; an `undo` row as the last one leaves the path undecided (an
 * older file without undo rows reads as it always did). Reading distrusts the file: bad rows are skipped and listed,
 * and a last line without its line break (a write cut short) is ignored. A leading UTF-8 byte order
 * mark (a spreadsheet's "CSV UTF-8") and CRLF line ends are accepted.
 *
 * The file is read line by line and only the latest decision of each path is kept, so memory
 * follows the paths decided, not the file's size; a Wanted filter (decisionsAbout) keeps only the
 * paths of one dataset, so memory follows the dataset.
 */
class ReviewFile {
public:
    static constexpr const char* kHeader = "path,action,old,new,reason,time";
    /** Files larger than this are refused before reading (a review of millions of faces is far smaller). */
    static constexpr std::size_t kMaxBytes = std::size_t(1) << 30;
    /** Which decisions to keep, by their path; empty: all. The rows of others are only counted (otherRows). */
    using Wanted = std::function<bool(const std::string& path)>;
    /** Reads up to `size` more bytes into `buffer`; 0 at the end. Throws Error when it cannot. */
    using ReadFn = std::function<std::size_t(char* buffer, std::size_t size)>;

    ReviewFile() = default;
    /**
     * Reads FILE; a missing file is an empty review. Throws Error naming the file when it is not a
     * regular file (a FIFO, /dev/stdin, a folder: refused before reading, so nothing blocks), is too
     * large or is not a review file.
     */
    static ReviewFile load(const std::filesystem::path& file, const Wanted& wanted = {});
    /** Parses review file text; `what` names it in problems and errors. */
    static ReviewFile parse(const std::string& text, const std::string& what, const Wanted& wanted = {});
    /** Reads review file text piece by piece from `read` (what load() and parse() do), line by line. */
    static ReviewFile read(const ReadFn& read, const std::string& what, const Wanted& wanted = {});

    /**
     * Checks the decision (a path without line breaks or NUL, a valid new label), writes it as one
     * line at the end of the file (the header first when the file is new), syncs it to disk and
     * adds it here. Throws Error naming the file when it cannot.
     */
    void append(ReviewDecision decision);

    const std::filesystem::path& file() const { return m_file; }
    /** Decisions read (valid rows, kept or not) or appended. */
    std::size_t rows() const { return m_rows; }
    /** Valid rows read whose path the Wanted filter refused: counted, not kept. */
    std::size_t otherRows() const { return m_otherRows; }
    /** The last decision of each path kept, in file order of those decisions; undone paths are left out. */
    std::vector<ReviewDecision> latest() const;
    /** The last decision for `path`, or null (also when it was undone). */
    const ReviewDecision* latestFor(const std::string& path) const;
    /** Rows that were skipped, as "FILE:LINE: problem". */
    const std::vector<std::string>& problems() const { return m_problems; }
    /** True when the last line had no line break (a crash while appending) and was ignored. */
    bool truncatedTail() const { return m_truncatedTail; }

    /** Checks a decision; returns the problem, or an empty string when it is valid. */
    static std::string check(const ReviewDecision& decision);

private:
    struct Latest {
        ReviewDecision decision;
        std::size_t row = 0; // its place among rows(), for latest()'s order
    };
    class LineReader; // turns the bytes read() is given into lines, decisions and problems (ReviewFile.cpp)
    void add(ReviewDecision decision);
    std::filesystem::path m_file;
    std::vector<Latest> m_latest;                          // one per path
    std::unordered_map<std::string, std::size_t> m_byPath; // path -> m_latest
    std::size_t m_rows = 0;
    std::size_t m_otherRows = 0;
    std::vector<std::string> m_problems;
    bool m_truncatedTail = false;
};

/**
 * The decisions that may name one of `records` (a ReviewFile::Wanted for load()): their paths, bare
 * or as "PATH#faceN" (see applyReview). It holds a copy of the paths: memory follows the records.
 */
ReviewFile::Wanted decisionsAbout(const std::vector<Record>& records);

/**
 * The decisions about the faces in the folders of `records` (a ReviewFile::Wanted): those of
 * decisionsAbout, and those of the faces a preparation left out beside them. An exclusion Prepare
 * applied takes the face out of the records, yet its decision stays one of this dataset's, to be
 * listed and undone. A face's folder is its path's parent (of PATH for "PATH#faceN").
 */
ReviewFile::Wanted decisionsAboutFolders(const std::vector<Record>& records);

/**
 * How a review file changed records (the prepare report's counts). Decisions about paths the review
 * was not read for (ReviewFile::otherRows, a Wanted filter) count once per row.
 */
struct ReviewCounts {
    std::size_t decisions = 0;    // latest decisions, one per path
    std::size_t kept = 0;         // `keep`
    std::size_t ageCorrected = 0; // `age` decisions applied to a record
    std::size_t genderCorrected = 0;
    std::size_t excluded = 0;  // `exclude` decisions matching a record (the cleaning step counts what it removed)
    std::size_t unmatched = 0; // decisions for paths no record has
};

/**
 * Applies the latest decisions to records: corrected ages and genders replace the labels, and the
 * indices of the records to exclude are returned (sorted). Counts go to `counts`.
 *
 * Decisions name faces as recordKey() does: a path, or "PATH#faceN" for one of several faces of a
 * photo (a preparation that took every face). Where the records name the face otherwise, "PATH#face1"
 * is the photo's best face taken alone, and a bare PATH of a photo whose faces were all taken is
 * the whole photo for an exclusion and its best face for a correction.
 */
std::vector<std::size_t> applyReview(const ReviewFile& review, std::vector<Record>& records, ReviewCounts& counts);

} // namespace faceatlas
