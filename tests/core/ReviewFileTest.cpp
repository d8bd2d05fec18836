#include "data/ReviewFile.h"
#include "data/PrepareJob.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

ReviewDecision decision(const std::string& path, ReviewAction action, const std::string& newLabel = "",
                        const std::string& reason = "age_outlier")
{
    return {path, action, "", newLabel, reason, ""};
}

} // namespace

TEST(ReviewFileTest, AppendedDecisionsRoundTripAndTheLastPerPathWins)
{
    TempDir dir;
    const auto file = dir / "workspace" / "review.csv";
    ReviewFile review = ReviewFile::load(file); // no file yet: an empty review
    EXPECT_TRUE(review.latest().empty());
    EXPECT_EQ(review.rows(), 0u);
    review.append(decision("/faces/a.jpg", ReviewAction::Age, "34"));
    review.append(decision("/faces/b, with comma \"quoted\".jpg", ReviewAction::Gender, "F", "duplicate_conflict"));
    review.append(decision("/faces/c.jpg", ReviewAction::Exclude));
    review.append(decision("/faces/d.jpg", ReviewAction::Keep));
    review.append(decision("/faces/a.jpg", ReviewAction::Age, "43")); // changed their mind
    EXPECT_EQ(readFile(file).substr(0, std::string(ReviewFile::kHeader).size() + 1),
              std::string(ReviewFile::kHeader) + "\n");

    const ReviewFile again = ReviewFile::load(file);
    ASSERT_EQ(again.rows(), 5u);
    EXPECT_TRUE(again.problems().empty());
    EXPECT_FALSE(again.truncatedTail());
    ASSERT_EQ(again.latest().size(), 4u);
    ASSERT_NE(again.latestFor("/faces/a.jpg"), nullptr);
    EXPECT_EQ(again.latestFor("/faces/a.jpg")->newAge(), 43);
    EXPECT_EQ(again.latestFor("/faces/b, with comma \"quoted\".jpg")->newGender(), Gender::Female);
    EXPECT_EQ(again.latestFor("/faces/c.jpg")->action, ReviewAction::Exclude);
    EXPECT_FALSE(again.latestFor("/faces/c.jpg")->time.empty()); // append stamps the time
    EXPECT_EQ(again.latestFor("/faces/none.jpg"), nullptr);
}

TEST(ReviewFileTest, BadRowsAreSkippedAndNamedGoodOnesKept)
{
    const std::string text = std::string(ReviewFile::kHeader) + "\n" + "/a.jpg,age,30,31,r,t\n" // good
                             + "/b.jpg,age,30,abc,r,t\n"                                        // not an age
                             + "/c.jpg,age,30,117,r,t\n"                                        // beyond 116
                             + "/d.jpg,gender,M,X,r,t\n"                                        // not M or F
                             + "/e.jpg,delete,,,r,t\n"                                          // unknown action
                             + "/f.jpg,age,30\n"                                                // too few fields
                             + ",keep,,,r,t\n"                                                  // empty path
                             + "/g.jpg,exclude,,5,r,t\n"                                        // exclude with a label
                             + "\"/h.jpg,keep,,,r,t\n"                                          // open quote
                             + std::string("/i\0.jpg,keep,,,r,t\n", 19)                         // NUL byte
                             + "/j.jpg,gender,F,M,r,t\n";                                       // good
    const ReviewFile review = ReviewFile::parse(text, "review.csv");
    ASSERT_EQ(review.rows(), 2u);
    ASSERT_EQ(review.latest().size(), 2u);
    EXPECT_EQ(review.latest()[0].path, "/a.jpg");
    EXPECT_EQ(review.latest()[1].path, "/j.jpg");
    ASSERT_EQ(review.problems().size(), 9u);
    EXPECT_NE(review.problems()[0].find("review.csv:3:"), std::string::npos) << review.problems()[0];
    EXPECT_NE(review.problems()[0].find("abc"), std::string::npos);

    EXPECT_THROW(ReviewFile::parse("path,age\n/a.jpg,3\n", "x.csv"), Error); // another file's header
    EXPECT_THROW(ReviewFile::parse("\x89PNG\r\n\x1a\n", "x.csv"), Error);
}

TEST(ReviewFileTest, ALineCutShortByACrashIsIgnoredAndTheNextAppendStaysWhole)
{
    TempDir dir;
    const auto file = dir / "review.csv";
    // The crash hit while "35" was being written: "3" alone must not become the age.
    test::writeBytes(file, std::string(ReviewFile::kHeader) + "\n/a.jpg,keep,,,r,t\n/b.jpg,age,50,3");
    ReviewFile review = ReviewFile::load(file);
    EXPECT_TRUE(review.truncatedTail());
    ASSERT_EQ(review.rows(), 1u);
    EXPECT_EQ(review.latestFor("/b.jpg"), nullptr);

    review.append(decision("/c.jpg", ReviewAction::Age, "12"));
    const ReviewFile again = ReviewFile::load(file);
    ASSERT_EQ(again.rows(), 2u) << readFile(file);
    EXPECT_EQ(again.latestFor("/c.jpg")->newAge(), 12);
    EXPECT_EQ(again.latestFor("/b.jpg"), nullptr);
    EXPECT_EQ(again.problems().size(), 1u); // the cut line, now a line of its own, is skipped
}

TEST(ReviewFileTest, AppendRefusesWhatCouldNotBeReadBackAndLeavesTheFileAlone)
{
    TempDir dir;
    const auto file = dir / "review.csv";
    ReviewFile review = ReviewFile::load(file);
    review.append(decision("/a.jpg", ReviewAction::Keep));
    const std::string before = readFile(file);
    EXPECT_THROW(review.append(decision("/b\n.jpg", ReviewAction::Keep)), Error);
    EXPECT_THROW(review.append(decision("/b.jpg", ReviewAction::Age, "200")), Error);
    EXPECT_THROW(review.append(decision("/b.jpg", ReviewAction::Gender, "male")), Error);
    EXPECT_THROW(review.append(decision("", ReviewAction::Exclude)), Error);
    EXPECT_EQ(readFile(file), before);
    EXPECT_EQ(review.rows(), 1u);
    EXPECT_THROW(ReviewFile().append(decision("/a.jpg", ReviewAction::Keep)), Error); // no file
}

TEST(ReviewFileTest, ApplyReviewCorrectsLabelsAndListsExclusions)
{
    std::vector<Record> records(4);
    for (int i = 0; i < 4; ++i) {
        records[i].path = "/f" + std::to_string(i) + ".jpg";
        records[i].age = 20 + i;
        records[i].gender = Gender::Male;
    }
    ReviewFile review = ReviewFile::parse(std::string(ReviewFile::kHeader) + "\n/f0.jpg,age,20,60,r,t\n"
                                              + "/f1.jpg,gender,M,F,r,t\n/f2.jpg,exclude,,,r,t\n"
                                              + "/f3.jpg,exclude,,,r,t\n/f3.jpg,keep,,,r,t\n/gone.jpg,exclude,,,r,t\n",
                                          "r.csv");
    ReviewCounts counts;
    const auto excluded = applyReview(review, records, counts);
    EXPECT_EQ(excluded, (std::vector<std::size_t>{2}));
    EXPECT_EQ(records[0].age, 60);
    EXPECT_EQ(records[1].gender, Gender::Female);
    EXPECT_EQ(records[3].age, 23);
    EXPECT_EQ(counts.decisions, 5u);
    EXPECT_EQ(counts.ageCorrected, 1u);
    EXPECT_EQ(counts.genderCorrected, 1u);
    EXPECT_EQ(counts.excluded, 1u); // /gone.jpg matches no record
    EXPECT_EQ(counts.kept, 1u);
    EXPECT_EQ(counts.unmatched, 1u);
}

TEST(ReviewFileTest, AnUndoRowTakesTheDecisionBackWithoutRewritingTheFile)
{
    TempDir dir;
    const auto file = dir / "review.csv";
    ReviewFile review = ReviewFile::load(file);
    review.append(decision("/f0.jpg", ReviewAction::Exclude, "", "excluded on the map"));
    review.append(decision("/f1.jpg", ReviewAction::Age, "60"));
    review.append(decision("/f2.jpg", ReviewAction::Exclude));
    const std::string before = readFile(file);
    review.append(decision("/f0.jpg", ReviewAction::Undo, "", "undone on the Review page"));
    review.append(decision("/f1.jpg", ReviewAction::Undo));
    // Appended, never rewritten: the old rows stay as they were and two rows follow.
    const std::string after = readFile(file);
    ASSERT_EQ(after.compare(0, before.size(), before), 0);
    EXPECT_EQ(std::count(after.begin() + static_cast<std::ptrdiff_t>(before.size()), after.end(), '\n'), 2);
    EXPECT_NE(after.find("/f0.jpg,undo,,,undone on the Review page,"), std::string::npos);

    const ReviewFile again = ReviewFile::load(file);
    EXPECT_TRUE(again.problems().empty());
    EXPECT_EQ(again.rows(), 5u);
    EXPECT_EQ(again.latestFor("/f0.jpg"), nullptr); // no decision any more
    EXPECT_EQ(again.latestFor("/f1.jpg"), nullptr);
    ASSERT_EQ(again.latest().size(), 1u);
    EXPECT_EQ(again.latest()[0].path, "/f2.jpg");

    std::vector<Record> records(3);
    for (int i = 0; i < 3; ++i) {
        records[i].path = "/f" + std::to_string(i) + ".jpg";
        records[i].age = 20 + i;
    }
    ReviewCounts counts;
    EXPECT_EQ(applyReview(again, records, counts), (std::vector<std::size_t>{2})); // f0 is back
    EXPECT_EQ(records[1].age, 21);                                                 // its old label again
    EXPECT_EQ(counts.decisions, 1u);
    EXPECT_EQ(counts.ageCorrected, 0u);

    // A decision after the undo counts again; an undo with a new label is refused, as for keep.
    ReviewFile text = ReviewFile::parse(std::string(ReviewFile::kHeader) + "\n/f0.jpg,exclude,,,r,t\n"
                                            + "/f0.jpg,undo,,,r,t\n/f0.jpg,keep,,,r,t\n/f1.jpg,undo,,5,r,t\n",
                                        "r.csv");
    ASSERT_NE(text.latestFor("/f0.jpg"), nullptr);
    EXPECT_EQ(text.latestFor("/f0.jpg")->action, ReviewAction::Keep);
    ASSERT_EQ(text.problems().size(), 1u);
    EXPECT_NE(text.problems()[0].find("r.csv:5"), std::string::npos) << text.problems()[0];
    EXPECT_EQ(parseReviewAction("undo"), ReviewAction::Undo);
}

TEST(ReviewFileTest, TheDecisionsOfADatasetsFoldersKeepTheFacesAPreparationLeftOut)
{
    // /data/a/f2.jpg was excluded and prepared away: its decision is still this dataset's.
    std::vector<Record> records(2);
    records[0].path = "/data/a/f0.jpg";
    records[1].path = "/data/b/f1.jpg";
    const ReviewFile::Wanted ours = decisionsAboutFolders(records);
    EXPECT_TRUE(ours("/data/a/f0.jpg"));
    EXPECT_TRUE(ours("/data/b/f1.jpg#face2"));
    EXPECT_TRUE(ours("/data/a/f2.jpg"));
    EXPECT_TRUE(ours("/data/b/group.jpg#face3"));
    EXPECT_FALSE(ours("/data/c/f3.jpg"));
    EXPECT_FALSE(ours("/data/f4.jpg"));
    EXPECT_FALSE(decisionsAbout(records)("/data/a/f2.jpg")); // what Prepare reads: the records' own
}

TEST(ReviewFileTest, DecisionsNameOneFaceOfAGroupPhoto)
{
    // A photo whose three faces were all taken, and a one-face picture.
    std::vector<Record> records(4);
    for (int i = 0; i < 3; ++i) {
        records[i].path = "/group.jpg";
        records[i].faceIndex = static_cast<std::int16_t>(i);
    }
    records[0].age = 30;
    records[3].path = "/one.jpg";
    records[3].age = 40;
    ReviewFile review = ReviewFile::parse(std::string(ReviewFile::kHeader) + "\n/group.jpg#face3,age,,8,r,t\n"
                                              + "/group.jpg#face2,exclude,,,r,t\n/one.jpg#face1,age,40,41,r,t\n",
                                          "r.csv");
    ReviewCounts counts;
    EXPECT_EQ(applyReview(review, records, counts), (std::vector<std::size_t>{1})) << "only the second face";
    EXPECT_EQ(records[2].age, 8) << "the third face, a bystander, gets its own label";
    EXPECT_EQ(records[0].age, 30) << "the photo's labelled face keeps its own";
    EXPECT_EQ(records[3].age, 41) << "#face1 of a picture taken whole is that picture's face";
    EXPECT_EQ(counts.unmatched, 0u);
    // An older decision naming the photo: excluding it excludes every face, a correction goes to the best.
    review = ReviewFile::parse(std::string(ReviewFile::kHeader) + "\n/group.jpg,exclude,,,r,t\n", "r.csv");
    EXPECT_EQ(applyReview(review, records, counts), (std::vector<std::size_t>{0, 1, 2}));
    review = ReviewFile::parse(std::string(ReviewFile::kHeader) + "\n/group.jpg,age,30,31,r,t\n", "r.csv");
    applyReview(review, records, counts);
    EXPECT_EQ(records[0].age, 31);
    EXPECT_EQ(records[2].age, 8);
}

namespace {

/** Heap bytes in use: malloc's arenas and its separately mapped large blocks. */
std::size_t heapInUse()
{
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/**
 * A review file of `rows` lines, `line(i)` each after the header, made as it is read (a ReadFn, by
 * std::ref): never held whole, so the heap's peak while reading (sampled at each read) is the reader's.
 */
struct GeneratedReview {
    std::function<std::string(std::size_t)> line;
    std::size_t rows = 0;
    std::size_t next = 0;
    std::string pending = std::string(ReviewFile::kHeader) + "\n";
    std::size_t at = 0;
    std::size_t bytes = 0;
    std::size_t peak = 0;

    std::size_t operator()(char* buffer, std::size_t size)
    {
        peak = std::max(peak, heapInUse());
        std::size_t n = 0;
        while (n < size) {
            if (at == pending.size()) {
                if (next == rows)
                    break;
                pending = line(next++);
                at = 0;
            }
            const std::size_t k = std::min(size - n, pending.size() - at);
            std::memcpy(buffer + n, pending.data() + at, k);
            n += k;
            at += k;
        }
        bytes += n;
        return n;
    }
};

} // namespace

// Finding F09 (round 3): the whole file was read into memory and every row kept, about 23 bytes per
// byte of file (100 MB: 2.5 GB resident). Now it is read line by line and only the latest decision
// of each path is kept.
TEST(ReviewFileTest, ReadingStreamsAndKeepsOnlyTheLatestDecisionOfEachPath)
{
    GeneratedReview file;
    file.rows = 400'000;
    file.line = [](std::size_t i) {
        return "/faces/" + std::to_string(i % 3) + ".jpg," + (i % 2 ? "age,30," + std::to_string(i % 100) : "keep,,")
               + ",age_outlier,2026-01-02T03:04:05Z\n";
    };
    const std::size_t before = heapInUse();
    const ReviewFile review = ReviewFile::read(std::ref(file), "big.csv");
    EXPECT_GT(file.bytes, 16u << 20);
    EXPECT_EQ(review.rows(), file.rows);
    EXPECT_TRUE(review.problems().empty());
    ASSERT_EQ(review.latest().size(), 3u);
    // The last rows: 399,997 (path 1, age 97), 399,998 (path 2, keep), 399,999 (path 0, age 99).
    EXPECT_EQ(review.latest()[0].path, "/faces/1.jpg");
    EXPECT_EQ(review.latest()[0].newAge(), 97);
    EXPECT_EQ(review.latest()[1].action, ReviewAction::Keep);
    EXPECT_EQ(review.latestFor("/faces/0.jpg")->newAge(), 99);
    EXPECT_LT(file.peak - std::min(file.peak, before), std::size_t(4) << 20) << "bytes of heap while reading";
}

TEST(ReviewFileTest, AReadForADatasetKeepsOnlyItsFacesDecisions)
{
    std::vector<Record> records(3);
    records[0].path = "/data/a.jpg";
    records[1].path = "/data/group.jpg";
    records[1].faceIndex = 1;
    records[2].path = "/data/b.jpg";
    records[2].age = 20;
    const ReviewFile::Wanted wanted = decisionsAbout(records);
    EXPECT_TRUE(wanted("/data/a.jpg"));
    EXPECT_TRUE(wanted("/data/group.jpg#face2"));
    EXPECT_TRUE(wanted("/data/a.jpg#face1"));
    EXPECT_FALSE(wanted("/data/a.jpg#face"));
    EXPECT_FALSE(wanted("/data/a.jpg#facex"));
    EXPECT_FALSE(wanted("/data/c.jpg"));
    EXPECT_FALSE(wanted("/data"));

    GeneratedReview file; // a million decisions about other faces, and three about these
    file.rows = 1'000'003;
    file.line = [](std::size_t i) {
        if (i == 10)
            return std::string("/data/b.jpg,age,20,33,r,t\n");
        if (i == 500'000)
            return std::string("/data/group.jpg#face2,exclude,,,r,t\n");
        if (i == 1'000'002)
            return std::string("/data/a.jpg,keep,,,r,t\n");
        return "/elsewhere/" + std::to_string(i) + ".jpg,exclude,,,,\n";
    };
    const std::size_t before = heapInUse();
    const ReviewFile review = ReviewFile::read(std::ref(file), "big.csv", wanted);
    EXPECT_LT(file.peak - std::min(file.peak, before), std::size_t(4) << 20) << "bytes of heap while reading";
    EXPECT_EQ(review.rows(), file.rows);
    EXPECT_EQ(review.otherRows(), 1'000'000u);
    ASSERT_EQ(review.latest().size(), 3u);
    EXPECT_EQ(review.latest()[1].path, "/data/group.jpg#face2");
    ReviewCounts counts;
    EXPECT_EQ(applyReview(review, records, counts), (std::vector<std::size_t>{1}));
    EXPECT_EQ(records[2].age, 33);
    EXPECT_EQ(counts.decisions, 1'000'003u);
    EXPECT_EQ(counts.unmatched, 1'000'000u);
    EXPECT_EQ(counts.kept, 1u);
}

TEST(ReviewFileTest, LinesReadTheSameWhateverPiecesTheyArriveIn)
{
    const std::string text = std::string("\xEF\xBB\xBF") + ReviewFile::kHeader + "\r\n/a.jpg,age,30,31,r,t\r\n"
                             + "/b.jpg,age,30,abc,r,t\n\n" + "/c.jpg,keep,,,\"" + std::string(70'000, 'x') + "\",t\n"
                             + "/a.jpg,gender,M,F,r,t\n/d.jpg,exclude,,,r,t\n/e.jpg,age,50,3";
    const ReviewFile whole = ReviewFile::parse(text, "r.csv");
    ASSERT_EQ(whole.rows(), 3u);
    ASSERT_EQ(whole.latest().size(), 2u);
    EXPECT_EQ(whole.latest()[0].path, "/a.jpg");
    EXPECT_EQ(whole.latest()[0].newGender(), Gender::Female);
    EXPECT_TRUE(whole.truncatedTail());
    ASSERT_EQ(whole.problems().size(), 3u);
    EXPECT_NE(whole.problems()[0].find("r.csv:3: corrected age 'abc'"), std::string::npos) << whole.problems()[0];
    EXPECT_NE(whole.problems()[1].find("r.csv:5: longer than 65536 bytes"), std::string::npos) << whole.problems()[1];
    EXPECT_NE(whole.problems()[2].find("r.csv:8: no line break"), std::string::npos) << whole.problems()[2];
    for (const std::size_t piece : {1, 2, 3, 5, 64, 4096, 65'535, 65'536, 65'537}) {
        std::size_t at = 0;
        const ReviewFile pieces = ReviewFile::read(
            [&](char* buffer, std::size_t size) {
                const std::size_t n = std::min({size, piece, text.size() - at});
                std::memcpy(buffer, text.data() + at, n);
                at += n;
                return n;
            },
            "r.csv");
        EXPECT_EQ(pieces.rows(), whole.rows()) << piece;
        EXPECT_EQ(pieces.problems(), whole.problems()) << piece;
        EXPECT_EQ(pieces.truncatedTail(), whole.truncatedTail()) << piece;
        ASSERT_EQ(pieces.latest().size(), 2u) << piece;
        EXPECT_EQ(pieces.latest()[1].path, "/d.jpg") << piece;
    }
    // Only the header may be cut short (a file being made); anything else on one line is not a review.
    EXPECT_TRUE(ReviewFile::parse("path,act", "r.csv").truncatedTail());
    EXPECT_TRUE(ReviewFile::parse("", "r.csv").latest().empty());
    EXPECT_THROW(ReviewFile::parse("\x89PNG", "x.png"), Error);
    EXPECT_THROW(ReviewFile::parse(std::string(100'000, 'p'), "x.csv"), Error);
    EXPECT_THROW(ReviewFile::parse(std::string(100'000, 'p') + "\n", "x.csv"), Error);
}

// Finding F16 (round 3): a review file saved by a spreadsheet ("CSV UTF-8", with a byte order mark)
// was refused whole as not a review file.
TEST(ReviewFileTest, ASpreadsheetsByteOrderMarkAndCrlfLineEndsAreAccepted)
{
    TempDir dir;
    const auto file = dir / "review.csv";
    test::writeBytes(file, std::string("\xEF\xBB\xBF") + ReviewFile::kHeader + "\r\n/a.jpg,age,30,31,r,t\r\n");
    ReviewFile review = ReviewFile::load(file);
    ASSERT_NE(review.latestFor("/a.jpg"), nullptr);
    EXPECT_EQ(review.latestFor("/a.jpg")->newAge(), 31);
    EXPECT_TRUE(review.problems().empty());
    review.append(decision("/b.jpg", ReviewAction::Exclude));
    const ReviewFile again = ReviewFile::load(file);
    EXPECT_EQ(again.rows(), 2u);
    EXPECT_EQ(again.latestFor("/b.jpg")->action, ReviewAction::Exclude);
    // A byte order mark is skipped at the start of the file only.
    EXPECT_THROW(ReviewFile::parse("\xEF\xBB\xBF\xEF\xBB\xBF" + std::string(ReviewFile::kHeader) + "\n", "r.csv"),
                 Error);
}

// Finding F16 (round 3): `prepare --review` naming a FIFO or /dev/stdin said "no such review file".
TEST(ReviewFileTest, AFifoOrAFolderIsRefusedAsNotARegularFile)
{
    TempDir dir;
    const auto fifo = dir / "review.csv";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    try {
        ReviewFile::load(fifo); // never opened: a FIFO with no writer would block
        ADD_FAILURE() << "a FIFO was read";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(fifo.string() + ": is a FIFO"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("must be a regular file"), std::string::npos) << e.what();
    }
    EXPECT_THROW(ReviewFile::load(dir.path()), Error);
    struct stat in {};
    if (::fstat(STDIN_FILENO, &in) == 0 && !S_ISREG(in.st_mode))
        EXPECT_THROW(ReviewFile::load("/dev/stdin"), Error);

    PrepareParams params;
    params.source = "demo:20";
    params.outDir = dir / "prepared";
    params.size = 16;
    params.review = fifo;
    try {
        PrepareJob(params).run();
        ADD_FAILURE() << "prepared with a FIFO for a review file";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("must be a regular file"), std::string::npos) << e.what();
    }
}
