#include "data/ReviewFile.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <gtest/gtest.h>

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
    EXPECT_TRUE(review.decisions().empty());
    review.append(decision("/faces/a.jpg", ReviewAction::Age, "34"));
    review.append(decision("/faces/b, with comma \"quoted\".jpg", ReviewAction::Gender, "F", "duplicate_conflict"));
    review.append(decision("/faces/c.jpg", ReviewAction::Exclude));
    review.append(decision("/faces/d.jpg", ReviewAction::Keep));
    review.append(decision("/faces/a.jpg", ReviewAction::Age, "43")); // changed their mind
    EXPECT_EQ(readFile(file).substr(0, std::string(ReviewFile::kHeader).size() + 1),
              std::string(ReviewFile::kHeader) + "\n");

    const ReviewFile again = ReviewFile::load(file);
    ASSERT_EQ(again.decisions().size(), 5u);
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
    ASSERT_EQ(review.decisions().size(), 2u);
    EXPECT_EQ(review.decisions()[0].path, "/a.jpg");
    EXPECT_EQ(review.decisions()[1].path, "/j.jpg");
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
    ASSERT_EQ(review.decisions().size(), 1u);
    EXPECT_EQ(review.latestFor("/b.jpg"), nullptr);

    review.append(decision("/c.jpg", ReviewAction::Age, "12"));
    const ReviewFile again = ReviewFile::load(file);
    ASSERT_EQ(again.decisions().size(), 2u) << readFile(file);
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
    EXPECT_EQ(review.decisions().size(), 1u);
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
