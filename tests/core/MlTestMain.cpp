// Test entry of the LibTorch-only build (FACEATLAS_IMAGING=OFF), e.g. on a GPU machine.
#include <gtest/gtest.h>

int main(int argc, char** argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
