#include "data/Record.h"

#include <gtest/gtest.h>

using namespace faceatlas;

TEST(RecordTest, DatenumMatchesMatlab)
{
    EXPECT_EQ(matlabDatenum(0, 1, 1), 1);
    EXPECT_EQ(matlabDatenum(1, 1, 1), 367); // year 0 is a leap year in MATLAB
    EXPECT_EQ(matlabDatenum(1981, 5, 5), 723671);
    EXPECT_EQ(isoDateFromDatenum(723671), "1981-05-05");
    EXPECT_EQ(isoDateFromDatenum(0), "-001-12-31");
}

TEST(RecordTest, AgeUsesFirstOfJulyOfThePhotoYear)
{
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1981, 5, 5)), 2009), 28);
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1948, 7, 3)), 2008), 59); // birthday after 1 July
    // datevec counts from year 0, so someone born on 1 July is a year younger than the calendar says:
    // the official recipe, which the published ages use.
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1948, 7, 1)), 2008), 59);
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1948, 6, 30)), 2008), 60);
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(2010, 1, 1)), 2005), -5); // bogus dob stays visible
}
