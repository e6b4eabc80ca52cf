// main() for tests that take arguments (plugin and config paths from BUILD):
// TestArg() reads them after gtest has taken its own flags.
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"

int main(int argc, char** argv) {
  mnemo::testing::ParseTestArgs(&argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
