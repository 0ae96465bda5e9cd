// wkfs command line: dispatches to one subcommand per file in tools/.
#include <iostream>

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::cerr << "wkfs: no command yet\n";
  return 2;
}
